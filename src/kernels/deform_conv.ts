import { deform_common as commonSource, deform_conv as source } from './wgsl.gen.js';
import { deformMatrixInapplicable, deformMatrixKernel, deformMatrixSpec, deformMatrixSpecs, deformMatrixWorkgroups } from './deform_conv_matrix.js';
import { Kernel, type Dispatch } from './kernel.js';
import type { Gpu } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Precision } from '../numeric/precision.js';

export type DeformConvSpec = {
  S: Precision;
  SO: Precision;
  G: number;
  CIN4: number;
  COUT4: number;
  GC: number;
  PX: number;
  OVN: number;
  TPX: number;
  TPY: number;
  TPO: number;
};

const kernel = new Kernel<DeformConvSpec>('deform_conv', `${source}\n${commonSource}`);

export interface DeformConvShape {
  cin: number;
  cout: number;
  /** deformable groups */
  groups: number;
  dtype?: Precision;
  /** storage type of the offsets|masks tensor */
  omDtype?: Precision;
  /**
   * 'direct', or 'matrix': the GEMM on subgroup matrices (f16 storage, a device that has them). Default: the
   * matrix kernel where the device has subgroup matrices (the user opted in to them) and the storage is f16.
   */
  variant?: 'direct' | 'matrix';
}

/**
 * Specializations for a shape, in order of preference: up to 8 input vec4s gathered per chunk (16 KiB of
 * workgroup memory at 64 channels), then fewer groups per chunk, then fewer rows per workgroup, for devices
 * with less workgroup memory.
 */
export function deformConvSpecs(s: DeformConvShape): DeformConvSpec[] {
  if (s.groups % 4 !== 0 || s.cin % (4 * s.groups) !== 0 || s.cout % 4 !== 0) {
    throw new Error(`deform_conv: needs groups % 4 == 0 and cin % (4·groups) == 0, cout % 4 == 0 (cin ${s.cin}, cout ${s.cout}, groups ${s.groups})`);
  }
  const cin4 = s.cin / 4;
  const cout4 = s.cout / 4;
  const ovn = cout4 >= 2 ? 2 : 1;
  const tpo = Math.min(4, Math.ceil(cout4 / ovn));
  const base = { S: s.dtype ?? 'f32', SO: s.omDtype ?? s.dtype ?? 'f32', G: s.groups, CIN4: cin4, COUT4: cout4, PX: 4, OVN: ovn, TPX: 4, TPO: tpo } as const;
  const out: DeformConvSpec[] = [];
  // GC (groups gathered per chunk) must divide G.
  for (let gc = Math.max(1, Math.min(s.groups, Math.floor(8 / (cin4 / s.groups)))); gc >= 1; gc = Math.floor(gc / 2)) {
    if (s.groups % gc === 0) out.push({ ...base, GC: gc, TPY: 64 / (4 * tpo) });
  }
  out.push({ ...base, GC: 1, TPY: 1, TPO: 1 });
  return out;
}

/** The specialization deform_conv runs for a shape on a device: the preferred one that fits its limits. */
export function deformConvSpec(gpu: Gpu, s: DeformConvShape): DeformConvSpec {
  return kernel.fit(gpu, deformConvSpecs(s));
}

export interface DeformConvBinding {
  weights: GPUBuffer;
  /** vec4 offsets of the weight (packed with packConv2d, one source) and bias in `weights` */
  wOff: number;
  bOff: number;
  x: Tensor;
  /** [18G offsets | 9G masks] */
  om: Tensor;
  out: Tensor;
}

export async function deformConv(gpu: Gpu, s: DeformConvShape, b: DeformConvBinding, label = 'deform_conv'): Promise<Dispatch> {
  const { x, om, out } = b;
  const dtype = s.dtype ?? 'f32';
  const omDtype = s.omDtype ?? dtype;
  if (x.c !== s.cin || x.dtype !== dtype) throw new Error(`${label}: input is ${x.c} ch ${x.dtype}, expected ${s.cin} ${dtype}`);
  if (om.h !== x.h || om.w !== x.w || om.c !== 27 * s.groups || om.dtype !== omDtype) {
    throw new Error(`${label}: offsets|masks is ${om.h}x${om.w}x${om.c} ${om.dtype}, expected ${x.h}x${x.w}x${27 * s.groups} ${omDtype}`);
  }
  if (out.h !== x.h || out.w !== x.w || out.c !== s.cout || out.dtype !== dtype) {
    throw new Error(`${label}: output is ${out.h}x${out.w}x${out.c}, expected ${x.h}x${x.w}x${s.cout}`);
  }
  const slots = { weights: b.weights, x: x.binding, om: om.binding, dst: out.binding };
  const uniforms = { h: x.h, w: x.w, wOff: b.wOff, bOff: b.bOff };
  const variant = s.variant ?? (deformMatrixInapplicable(gpu, dtype) ? 'direct' : 'matrix');
  let pipeline: GPUComputePipeline;
  let bindGroup: GPUBindGroup;
  let workgroups: [number, number, number];
  if (variant === 'matrix') {
    const why = deformMatrixInapplicable(gpu, dtype);
    if (why) throw new Error(`${label}: subgroup-matrix DCN: ${why}`);
    const direct = deformConvSpecs(s)[0];
    const spec = deformMatrixSpec(gpu, deformMatrixSpecs(gpu, { S: direct.S, SO: direct.SO, G: direct.G, CIN4: direct.CIN4, COUT4: direct.COUT4 }));
    pipeline = await deformMatrixKernel.pipeline(gpu, spec);
    bindGroup = deformMatrixKernel.bindGroup(gpu, slots, uniforms);
    workgroups = deformMatrixWorkgroups(spec, x.h, x.w, s.cout / 4);
  } else {
    const spec = deformConvSpec(gpu, s);
    pipeline = await kernel.pipeline(gpu, spec);
    bindGroup = kernel.bindGroup(gpu, slots, uniforms);
    workgroups = [Math.ceil(x.w / (spec.TPX * spec.PX)), Math.ceil(x.h / spec.TPY), Math.ceil(s.cout / 4 / (spec.TPO * spec.OVN))];
  }
  const px = x.h * x.w;
  return {
    label,
    op: `deform_conv G${s.groups} ${s.cin}->${s.cout} @${x.h}x${x.w}${variant === 'matrix' ? ' matrix' : ''}`,
    macs: px * s.cout * s.cin * 9,
    pipeline,
    bindGroup,
    workgroups,
    // GEMM plus the gather (4 corners x 2 flops per sampled channel, per tap)
    flops: 2 * px * s.cout * s.cin * 9 + 8 * px * s.cin * 9,
    bytes: x.bytes + om.bytes + out.bytes + (s.cout * s.cin * 9 + s.cout) * 4,
  };
}
