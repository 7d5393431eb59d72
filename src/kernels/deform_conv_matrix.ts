// The subgroup-matrix variant of deform_conv (deform_conv_matrix.wgsl): its specializations. deformConv() in
// deform_conv.ts validates the shapes and dispatches it when the variant is 'matrix'.
import type { Gpu } from '../gpu/device.js';
import type { Precision } from '../numeric/precision.js';
import { Kernel } from './kernel.js';
import { deform_common as commonSource, deform_conv_matrix as source } from './wgsl.gen.js';

export type DeformMatrixSpec = {
  S: Precision;
  SO: Precision;
  G: number;
  CIN4: number;
  COUT4: number;
  SM: number;
  SN: number;
  SK: number;
  SG: number;
  NSG: number;
  TY: number;
  MB: number;
  NB: number;
};

const kernel = new Kernel<DeformMatrixSpec>('deform_conv_matrix', `${source}\n${commonSource}`);

/** Why the matrix kernel cannot compute this DCN on the device (undefined: it can). */
export function deformMatrixInapplicable(gpu: Gpu, dtype: Precision): string | undefined {
  if (!gpu.matrix) return 'the device has no f16 subgroup matrices (chromium-experimental-subgroup-matrix needs unsafeApis and an adapter that offers it)';
  if (dtype !== 'f16') return 'the subgroup-matrix DCN computes in f16: it needs f16 storage';
  return undefined;
}

/** Specializations in order of preference: 32 output channels and 4 subgroups, then smaller workgroups. */
export function deformMatrixSpecs(gpu: Gpu, base: Pick<DeformMatrixSpec, 'S' | 'SO' | 'G' | 'CIN4' | 'COUT4'>): DeformMatrixSpec[] {
  const m = gpu.matrix;
  if (!m) return [];
  const nb = Math.max(1, Math.min(Math.ceil((base.COUT4 * 4) / m.N), Math.floor(32 / m.N)));
  const mb = Math.max(1, Math.round(32 / m.M / 2));
  const t = { ...base, SM: m.M, SN: m.N, SK: m.K, SG: m.subgroupSize };
  return [
    { ...t, NSG: 4, TY: 4, MB: mb, NB: nb },
    { ...t, NSG: 2, TY: 2, MB: mb, NB: nb },
    { ...t, NSG: 1, TY: 1, MB: 1, NB: 1 },
  ].filter((s) => (s.NB * s.SN) % 4 === 0);
}

export function deformMatrixSpec(gpu: Gpu, candidates: readonly DeformMatrixSpec[]): DeformMatrixSpec {
  return kernel.fit(gpu, candidates);
}

export const deformMatrixKernel = kernel;

export function deformMatrixWorkgroups(spec: DeformMatrixSpec, h: number, w: number, cout4: number): [number, number, number] {
  return [Math.ceil(w / (spec.MB * spec.SM)), Math.ceil(h / spec.TY), Math.ceil((cout4 * 4) / (spec.NB * spec.SN))];
}
