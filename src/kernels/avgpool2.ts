import { avgpool2 as source } from './wgsl.gen.js';
import { Kernel, type Dispatch } from './kernel.js';
import type { Gpu } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { placeholder } from './placeholder.js';
import { channelGroup, expectDisjoint, expectNonEmpty, expectShape, pixelWorkgroups, expectDtypesSupported } from './tensor-checks.js';

export type AvgPool2Spec = { S: string; C4: number; CG: number; LEVELS: number };

const kernel = new Kernel<AvgPool2Spec>('avgpool2', source);

export interface AvgPool2Binding {
  /** h×w×c. Odd sizes follow Paddle's floor semantics: the last row/column is dropped. */
  src: Tensor;
  /** floor(h/2)×floor(w/2)×c, same dtype. */
  out: Tensor;
  /** Optional second level floor(floor(h/2)/2)×floor(floor(w/2)/2)×c = pool(out), written by the same dispatch. */
  out2?: Tensor;
}

export function avgPool2Spec(c: number, levels: 1 | 2, dtype: string): AvgPool2Spec {
  const c4 = Math.ceil(c / 4);
  return { S: dtype, C4: c4, CG: channelGroup(c4), LEVELS: levels };
}

/** 2×2 average pool, stride 2 (and optionally the next pyramid level too). */
export async function avgPool2(gpu: Gpu, b: AvgPool2Binding, label = 'avgpool2'): Promise<Dispatch> {
  const { src, out, out2 } = b;
  expectNonEmpty(label, 'src', src);
  const h1 = Math.floor(src.h / 2);
  const w1 = Math.floor(src.w / 2);
  if (h1 < 1 || w1 < 1) throw new Error(`${label}: src is ${src.h}x${src.w}, a 2x2 pool needs at least 2x2`);
  expectShape(label, 'out', out, h1, w1, src.c, src.dtype);
  expectDisjoint(label, src, 'src', out, 'out');
  const h2 = Math.floor(h1 / 2);
  const w2 = Math.floor(w1 / 2);
  if (out2) {
    if (h2 < 1 || w2 < 1) throw new Error(`${label}: level 1 is ${h1}x${w1}, a second 2x2 pool needs at least 2x2`);
    expectShape(label, 'out2', out2, h2, w2, src.c, src.dtype);
    expectDisjoint(label, src, 'src', out2, 'out2');
    expectDisjoint(label, out, 'out', out2, 'out2');
  }
  expectDtypesSupported(gpu, label, src, out, out2);
  const levels = out2 ? 2 : 1;
  const spec = avgPool2Spec(src.c, levels, src.dtype);
  const pipeline = await kernel.pipeline(gpu, spec);
  const bindGroup = kernel.bindGroup(
    gpu,
    { src: src.binding, dst: out.binding, dst2: out2 ? out2.binding : placeholder(gpu) },
    { inH: src.h, inW: src.w, h1, w1, h2: out2 ? h2 : 0, w2: out2 ? w2 : 0 },
  );
  const groups = Math.ceil(spec.C4 / spec.CG);
  return {
    label,
    op: `avgpool2${out2 ? ' x2 levels' : ''} c${src.c} @${src.h}x${src.w}`,
    pipeline,
    bindGroup,
    workgroups: out2 ? pixelWorkgroups(Math.ceil(h1 / 2), Math.ceil(w1 / 2), groups) : pixelWorkgroups(h1, w1, groups),
    flops: 4 * src.c * (h1 * w1 + (out2 ? h2 * w2 : 0)),
    bytes: src.bytes + out.bytes + (out2 ? out2.bytes : 0),
  };
}
