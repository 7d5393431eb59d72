import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/index.js';
import { conv2d, inputRows, type Conv2dShape } from '../src/kernels/conv2d.js';
import * as sampling from './reference/sampling.js';
import { runDispatches } from '../src/kernels/kernel.js';
import * as ref from './reference/ops.js';
import { uniform } from './reference/rng.js';
import { ParamBuffer, convWeights, expectClose, poison, useGpu } from './helpers.js';
import { fromHalf, toHalf } from '../src/numeric/half.js';

const suite = useGpu("conv2d measured max error (relative to the output's scale)");
const errors = suite.errors;

interface Case {
  name: string;
  h: number;
  w: number;
  shape: Conv2dShape;
  noBias?: boolean;
}

async function runCase({ h, w, shape, noBias }: Case, seed: number) {
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

  const { weights, wOff, bOff } = convWeights(suite.gpu, weight, bias, shape);
  const dt = shape.dtype ?? 'f32';
  const sources = xs.map((x, i) => Tensor.upload(suite.gpu, x, h, w, shape.sources[i], dt));
  const residuals = rs.map((r) => Tensor.upload(suite.gpu, r, eh, ew, ec, dt));
  const out = Tensor.alloc(suite.gpu, eh, ew, ec, dt);
  poison(out);
  const d = await conv2d(suite.gpu, shape, { weights, wOff, bOff, sources, residuals, out });
  await runDispatches(suite.gpu, [d]);
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
const cases: Case[] = [
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
const f16Storage: Case[] = [
  { name: 'f16: 32->32 lrelu + residual, 13x17', h: 13, w: 17, shape: { sources: [32], cout: 32, k: 3, act: L, residuals: 1, dtype: 'f16' } },
  { name: 'f16: shuffle 32->128 lrelu, 5x7', h: 5, w: 7, shape: { sources: [32], cout: 128, k: 3, shuffle: true, act: L, dtype: 'f16' } },
  { name: 'f16: [3,32]->32 stride 2, 9x11', h: 9, w: 11, shape: { sources: [3, 32], cout: 32, k: 3, stride: 2, act: L, dtype: 'f16' } },
];
const casesF16: Case[] = [...f16Storage, ...f16Storage.map((c) => ({ ...c, name: `${c.name}, f16 arithmetic`, shape: { ...c.shape, math: 'f16' as const } }))];

describe('conv2d (f32) vs float64 CPU reference', () => {
  cases.forEach((c, i) => {
    it(c.name, async () => {
      const { got, want } = await runCase(c, 100 + 7 * i);
      errors.push(`${c.name}: ${expectClose(got, want, 1e-4, c.name).toExponential(2)}`);
    });
  });
});

describe('conv2d (f16 storage) vs float64 CPU reference', () => {
  casesF16.forEach((c, i) => {
    it(c.name, async () => {
      const { got, want } = await runCase(c, 900 + 7 * i);
      errors.push(`${c.name}: ${expectClose(got, want, 2e-3, c.name).toExponential(2)}`);
    });
  });
});

// Winograd F(4x4, 3x3) on every 3x3 stride-1 pad-1 case of the same matrix, against the same float64
// reference and tolerance: its transforms reorder and scale the sums (interpolation points up to ±2, a
// factor 8 in Aᵀ), which measured below 1e-5 of the output scale here.
const winogradCases = [...cases, ...casesF16].filter((c) => !c.shape.math && c.shape.k === 3 && (c.shape.stride ?? 1) === 1 && (c.shape.pad ?? 1) === 1);

describe('conv2d Winograd F(4x4, 3x3) vs float64 CPU reference', () => {
  for (const c of winogradCases) {
    it(`winograd ${c.name}`, async () => {
      const f16 = c.shape.dtype === 'f16';
      const { got, want } = await runCase(
        { ...c, shape: { ...c.shape, variant: 'winograd' } },
        f16 ? 900 + 7 * casesF16.indexOf(c) : 100 + 7 * cases.indexOf(c),
      );
      errors.push(`winograd ${c.name}: ${expectClose(got, want, f16 ? 2e-3 : 1e-4, c.name).toExponential(2)}`);
    });
  }
  it("covers the network's 3x3 stride-1 families", () => {
    expect(winogradCases.length).toBeGreaterThanOrEqual(20);
  });
});

describe('conv2d shape checks', () => {
  it('rejects a source with the wrong channel count, naming it', async () => {
    const params = new ParamBuffer();
    const weights = params.upload(suite.gpu);
    const a = Tensor.alloc(suite.gpu, 4, 4, 32);
    const b = Tensor.alloc(suite.gpu, 4, 4, 16);
    const out = Tensor.alloc(suite.gpu, 4, 4, 32);
    await expect(conv2d(suite.gpu, { sources: [32, 32], cout: 32, k: 3 }, { weights, wOff: 0, bOff: 0, sources: [a, b], out })).rejects.toThrow(
      /source 1 is 4x4x16 f32, expected 4x4x32/,
    );
  });
  it('rejects more than 6 slots', async () => {
    const params = new ParamBuffer();
    const weights = params.upload(suite.gpu);
    const t = Tensor.alloc(suite.gpu, 2, 2, 4);
    await expect(
      conv2d(
        suite.gpu,
        { sources: [4, 4, 4, 4, 4, 4], cout: 4, k: 3, residuals: 1 },
        { weights, wOff: 0, bOff: 0, sources: [t, t, t, t, t, t], residuals: [t], out: t },
      ),
    ).rejects.toThrow(/exceed 6 slots/);
  });
});

describe('conv2d: fused x4 image skip (UPRES)', () => {
  it('32->3 at 17x22 (+ the 4x upsampled image bilinear align_corners=False) equals conv + resize', async () => {
    // output 68x88 with an image of 17x22: non-multiple-of-tile sizes, clamped edges on both axes
    const h = 68,
      w = 88,
      cin = 32,
      cout = 3;
    const x = uniform(700, h * w * cin);
    const im = uniform(701, (h / 4) * (w / 4) * 3, 0, 1);
    const weight = uniform(702, cout * cin * 9, -1 / Math.sqrt(cin * 9), 1 / Math.sqrt(cin * 9));
    const bias = uniform(703, cout, -0.5, 0.5);
    const shape = { sources: [cin], cout, k: 3, residuals: 1, upres: true };
    const { weights, wOff, bOff } = convWeights(suite.gpu, weight, bias, shape);
    const xt = Tensor.upload(suite.gpu, x, h, w, cin);
    const it = Tensor.upload(suite.gpu, im, h / 4, w / 4, 3);
    const out = Tensor.alloc(suite.gpu, h, w, cout);
    poison(out);
    await runDispatches(suite.gpu, [await conv2d(suite.gpu, shape, { weights, wOff, bOff, sources: [xt], residuals: [it], out })]);
    const got = await out.download();
    const want = ref.add(ref.conv2d(ref.img(h, w, cin, x), weight, bias, cout, 3), sampling.resize(ref.img(h / 4, w / 4, 3, im), h, w, false));
    errors.push(`upres: ${expectClose(got, want.d, 1e-4, 'upres').toExponential(2)}`);
    for (const t of [xt, it, out]) t.destroy();
    weights.destroy();
  });
});

describe('conv2d: row bands', () => {
  // A band computed from a buffer holding only the rows it needs equals those rows of the whole-image conv,
  // bit for bit (same per-pixel arithmetic), for a plain conv, a shuffle conv and a stride-2 conv.
  const cases: { name: string; shape: Conv2dShape; h: number; w: number; rowStart: number; rows: number }[] = [
    {
      name: '32->32 lrelu + residual, rows [5, 12) of 19',
      shape: { sources: [32], cout: 32, k: 3, act: 'lrelu', residuals: 1 },
      h: 19,
      w: 13,
      rowStart: 5,
      rows: 7,
    },
    { name: 'shuffle 32->128, rows [0, 3) of 9', shape: { sources: [32], cout: 128, k: 3, shuffle: true, act: 'lrelu' }, h: 9, w: 7, rowStart: 0, rows: 3 },
    { name: 'stride 2 [3,32]->32, rows [4, 9) of 9', shape: { sources: [3, 32], cout: 32, k: 3, stride: 2, act: 'lrelu' }, h: 18, w: 10, rowStart: 4, rows: 5 },
  ];
  cases.forEach((c, i) => {
    it(c.name, async () => {
      const { shape, h, w } = c;
      const cin = shape.sources.reduce((a, b) => a + b, 0);
      const weight = uniform(800 + i, shape.cout * cin * 9, -0.2, 0.2);
      const bias = uniform(810 + i, shape.cout, -0.5, 0.5);
      const xs = shape.sources.map((ch, j) => uniform(820 + 10 * i + j, h * w * ch));
      const stride = shape.stride ?? 1;
      const oh = Math.floor((h - 1) / stride) + 1;
      const ow = Math.floor((w - 1) / stride) + 1;
      const f = shape.shuffle ? 2 : 1;
      const oc = shape.shuffle ? shape.cout / 4 : shape.cout;
      const res = shape.residuals ? [uniform(830 + i, f * oh * f * ow * oc)] : [];
      const { weights, wOff, bOff } = convWeights(suite.gpu, weight, bias, shape);
      // whole image
      const full = xs.map((x, j) => Tensor.upload(suite.gpu, x, h, w, shape.sources[j]));
      const fullRes = res.map((r) => Tensor.upload(suite.gpu, r, f * oh, f * ow, oc));
      const fullOut = Tensor.alloc(suite.gpu, f * oh, f * ow, oc);
      await runDispatches(suite.gpu, [await conv2d(suite.gpu, shape, { weights, wOff, bOff, sources: full, residuals: fullRes, out: fullOut })]);
      const whole = await fullOut.download();
      // band: sources hold only input rows [lo, hi), the output buffer only the band's rows
      const [lo, hi] = inputRows(c.rowStart, c.rowStart + c.rows, h, 3, stride);
      const cut = (d: Float32Array, ch: number, a: number, b: number, width: number) => d.slice(a * width * ch, b * width * ch);
      const srcs = xs.map((x, j) => Tensor.upload(suite.gpu, cut(x, shape.sources[j], lo, hi, w), hi - lo, w, shape.sources[j]));
      const bandRes = res.map((r) => Tensor.upload(suite.gpu, cut(r, oc, f * c.rowStart, f * (c.rowStart + c.rows), f * ow), f * c.rows, f * ow, oc));
      const out = Tensor.alloc(suite.gpu, f * c.rows, f * ow, oc);
      poison(out);
      const band = { inH: h, inY0: lo, rowStart: c.rowStart, rows: c.rows, outY0: c.rowStart };
      await runDispatches(suite.gpu, [await conv2d(suite.gpu, shape, { weights, wOff, bOff, sources: srcs, residuals: bandRes, out, band })]);
      const got = await out.download();
      expect(Array.from(got)).toEqual(Array.from(cut(whole, oc, f * c.rowStart, f * (c.rowStart + c.rows), f * ow)));
      // a band whose sources miss a needed row is refused up front
      if (lo > 0) {
        await expect(
          conv2d(suite.gpu, shape, { weights, wOff, bOff, sources: srcs, residuals: bandRes, out, band: { ...band, inY0: lo + 1 } }),
        ).rejects.toThrow(/need input rows/);
      }
      for (const t of [...full, ...fullRes, fullOut, ...srcs, ...bandRes, out]) t.destroy();
      weights.destroy();
    });
  });
});
