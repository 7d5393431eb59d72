// Small helpers shared by the sampling and element-wise kernel wrappers (flow_warp, resize, avgpool2,
// normalize, elementwise): shape/dtype validation with messages that name what was expected and what was
// found, and the channel-group split of the per-pixel kernels.
import type { Gpu } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Precision } from '../numeric/precision.js';

/** Channel vec4s handled by one invocation of a per-pixel kernel: all of them up to 8 (32 channels). */
export const MAX_CHANNEL_GROUP = 8;

export function channelGroup(c4: number): number {
  return Math.min(c4, MAX_CHANNEL_GROUP);
}

export function describe(t: Tensor): string {
  return `${t.h}x${t.w}x${t.c} ${t.dtype}`;
}

/** Throws unless `t` is h×w×c of the given dtype (any field left undefined is not checked). */
export function expectShape(label: string, role: string, t: Tensor, h?: number, w?: number, c?: number, dtype?: Precision): void {
  if ((h !== undefined && t.h !== h) || (w !== undefined && t.w !== w) || (c !== undefined && t.c !== c) || (dtype !== undefined && t.dtype !== dtype)) {
    const want = `${h ?? '*'}x${w ?? '*'}x${c ?? '*'} ${dtype ?? '*'}`;
    throw new Error(`${label}: ${role} is ${describe(t)}, expected ${want}`);
  }
}

export function expectNonEmpty(label: string, role: string, t: Tensor): void {
  if (t.h < 1 || t.w < 1 || t.c < 1) throw new Error(`${label}: ${role} is ${describe(t)}, expected a non-empty tensor`);
}

/** Throws if two tensors share bytes of one buffer (a kernel may not read what it writes in a dispatch). */
export function expectDisjoint(label: string, a: Tensor, aRole: string, b: Tensor, bRole: string): void {
  if (a.buffer !== b.buffer) return;
  if (a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes) {
    throw new Error(`${label}: ${bRole} overlaps ${aRole} (same buffer); this kernel cannot run in place`);
  }
}

/** Workgroup counts for a per-pixel kernel with an 8x8 workgroup and `groups` channel groups along z. */
export function pixelWorkgroups(h: number, w: number, groups: number): [number, number, number] {
  return [Math.ceil(w / 8), Math.ceil(h / 8), groups];
}

/** Throws a clear error for f16 tensors on an adapter without the shader-f16 feature. */
export function expectDtypesSupported(gpu: Gpu, label: string, ...ts: (Tensor | undefined)[]): void {
  if (ts.some((t) => t?.dtype === 'f16')) gpu.requireFeature('shader-f16', `${label}: f16 tensors`, 'use f32 tensors');
}
