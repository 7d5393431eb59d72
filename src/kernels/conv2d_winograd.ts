// The Winograd F(4x4, 3x3) variant of conv2d (conv2d_winograd.wgsl): its weight transform, its
// specializations, and its dispatch. conv2d() in conv2d.ts validates the shapes and calls it when a conv's
// variant is 'winograd'; the packed weights then come from packWinograd instead of packConv2d.
import type { Gpu } from '../gpu/device.js';
import type { Conv2dShape, Conv2dSpec } from './conv2d.js';
import { Kernel, preferring } from './kernel.js';
import { conv2d_common as commonSource, conv2d_winograd as winogradSource } from './wgsl.gen.js';

/** The blocking of the Winograd kernel: blocks per workgroup (x, y), output vec4s, input vec4s per chunk. */
export type WinogradTiling = { TTX: number; TTY: number; TO: number; CK: number };

export type WinogradSpec = Omit<Conv2dSpec, 'K' | 'STRIDE' | 'PAD' | 'M' | 'MATH16' | 'PX' | 'OVN' | 'TPX' | 'TPY' | 'TPO' | 'CK'> & WinogradTiling;

const kernel = new Kernel<WinogradSpec>('conv2d_winograd', `${winogradSource}\n${commonSource}`);

/** Which convs Winograd F(4x4, 3x3) computes here: 3x3, stride 1, pad 1. */
export function winogradApplies(s: Conv2dShape): boolean {
  return s.k === 3 && (s.stride ?? 1) === 1 && (s.pad ?? 1) === 1;
}

// G (6x3) of F(4x4, 3x3) with interpolation points 0, ±1, ±2 and infinity.
const G = [
  [1 / 4, 0, 0],
  [-1 / 6, -1 / 6, -1 / 6],
  [-1 / 6, 1 / 6, -1 / 6],
  [1 / 24, 1 / 12, 1 / 6],
  [1 / 24, -1 / 12, 1 / 6],
  [0, 0, 1],
];

/**
 * The transformed weights U = G g Gᵀ of an OIHW 3x3 weight (in float64, rounded once to f32), laid out
 * [cout4][36][cin padded per source] vec4 over 4 output channels, and the bias [cout4] vec4 (conv2d's).
 */
export function packWinograd(weight: Float32Array, bias: Float32Array | undefined, s: Conv2dShape): { w: Float32Array; b: Float32Array } {
  const cin = s.sources.reduce((a, b) => a + b, 0);
  if (weight.length !== s.cout * cin * 9) throw new Error(`conv2d weight: expected ${s.cout}x${cin}x3x3 = ${s.cout * cin * 9} values, got ${weight.length}`);
  const cout4 = Math.ceil(s.cout / 4);
  const wrow = s.sources.reduce((a, c) => a + Math.ceil(c / 4) * 4, 0);
  const w = new Float32Array(cout4 * 36 * wrow * 4);
  const gg = new Float64Array(18); // G g, 6x3
  for (let o = 0; o < s.cout; o++) {
    let cinOff = 0;
    let base = 0;
    for (const cs of s.sources) {
      for (let c = 0; c < cs; c++) {
        const g = (ky: number, kx: number) => weight[((o * cin + cinOff + c) * 3 + ky) * 3 + kx];
        for (let i = 0; i < 6; i++) for (let kx = 0; kx < 3; kx++) gg[i * 3 + kx] = G[i][0] * g(0, kx) + G[i][1] * g(1, kx) + G[i][2] * g(2, kx);
        for (let i = 0; i < 6; i++) {
          for (let j = 0; j < 6; j++) {
            const u = gg[i * 3] * G[j][0] + gg[i * 3 + 1] * G[j][1] + gg[i * 3 + 2] * G[j][2];
            w[(((o >> 2) * 36 + i * 6 + j) * wrow + base + c) * 4 + (o & 3)] = u;
          }
        }
      }
      cinOff += cs;
      base += Math.ceil(cs / 4) * 4;
    }
  }
  const b = new Float32Array(cout4 * 4);
  if (bias) {
    if (bias.length !== s.cout) throw new Error(`conv2d bias: expected ${s.cout} values, got ${bias.length}`);
    b.set(bias);
  }
  return { w, b };
}

/** Blockings in order of preference; the later ones need less workgroup memory. */
export function winogradTilings(s: Conv2dShape): WinogradTiling[] {
  const cout4 = Math.ceil(s.cout / 4);
  const to = s.shuffle ? 4 : Math.min(4, cout4);
  const out: WinogradTiling[] = [
    { TTX: 4, TTY: 2, TO: to, CK: 1 },
    { TTX: 4, TTY: 1, TO: to, CK: 1 },
    { TTX: 2, TTY: 1, TO: to, CK: 1 },
  ];
  if (!s.shuffle && to > 1) out.push({ TTX: 4, TTY: 2, TO: 1, CK: 1 });
  return out;
}

export function winogradSpecs(base: Omit<WinogradSpec, keyof WinogradTiling>, s: Conv2dShape, tiling?: Partial<WinogradTiling>): WinogradSpec[] {
  return preferring(winogradTilings(s), tiling).map((t) => ({ ...base, ...t }));
}

export function winogradSpec(gpu: Gpu, candidates: readonly WinogradSpec[]): WinogradSpec {
  return kernel.fit(gpu, candidates);
}

export const winogradKernel = kernel;

/** Workgroups for a band of `rows` grid rows of width outW. */
export function winogradWorkgroups(spec: WinogradSpec, outW: number, rows: number, cout4: number): [number, number, number] {
  return [Math.ceil(outW / (4 * spec.TTX)), Math.ceil(rows / (4 * spec.TTY)), Math.ceil(cout4 / spec.TO)];
}
