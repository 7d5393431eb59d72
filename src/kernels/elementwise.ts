import { elementwise as source } from './wgsl.gen.js';
import { Kernel, type Dispatch } from './kernel.js';
import type { Gpu } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { expectDisjoint, expectNonEmpty, expectShape, expectDtypesSupported } from './tensor-checks.js';

const kernel = new Kernel<{ S: string }>('elementwise', source);
const WG = 256;
const MAX_X = 65535;

export interface AddBinding {
  a: Tensor;
  /** Same shape and dtype as a. */
  b: Tensor;
  /** Same shape and dtype as a; must not overlap a or b. */
  out: Tensor;
}

export interface AddOptions {
  /** out = alpha·a + beta·b (both default to 1). */
  alpha?: number;
  beta?: number;
}

/** Workgroups for n vec4s: a 1-D grid folded into 2-D once it passes 65535 workgroups. */
export function foldedWorkgroups(n: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(n / WG));
  if (groups <= MAX_X) return [groups, 1, 1];
  return [MAX_X, Math.ceil(groups / MAX_X), 1];
}

/** out = alpha·a + beta·b, element-wise. */
export async function add(gpu: Gpu, t: AddBinding, opts: AddOptions = {}, label = 'add'): Promise<Dispatch> {
  const { a, b, out } = t;
  const alpha = opts.alpha ?? 1;
  const beta = opts.beta ?? 1;
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) throw new Error(`${label}: alpha ${alpha} and beta ${beta} must be finite`);
  expectNonEmpty(label, 'a', a);
  expectShape(label, 'b', b, a.h, a.w, a.c, a.dtype);
  expectShape(label, 'out', out, a.h, a.w, a.c, a.dtype);
  expectDisjoint(label, a, 'a', out, 'out');
  expectDisjoint(label, b, 'b', out, 'out');
  expectDtypesSupported(gpu, label, a, b, out);
  const n = a.h * a.w * a.c4;
  const pipeline = await kernel.pipeline(gpu, { S: a.dtype });
  const bindGroup = kernel.bindGroup(gpu, { a: a.binding, b: b.binding, dst: out.binding }, { n, alpha, beta });
  return {
    label,
    op: `add c${a.c} @${a.h}x${a.w}`,
    pipeline,
    bindGroup,
    workgroups: foldedWorkgroups(n),
    flops: 3 * a.h * a.w * a.c,
    bytes: a.bytes + b.bytes + out.bytes,
  };
}
