import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/index.js';
import { conv2d, inputRows, type Conv2dShape } from '../src/kernels/conv2d.js';
import * as sampling from './reference/sampling.js';
import { runDispatches } from '../src/kernels/kernel.js';
import * as ref from './reference/ops.js';
import { uniform } from './reference/rng.js';
import { ParamBuffer, convWeights, expectClose, poison, useGpu } from './helpers.js';
import { cases, casesF16, runCase } from './conv-cases.js';

const suite = useGpu("conv2d measured max error (relative to the output's scale)");
const errors = suite.errors;

describe('conv2d (f32) vs float64 CPU reference', () => {
  cases.forEach((c, i) => {
    it(c.name, async () => {
      const { got, want } = await runCase(suite.gpu, c, 100 + 7 * i);
      errors.push(`${c.name}: ${expectClose(got, want, 1e-4, c.name).toExponential(2)}`);
    });
  });
});

describe('conv2d (f16 storage) vs float64 CPU reference', () => {
  casesF16.forEach((c, i) => {
    it(c.name, async () => {
      const { got, want } = await runCase(suite.gpu, c, 900 + 7 * i);
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
        suite.gpu,
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
