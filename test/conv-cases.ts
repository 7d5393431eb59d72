// The conv test matrix (every conv family of PP-MSVSR / -L and the generic cases the kernels promise) and one
// case run against the float64 reference; shared by the variants' test files.
import { expect } from 'vitest';
import { type Gpu, Tensor } from '../src/index.js';
import { conv2d, type Conv2dShape } from '../src/kernels/conv2d.js';
import { runDispatches } from '../src/kernels/kernel.js';
import * as ref from './reference/ops.js';
import { uniform } from './reference/rng.js';
import { convWeights, poison } from './helpers.js';
import { fromHalf, toHalf } from '../src/numeric/half.js';

export interface Case {
  name: string;
  h: number;
  w: number;
  shape: Conv2dShape;
  noBias?: boolean;
}

export async function runCase(gpu: Gpu, { h, w, shape, noBias }: Case, seed: number) {
  const cin = shape.sources.reduce((a, b) => a + b, 0);
  const k = shape.k;
  const nres = shape.residuals ?? 0;
  // Weights scaled like a Kaiming init so outputs stay O(1) whatever the fan-in.
  const weight = uniform(seed, shape.cout * cin * k * k, -1 / Math.sqrt(cin * k * k), 1 / Math.sqrt(cin * k * k));
  const bias = noBias ? undefined : uniform(seed + 1, shape.cout, -0.5, 0.5);
  const f16 = shape.dtype === 'f16';
  // In f16 the kernel sees the inputs rounded to f16: the reference gets the same rounded values, so the
  // comparison measures the kernel, not the input quantisation.
  const q = (a: Float32Array) => (f16 ? a.map((v) => fromHalf(toHalf(v))) : a);
  const xs = shape.sources.map((c, i) => q(uniform(seed + 10 + i, h * w * c)));
  const stride = shape.stride ?? 1;
  const pad = shape.pad ?? k >> 1;
  const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - k) / stride) + 1;
  const [eh, ew, ec] = shape.shuffle ? [2 * oh, 2 * ow, shape.cout / 4] : [oh, ow, shape.cout];
  const rs = Array.from({ length: nres }, (_, i) => q(uniform(seed + 20 + i, eh * ew * ec)));

  // float64 reference
  let want = ref.conv2d(ref.concat(xs.map((x, i) => ref.img(h, w, shape.sources[i], x))), weight, bias, shape.cout, k, stride, pad);
  if (shape.act === 'lrelu') want = ref.lrelu(want);
  if (shape.act === 'relu') want = ref.relu(want);
  if (shape.shuffle) want = ref.pixelShuffle(want);
  for (const r of rs) want = ref.add(want, ref.img(eh, ew, ec, r));

  const { weights, wOff, bOff } = convWeights(gpu, weight, bias, shape);
  const dt = shape.dtype ?? 'f32';
  const sources = xs.map((x, i) => Tensor.upload(gpu, x, h, w, shape.sources[i], dt));
  const residuals = rs.map((r) => Tensor.upload(gpu, r, eh, ew, ec, dt));
  const out = Tensor.alloc(gpu, eh, ew, ec, dt);
  poison(out);
  const d = await conv2d(gpu, shape, { weights, wOff, bOff, sources, residuals, out });
  await runDispatches(gpu, [d]);
  const got = await out.downloadPadded();
  // padding channels stay zero
  const cp = Math.ceil(ec / 4) * 4;
  const real = new Float32Array(eh * ew * ec);
  for (let p = 0; p < eh * ew; p++) {
    for (let c = 0; c < cp; c++) {
      if (c < ec) real[p * ec + c] = got[p * cp + c];
      else expect(got[p * cp + c], `padding channel ${c} at pixel ${p}`).toBe(0);
    }
  }
  for (const t of [...sources, ...residuals, out]) t.destroy();
  weights.destroy();
  return { got: real, want: want.d };
}

const L = 'lrelu' as const;
// Shapes of every conv family in PP-MSVSR / -L and the generic cases the kernel promises, on sizes that are
// not multiples of the workgroup tile (16x4 pixels) or of 4.
export const cases: Case[] = [
  { name: 'feat_extract.covn1: 3->32 lrelu, 17x23', h: 17, w: 23, shape: { sources: [3], cout: 32, k: 3, act: L } },
  { name: '32->32 no act, 13x17', h: 13, w: 17, shape: { sources: [32], cout: 32, k: 3 } },
  { name: 'RB conv1: 32->32 relu, 1x37', h: 1, w: 37, shape: { sources: [32], cout: 32, k: 3, act: 'relu' } },
  { name: 'RB conv2: 32->32 + 1 residual, 13x17', h: 13, w: 17, shape: { sources: [32], cout: 32, k: 3, residuals: 1 } },
  { name: 'last RB + propagation: 32->32 + 2 residuals, no bias, 1x1', h: 1, w: 1, noBias: true, shape: { sources: [32], cout: 32, k: 3, residuals: 2 } },
  { name: 'lrelu + 1 residual, 32->32, 5x6', h: 5, w: 6, shape: { sources: [32], cout: 32, k: 3, act: L, residuals: 1 } },
  { name: 'relu + 2 residuals, 16->16, 7x3', h: 7, w: 3, shape: { sources: [16], cout: 16, k: 3, act: 'relu', residuals: 2 } },
  { name: 'conv_offset.0: concat [32,32,2]->32 lrelu, 13x17', h: 13, w: 17, shape: { sources: [32, 32, 2], cout: 32, k: 3, act: L } },
  { name: 'stage1_blocks: concat x3 (96)->32 lrelu, 9x20', h: 9, w: 20, shape: { sources: [32, 32, 32], cout: 32, k: 3, act: L } },
  { name: 'stage2_forward: concat x4 (128)->32 lrelu, 6x7', h: 6, w: 7, shape: { sources: [32, 32, 32, 32], cout: 32, k: 3, act: L } },
  { name: 'stage3_backward: concat x5 (160)->32 lrelu, 5x9', h: 5, w: 9, shape: { sources: [32, 32, 32, 32, 32], cout: 32, k: 3, act: L } },
  { name: 'reconstruction: concat x6 (192)->32 lrelu, 4x5', h: 4, w: 5, shape: { sources: [32, 32, 32, 32, 32, 32], cout: 32, k: 3, act: L } },
  { name: 'concat x2 of odd channels [5,3]->12 + 1 residual, 13x17', h: 13, w: 17, shape: { sources: [5, 3], cout: 12, k: 3, residuals: 1 } },
  { name: 'aux_block_down1.0: [3,32]->32 stride 2 lrelu, odd 17x23', h: 17, w: 23, shape: { sources: [3, 32], cout: 32, k: 3, stride: 2, act: L } },
  { name: 'aux_block_down2.0: [32,32]->32 stride 2, 16x20', h: 16, w: 20, shape: { sources: [32, 32], cout: 32, k: 3, stride: 2, act: L } },
  { name: 'PixelShufflePack: 32->128 shuffle lrelu, 13x17', h: 13, w: 17, shape: { sources: [32], cout: 128, k: 3, shuffle: true, act: L } },
  { name: 'shuffle, no act, 16->64, 3x5', h: 3, w: 5, shape: { sources: [16], cout: 64, k: 3, shuffle: true } },
  { name: 'shuffle relu, concat [8,4]->16, 1x1', h: 1, w: 1, shape: { sources: [8, 4], cout: 16, k: 3, shuffle: true, act: 'relu' } },
  { name: 'conv_last: 32->3 + image residual, 13x17', h: 13, w: 17, shape: { sources: [32], cout: 3, k: 3, residuals: 1 } },
  { name: 'spynet first: [3,3,2]->16 lrelu, 13x17', h: 13, w: 17, shape: { sources: [3, 3, 2], cout: 16, k: 3, act: L } },
  { name: 'spynet last: 8->2, 13x17', h: 13, w: 17, shape: { sources: [8], cout: 2, k: 3 } },
  { name: 'conv_offset.6 (G=4): 32->108, 5x7', h: 5, w: 7, shape: { sources: [32], cout: 108, k: 3 } },
  { name: 'conv_offset.6 (G=8): 32->216, 3x5', h: 3, w: 5, shape: { sources: [32], cout: 216, k: 3 } },
  { name: '-L conv_offset.0: [64,64,2]->64 lrelu, 5x9', h: 5, w: 9, shape: { sources: [64, 64, 2], cout: 64, k: 3, act: L } },
  { name: '1x1 kernel: 35->7 relu, 13x17', h: 13, w: 17, shape: { sources: [35], cout: 7, k: 1, act: 'relu' } },
  { name: '1x1 kernel stride 2: 5->9, 17x23', h: 17, w: 23, shape: { sources: [5], cout: 9, k: 1, stride: 2 } },
  { name: '5x5 kernel pad 2: 4->8 lrelu, 13x17', h: 13, w: 17, shape: { sources: [4], cout: 8, k: 5, act: L } },
  { name: '3x3 pad 0 (valid): 6->5, 9x10', h: 9, w: 10, shape: { sources: [6], cout: 5, k: 3, pad: 0 } },
];

// f16 storage, with f32 arithmetic and with f16 arithmetic (the weights rounded to f16, the products of one
// kernel row summed in f16, those sums in f32). Tolerance 2e-3 of the output scale: the output is rounded to
// f16 (relative 2^-11 = 4.9e-4) and the products and residuals add their own rounding; measured 2.2e-4 ..
// 3.1e-4 (f32 arithmetic), 4.5e-4 .. 7.1e-4 (f16 arithmetic); anything structural is O(1).
export const f16Storage: Case[] = [
  { name: 'f16: 32->32 lrelu + residual, 13x17', h: 13, w: 17, shape: { sources: [32], cout: 32, k: 3, act: L, residuals: 1, dtype: 'f16' } },
  { name: 'f16: shuffle 32->128 lrelu, 5x7', h: 5, w: 7, shape: { sources: [32], cout: 128, k: 3, shuffle: true, act: L, dtype: 'f16' } },
  { name: 'f16: [3,32]->32 stride 2, 9x11', h: 9, w: 11, shape: { sources: [3, 32], cout: 32, k: 3, stride: 2, act: L, dtype: 'f16' } },
];
export const casesF16: Case[] = [
  ...f16Storage,
  ...f16Storage.map((c) => ({ ...c, name: `${c.name}, f16 arithmetic`, shape: { ...c.shape, math: 'f16' as const } })),
];
