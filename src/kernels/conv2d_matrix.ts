// The subgroup-matrix variant of conv2d (conv2d_matrix.wgsl): its specializations and its dispatch. It reads
// conv2d's packed weights and binds conv2d's slots and uniforms; conv2d() in conv2d.ts validates the shapes
// and calls it when a conv's variant is 'matrix'.
import type { Gpu, MatrixConfig } from '../gpu/device.js';
import type { Conv2dShape, Conv2dSpec } from './conv2d.js';
import { Kernel, preferring } from './kernel.js';
import { conv2d_common as commonSource, conv2d_matrix as matrixSource } from './wgsl.gen.js';

/** The blocking of the matrix kernel: rows, pixel blocks per row and output-channel blocks per workgroup, subgroups. */
export type MatrixTiling = { TY: number; MB: number; NB: number; NSG: number };

export type MatrixSpec = Omit<Conv2dSpec, 'M' | 'MATH16' | 'PX' | 'OVN' | 'TPX' | 'TPY' | 'TPO' | 'CK'> &
  MatrixTiling & { SM: number; SN: number; SK: number; SG: number; CKS: number };

const kernel = new Kernel<MatrixSpec>('conv2d_matrix', `${matrixSource}\n${commonSource}`);

/** Why the matrix kernel cannot compute a conv on this device (undefined: it can). */
export function matrixInapplicable(gpu: Gpu, s: Conv2dShape): string | undefined {
  const m = gpu.matrix;
  if (!m) return 'the device has no f16 subgroup matrices (chromium-experimental-subgroup-matrix needs unsafeApis and an adapter that offers it)';
  if ((s.dtype ?? 'f32') !== 'f16') return 'the subgroup-matrix conv computes in f16: it needs f16 storage';
  if (s.shuffle && !blockings(s, m).length) return `a pixel shuffle needs output tiles of a multiple of 16 channels (matrix N = ${m.N})`;
  return undefined;
}

/** Output channels per workgroup: up to 32, a multiple of the matrix's N (and of 16 with a pixel shuffle). */
function blockings(s: Conv2dShape, m: MatrixConfig): number[] {
  const out: number[] = [];
  for (let nb = 1; nb * m.N <= Math.max(32, m.N); nb++) {
    if ((nb * m.N) % 4 || (s.shuffle && (nb * m.N) % 16)) continue;
    out.push(nb);
  }
  return out;
}

/** Blockings in order of preference (the later ones need less workgroup memory). */
export function matrixTilings(s: Conv2dShape, m: MatrixConfig): MatrixTiling[] {
  const nbs = blockings(s, m);
  if (!nbs.length) return [];
  const cout = s.shuffle ? s.cout : Math.ceil(s.cout / 4) * 4;
  // The fewest channel blocks that cover cout (a 2-channel flow head should not compute 32).
  const nb = nbs.find((n) => n * m.N >= cout) ?? nbs[nbs.length - 1];
  const mb = Math.max(1, Math.round(32 / m.M / 2));
  return [
    { TY: 4, MB: mb, NB: nb, NSG: 4 },
    { TY: 2, MB: mb, NB: nb, NSG: 2 },
    { TY: 1, MB: 1, NB: nbs[0], NSG: 1 },
  ];
}

export function matrixSpecs(
  gpu: Gpu,
  base: Omit<MatrixSpec, keyof MatrixTiling | 'SM' | 'SN' | 'SK' | 'SG' | 'CKS'>,
  s: Conv2dShape,
  tiling?: Partial<MatrixTiling>,
): MatrixSpec[] {
  const m = gpu.matrix;
  if (!m) return [];
  const cks = m.K % 4 === 0 ? m.K : m.K * 4; // whole vec4s of input channels, whole matrices of K
  return preferring(matrixTilings(s, m), tiling).map((t) => ({ ...base, ...t, SM: m.M, SN: m.N, SK: m.K, SG: m.subgroupSize, CKS: cks }));
}

export function matrixSpec(gpu: Gpu, candidates: readonly MatrixSpec[]): MatrixSpec {
  return kernel.fit(gpu, candidates);
}

export const matrixKernel = kernel;

/** Workgroups for a band of `rows` grid rows of width outW. */
export function matrixWorkgroups(spec: MatrixSpec, outW: number, rows: number, cout4: number): [number, number, number] {
  return [Math.ceil(outW / (spec.MB * spec.SM)), Math.ceil(rows / spec.TY), Math.ceil((cout4 * 4) / (spec.NB * spec.SN))];
}
