import { normalize as source } from './wgsl.gen.js';
import { Kernel, type Dispatch } from './kernel.js';
import type { Gpu } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { expectDisjoint, expectNonEmpty, expectShape, pixelWorkgroups, expectDtypesSupported } from './tensor-checks.js';

const kernel = new Kernel<{ S: string }>('normalize', source);

export interface NormalizeBinding {
  /** h×w×c with c <= 4 (RGB). */
  src: Tensor;
  /** Same shape and dtype. */
  out: Tensor;
}

/** out = (src − mean) / std per channel (mean/std have one value per channel). */
export async function normalize(gpu: Gpu, b: NormalizeBinding, mean: readonly number[], std: readonly number[], label = 'normalize'): Promise<Dispatch> {
  const { src, out } = b;
  expectNonEmpty(label, 'src', src);
  if (src.c > 4) throw new Error(`${label}: src has ${src.c} channels, expected at most 4`);
  expectShape(label, 'out', out, src.h, src.w, src.c, src.dtype);
  expectDisjoint(label, src, 'src', out, 'out');
  expectDtypesSupported(gpu, label, src, out);
  if (mean.length !== src.c || std.length !== src.c) {
    throw new Error(`${label}: mean/std have ${mean.length}/${std.length} values, expected ${src.c} (one per channel)`);
  }
  if (std.some((s) => !(s !== 0 && Number.isFinite(s)))) throw new Error(`${label}: std [${std.join(', ')}] must be finite and non-zero`);
  const m = [0, 0, 0, 0];
  const s = [1, 1, 1, 1];
  for (let i = 0; i < mean.length; i++) {
    m[i] = mean[i];
    s[i] = std[i];
  }
  const pipeline = await kernel.pipeline(gpu, { S: src.dtype });
  const bindGroup = kernel.bindGroup(gpu, { src: src.binding, dst: out.binding }, { h: src.h, w: src.w, mean: m, stdDev: s });
  return {
    label,
    op: `normalize c${src.c} @${src.h}x${src.w}`,
    pipeline,
    bindGroup,
    workgroups: pixelWorkgroups(src.h, src.w, 1),
    flops: 2 * src.h * src.w * src.c,
    bytes: src.bytes + out.bytes,
  };
}
