// The sampling and element-wise kernels (flow_warp, resize, avgpool2, normalize, elementwise add) against
// the float64 CPU references of test/reference/sampling.ts, on seeded random data.
//
// Tolerances (expectClose: max |got − want| <= rel · max(|want|, 1e-3)):
//  - f32: rel = 1e-4. Every output is a short weighted sum (<= 4 terms) of O(1) values, so f32 rounding is
//    ~1e-7; the sample coordinates are formed in f32 (x + flow, ratio·(d + 0.5) − 0.5), which moves them by
//    <= ~1e-5 px for the sizes and flows here and the interpolants are continuous in the coordinate, so the
//    value error stays ~1e-5 or below. Any indexing/semantic mistake shows up as O(1) relative error.
//  - f16: rel = 2e-3. The reference is fed the f16-rounded inputs (flow included when it is f16), so what is
//    left is the f16 rounding of the output (<= 2^-11 relative ≈ 4.9e-4 of the scale) plus the f16 rounding
//    of the level-1 values that feed the second pyramid level.
// Every output is poisoned with NaN (padding lanes included) before the run, so unwritten elements fail,
// and the padding channels must read back as exactly 0.
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/index.js';
import type { Precision } from '../src/numeric/precision.js';
import { fromHalf, toHalf } from '../src/numeric/half.js';
import { runDispatches, type Dispatch } from '../src/kernels/kernel.js';
import { flowWarp, type WarpPadding } from '../src/kernels/flow_warp.js';
import { resize, resizeNormalize, resizeRatio } from '../src/kernels/resize.js';
import { avgPool2 } from '../src/kernels/avgpool2.js';
import { normalize } from '../src/kernels/normalize.js';
import { add, foldedWorkgroups } from '../src/kernels/elementwise.js';
import { img, type Img } from './reference/ops.js';
import * as ref from './reference/sampling.js';
import { rng, uniform } from './reference/rng.js';
import { expectClose, poison, useGpu } from './helpers.js';
import { SPYNET_MEAN, SPYNET_STD } from '../src/weights/manifest.js';

const TOL: Record<Precision, number> = { f32: 1e-4, f16: 2e-3 };

const suite = useGpu("measured max error (relative to the output's scale)");
const errors = suite.errors;

/** Rounds to what a tensor of this dtype stores (the reference's input for f16 runs). */
function q(x: Float32Array, dtype: Precision): Float32Array {
  return dtype === 'f32' ? x : x.map((v) => fromHalf(toHalf(v)));
}

/** Runs the dispatch into the poisoned outputs, checks their padding lanes are 0, compares with the references. */
async function check(what: string, dispatch: (outs: Tensor[]) => Promise<Dispatch>, wants: Img[], dtype: Precision, held: Tensor[] = []): Promise<void> {
  const outs = wants.map((w) => Tensor.alloc(suite.gpu, w.h, w.w, w.c, dtype, 'out'));
  outs.forEach(poison);
  await runDispatches(suite.gpu, [await dispatch(outs)]);
  for (let o = 0; o < outs.length; o++) {
    const t = outs[o];
    const got = await t.downloadPadded();
    const cp = t.c4 * 4;
    const real = new Float32Array(t.h * t.w * t.c);
    let badPad = 0;
    for (let p = 0; p < t.h * t.w; p++) {
      for (let k = 0; k < cp; k++) {
        if (k < t.c) real[p * t.c + k] = got[p * cp + k];
        else if (got[p * cp + k] !== 0) badPad++;
      }
    }
    expect(badPad, `${what}: padding lanes not zero`).toBe(0);
    const label = `${what}${outs.length > 1 ? ` [out ${o}]` : ''} (${dtype})`;
    const rel = expectClose(real, wants[o].d, TOL[dtype], label);
    errors.push(`${label}: ${rel.toExponential(2)}`);
  }
  for (const t of [...outs, ...held]) t.destroy();
}

// ---------------------------------------------------------------------------------------------- flow_warp

type FlowKind = 'small' | 'integer' | 'large' | 'special';

/** A flow field (h×w×2, x then y). 'special' aims samples at exact edges and just outside. */
function makeFlow(h: number, w: number, kind: FlowKind, seed: number): Float32Array {
  const f = new Float32Array(h * w * 2);
  const r = rng(seed);
  const targets = (n: number) => [0, n - 1, -1, n, -0.5, n - 0.5, -1.5, n + 0.5, 0.5, n - 1.5, -2, n + 1, 1, n - 2, -0.25, n - 0.75];
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const p = i * w + j;
      for (let a = 0; a < 2; a++) {
        const pos = a === 0 ? j : i;
        const n = a === 0 ? w : h;
        let v: number;
        switch (kind) {
          case 'small':
            v = -3 + 6 * r();
            break;
          case 'integer':
            v = Math.floor(-4 + 9 * r());
            break;
          case 'large':
            v = -50 + 100 * r();
            break;
          case 'special': {
            // half the pixels keep an integer-coordinate sample on the other axis, so pure edge cases occur
            const t = targets(n);
            v = r() < 0.2 ? 0 : t[Math.floor(r() * t.length)] - pos;
            break;
          }
        }
        f[p * 2 + a] = v;
      }
    }
  }
  return f;
}

interface WarpCase {
  h: number;
  w: number;
  c: number;
  flow: FlowKind;
}

const warpCases: WarpCase[] = [
  { h: 13, w: 17, c: 3, flow: 'small' },
  { h: 13, w: 17, c: 5, flow: 'integer' },
  { h: 11, w: 16, c: 2, flow: 'special' },
  { h: 13, w: 17, c: 35, flow: 'large' },
  { h: 1, w: 1, c: 5, flow: 'small' },
  { h: 1, w: 37, c: 1, flow: 'special' },
  { h: 9, w: 1, c: 3, flow: 'large' },
  { h: 20, w: 23, c: 32, flow: 'special' },
];

async function warpCase(wc: WarpCase, padding: WarpPadding, seed: number, dtype: Precision = 'f32', flowDtype: Precision = 'f32') {
  const { h, w, c } = wc;
  const x = q(uniform(seed, h * w * c), dtype);
  const fl = q(makeFlow(h, w, wc.flow, seed + 1), flowDtype);
  const want = ref.flowWarp(img(h, w, c, x), img(h, w, 2, fl), padding);
  const src = Tensor.upload(suite.gpu, x, h, w, c, dtype);
  const flow = Tensor.upload(suite.gpu, fl, h, w, 2, flowDtype);
  const flowTag = flowDtype === dtype ? '' : `, flow ${flowDtype}`;
  await check(`flow_warp ${padding} ${h}x${w}x${c} ${wc.flow}${flowTag}`, ([out]) => flowWarp(suite.gpu, { src, flow, out }, padding), [want], dtype, [
    src,
    flow,
  ]);
}

describe('flow_warp vs float64 reference', () => {
  for (const padding of ['zeros', 'border'] as const) {
    warpCases.forEach((wc, i) => {
      it(`${padding} ${wc.h}x${wc.w}x${wc.c}, ${wc.flow} flow`, () => warpCase(wc, padding, 1000 + 10 * i));
    });
  }
  it('f16 features, f32 flow (zeros) and f16 flow (border)', async () => {
    await warpCase({ h: 13, w: 17, c: 35, flow: 'large' }, 'zeros', 2000, 'f16', 'f32');
    await warpCase({ h: 11, w: 16, c: 3, flow: 'special' }, 'border', 2010, 'f16', 'f16');
    await warpCase({ h: 13, w: 17, c: 5, flow: 'small' }, 'zeros', 2020, 'f16', 'f16');
  });
  // Integer flows (and signed zeros: x + (−0.0) must stay exactly x, corner x with weight 1) sample
  // exactly one pixel with weight 1, so the result is bit-exact: src(x + dx, y + dy), or 0 outside ('zeros'),
  // or the clamped edge pixel ('border').
  const shifts: [number, number][] = [
    [2, -1],
    [-0, -0],
    [0, -0],
    [-7, 3],
  ];
  for (const padding of ['zeros', 'border'] as const) {
    it(`integer / signed-zero flows reproduce shifted pixels bit-exactly (${padding})`, async () => {
      const h = 6;
      const w = 7;
      const x = uniform(3000, h * w * 4);
      const src = Tensor.upload(suite.gpu, x, h, w, 4);
      const out = Tensor.alloc(suite.gpu, h, w, 4);
      for (const [dx, dy] of shifts) {
        const fl = new Float32Array(h * w * 2);
        for (let p = 0; p < h * w; p++) fl.set([dx, dy], 2 * p);
        const flow = Tensor.upload(suite.gpu, fl, h, w, 2);
        poison(out);
        await runDispatches(suite.gpu, [await flowWarp(suite.gpu, { src, flow, out }, padding)]);
        const got = await out.download();
        for (let i = 0; i < h; i++)
          for (let j = 0; j < w; j++)
            for (let k = 0; k < 4; k++) {
              let [sy, sx] = [i + dy, j + dx];
              if (padding === 'border') [sy, sx] = [Math.min(Math.max(sy, 0), h - 1), Math.min(Math.max(sx, 0), w - 1)];
              const inside = sx >= 0 && sx < w && sy >= 0 && sy < h;
              expect(got[(i * w + j) * 4 + k], `flow (${dx}, ${dy}) at (${j}, ${i})`).toBe(inside ? x[(sy * w + sx) * 4 + k] : 0);
            }
        flow.destroy();
      }
      for (const t of [src, out]) t.destroy();
    });
  }
  it('one pipeline serves every resolution (sizes live in the uniform)', async () => {
    const a = [Tensor.alloc(suite.gpu, 5, 6, 3), Tensor.alloc(suite.gpu, 5, 6, 2), Tensor.alloc(suite.gpu, 5, 6, 3)];
    const b = [Tensor.alloc(suite.gpu, 9, 4, 3), Tensor.alloc(suite.gpu, 9, 4, 2), Tensor.alloc(suite.gpu, 9, 4, 3)];
    const da = await flowWarp(suite.gpu, { src: a[0], flow: a[1], out: a[2] });
    const db = await flowWarp(suite.gpu, { src: b[0], flow: b[1], out: b[2] });
    expect(da.pipeline).toBe(db.pipeline);
    const ra = await resize(suite.gpu, { src: a[0], out: b[0] });
    const rb = await resize(suite.gpu, { src: b[0], out: a[2] });
    expect(ra.pipeline).toBe(rb.pipeline);
    for (const t of [...a, ...b]) t.destroy();
  });
  it('rejects mismatched shapes with a clear message', async () => {
    const src = Tensor.alloc(suite.gpu, 4, 5, 3);
    const flow = Tensor.alloc(suite.gpu, 4, 6, 2);
    const out = Tensor.alloc(suite.gpu, 4, 5, 3);
    await expect(flowWarp(suite.gpu, { src, flow, out })).rejects.toThrow('flow_warp: flow is 4x6x2 f32, expected 4x5x2 *');
    const flow3 = Tensor.alloc(suite.gpu, 4, 5, 3);
    await expect(flowWarp(suite.gpu, { src, flow: flow3, out })).rejects.toThrow('expected 4x5x2');
    const out16 = Tensor.alloc(suite.gpu, 4, 5, 3, 'f16');
    await expect(flowWarp(suite.gpu, { src, flow: flow3, out: out16 })).rejects.toThrow('flow_warp');
    await expect(flowWarp(suite.gpu, { src, flow: flow3, out: src })).rejects.toThrow();
    for (const t of [src, flow, out, flow3, out16]) t.destroy();
  });
});

// ---------------------------------------------------------------------------------------------- resize

interface ResizeCase {
  name: string;
  h: number;
  w: number;
  c: number;
  oh: number;
  ow: number;
  align: boolean;
  scale?: number | number[];
}

const resizeCases: ResizeCase[] = [
  { name: 'x2 up', h: 13, w: 17, c: 3, oh: 26, ow: 34, align: false },
  { name: 'x2 up', h: 13, w: 17, c: 3, oh: 26, ow: 34, align: true },
  { name: 'x4 up (image upsample)', h: 7, w: 9, c: 3, oh: 28, ow: 36, align: false },
  { name: 'x2 down', h: 26, w: 34, c: 5, oh: 13, ow: 17, align: false },
  { name: 'x2 down', h: 26, w: 34, c: 5, oh: 13, ow: 17, align: true },
  { name: '40x56 -> 64x64', h: 40, w: 56, c: 3, oh: 64, ow: 64, align: false },
  { name: '64x64 -> 40x56', h: 64, w: 64, c: 3, oh: 40, ow: 56, align: false },
  { name: '40x56 -> 64x64', h: 40, w: 56, c: 2, oh: 64, ow: 64, align: true },
  { name: '64x64 -> 40x56', h: 64, w: 64, c: 2, oh: 40, ow: 56, align: true },
  { name: 'identity size', h: 13, w: 17, c: 5, oh: 13, ow: 17, align: false },
  { name: '1x1 -> 5x7', h: 1, w: 1, c: 3, oh: 5, ow: 7, align: false },
  { name: '1x1 -> 5x7', h: 1, w: 1, c: 3, oh: 5, ow: 7, align: true },
  { name: '5x7 -> 1x1 (out 1 samples at 0)', h: 5, w: 7, c: 3, oh: 1, ow: 1, align: true },
  { name: '5x7 -> 1x1', h: 5, w: 7, c: 3, oh: 1, ow: 1, align: false },
  { name: '1x37 -> 3x74', h: 1, w: 37, c: 1, oh: 3, ow: 74, align: false },
  { name: '35 ch, 13x17 -> 20x11, scalar scale 0.5', h: 13, w: 17, c: 35, oh: 20, ow: 11, align: false, scale: 0.5 },
  { name: 'SPyNet x2 flow upsample, scale (2,2)', h: 12, w: 20, c: 2, oh: 24, ow: 40, align: true, scale: [2, 2] },
  { name: 'SPyNet final flow rescale 64x96 -> 45x80', h: 64, w: 96, c: 2, oh: 45, ow: 80, align: false, scale: [80 / 96, 45 / 64] },
];

async function resizeCase(rc: ResizeCase, seed: number, dtype: Precision = 'f32') {
  const x = q(uniform(seed, rc.h * rc.w * rc.c), dtype);
  const scaleArr = rc.scale === undefined ? undefined : typeof rc.scale === 'number' ? new Array(rc.c).fill(rc.scale) : rc.scale;
  const want = ref.resize(img(rc.h, rc.w, rc.c, x), rc.oh, rc.ow, rc.align, scaleArr);
  const src = Tensor.upload(suite.gpu, x, rc.h, rc.w, rc.c, dtype);
  await check(
    `resize ${rc.name} ${rc.h}x${rc.w}x${rc.c}->${rc.oh}x${rc.ow} align_corners=${rc.align}`,
    ([out]) => resize(suite.gpu, { src, out }, { alignCorners: rc.align, scale: rc.scale }),
    [want],
    dtype,
    [src],
  );
}

describe('resize vs float64 reference', () => {
  resizeCases.forEach((rc, i) => {
    it(`${rc.name} ${rc.h}x${rc.w}x${rc.c} -> ${rc.oh}x${rc.ow}, align_corners=${rc.align}`, () => resizeCase(rc, 4000 + 10 * i));
  });
  it('resize + normalize (SPyNet input) 45x61 -> 64x64', async () => {
    const [h, w, oh, ow] = [45, 61, 64, 64];
    const x = uniform(4500, h * w * 3, 0, 1);
    const want = ref.resize(
      img(h, w, 3, x),
      oh,
      ow,
      false,
      SPYNET_STD.map((s) => 1 / s),
      SPYNET_MEAN,
    );
    const wantDiv = ref.normalize(ref.resize(img(h, w, 3, x), oh, ow, false), SPYNET_MEAN, SPYNET_STD);
    expectClose(want.d, wantDiv.d, 1e-12, 'reference (x−m)·(1/s) vs (x−m)/s');
    const src = Tensor.upload(suite.gpu, x, h, w, 3);
    await check('resize+normalize 45x61x3->64x64', ([out]) => resizeNormalize(suite.gpu, { src, out }, SPYNET_MEAN, SPYNET_STD), [want], 'f32', [src]);
  });
  it('f16: x4 image upsample, 40x56 -> 64x64 with normalize, 35 ch down', async () => {
    await resizeCase(resizeCases[2], 4600, 'f16');
    await resizeCase(resizeCases[15], 4610, 'f16');
    const x = q(uniform(4620, 40 * 56 * 3, 0, 1), 'f16');
    const want = ref.normalize(ref.resize(img(40, 56, 3, x), 64, 64, false), SPYNET_MEAN, SPYNET_STD);
    const src = Tensor.upload(suite.gpu, x, 40, 56, 3, 'f16');
    await check('resize+normalize 40x56x3->64x64', ([out]) => resizeNormalize(suite.gpu, { src, out }, SPYNET_MEAN, SPYNET_STD), [want], 'f16', [src]);
  });
  it("uses Paddle's f32 ratios", () => {
    expect(resizeRatio(7, 28, false)).toBe(0.25);
    expect(resizeRatio(12, 24, true)).toBe(Math.fround(11 / 23));
    expect(resizeRatio(5, 1, true)).toBe(0);
    expect(resizeRatio(64, 40, false)).toBe(Math.fround(1.6));
  });
  it('rejects bad shapes and per-channel vectors of the wrong length', async () => {
    const src = Tensor.alloc(suite.gpu, 4, 5, 3);
    const out4 = Tensor.alloc(suite.gpu, 8, 10, 4);
    const out = Tensor.alloc(suite.gpu, 8, 10, 3);
    const wide = Tensor.alloc(suite.gpu, 4, 5, 8);
    const wideOut = Tensor.alloc(suite.gpu, 8, 10, 8);
    await expect(resize(suite.gpu, { src, out: out4 })).rejects.toThrow('resize: out is 8x10x4 f32, expected *x*x3 f32');
    await expect(resize(suite.gpu, { src, out }, { scale: [1, 2] })).rejects.toThrow('scale has 2 values, expected 3');
    await expect(resize(suite.gpu, { src: wide, out: wideOut }, { scale: [1, 2, 3, 4, 5, 6, 7, 8] })).rejects.toThrow('at most 4 channels');
    for (const t of [src, out4, out, wide, wideOut]) t.destroy();
  });
});

// ---------------------------------------------------------------------------------------------- avgpool2

describe('avgpool2 vs float64 reference', () => {
  const cases: [number, number, number][] = [
    [26, 34, 3],
    [13, 17, 5], // odd: floor semantics, last row/column dropped
    [2, 2, 1],
    [3, 75, 2],
    [40, 56, 35],
  ];
  cases.forEach(([h, w, c], i) => {
    it(`${h}x${w}x${c}`, async () => {
      const x = uniform(5000 + i, h * w * c);
      const src = Tensor.upload(suite.gpu, x, h, w, c);
      await check(`avgpool2 ${h}x${w}x${c}`, ([out]) => avgPool2(suite.gpu, { src, out }), [ref.avgPool2(img(h, w, c, x))], 'f32', [src]);
    });
  });
  const pyramids: [number, number, number][] = [
    [64, 64, 3], // SPyNet pyramid R0 -> R1, R2
    [28, 44, 2], // level 1 is 14x22; level 2 7x11
    [14, 22, 35], // level 1 7x11 (odd): last block row/column writes level 1 only
    [4, 5, 1],
  ];
  pyramids.forEach(([h, w, c], i) => {
    it(`two levels in one dispatch ${h}x${w}x${c}`, async () => {
      const x = uniform(5100 + i, h * w * c);
      const l1 = ref.avgPool2(img(h, w, c, x));
      const src = Tensor.upload(suite.gpu, x, h, w, c);
      await check(`avgpool2 x2 levels ${h}x${w}x${c}`, ([out, out2]) => avgPool2(suite.gpu, { src, out, out2 }), [l1, ref.avgPool2(l1)], 'f32', [src]);
    });
  });
  it('f16: one and two levels', async () => {
    const x = q(uniform(5200, 26 * 34 * 5), 'f16');
    const src = Tensor.upload(suite.gpu, x, 26, 34, 5, 'f16');
    const l1 = ref.avgPool2(img(26, 34, 5, x));
    await check('avgpool2 26x34x5', ([out]) => avgPool2(suite.gpu, { src, out }), [l1], 'f16');
    await check('avgpool2 x2 levels 26x34x5', ([out, out2]) => avgPool2(suite.gpu, { src, out, out2 }), [l1, ref.avgPool2(l1)], 'f16', [src]);
  });
  it('rejects wrong output sizes', async () => {
    const src = Tensor.alloc(suite.gpu, 13, 17, 3);
    const out = Tensor.alloc(suite.gpu, 7, 8, 3);
    await expect(avgPool2(suite.gpu, { src, out })).rejects.toThrow('avgpool2: out is 7x8x3 f32, expected 6x8x3 f32');
    const tiny = Tensor.alloc(suite.gpu, 1, 4, 3);
    await expect(avgPool2(suite.gpu, { src: tiny, out })).rejects.toThrow('at least 2x2');
    for (const t of [src, out, tiny]) t.destroy();
  });
});

// ---------------------------------------------------------------------------------------------- normalize

describe('normalize vs float64 reference', () => {
  const cases: [number, number, number, Precision][] = [
    [13, 17, 3, 'f32'],
    [1, 37, 3, 'f32'],
    [1, 1, 1, 'f32'],
    [13, 17, 3, 'f16'],
  ];
  cases.forEach(([h, w, c, dtype], i) => {
    it(`${h}x${w}x${c} ${dtype}`, async () => {
      const mean = SPYNET_MEAN.slice(0, c);
      const std = SPYNET_STD.slice(0, c);
      const x = q(uniform(6000 + i, h * w * c, 0, 1), dtype);
      const src = Tensor.upload(suite.gpu, x, h, w, c, dtype);
      await check(`normalize ${h}x${w}x${c}`, ([out]) => normalize(suite.gpu, { src, out }, mean, std), [ref.normalize(img(h, w, c, x), mean, std)], dtype, [
        src,
      ]);
    });
  });
  it('rejects more than 4 channels and wrong mean/std lengths', async () => {
    const src = Tensor.alloc(suite.gpu, 2, 2, 5);
    const src3 = Tensor.alloc(suite.gpu, 2, 2, 3);
    await expect(normalize(suite.gpu, { src, out: src3 }, [0], [1])).rejects.toThrow('normalize: src has 5 channels, expected at most 4');
    await expect(normalize(suite.gpu, { src: src3, out: src3 }, [0, 0], [1, 1])).rejects.toThrow();
    for (const t of [src, src3]) t.destroy();
  });
});

// ---------------------------------------------------------------------------------------------- add

describe('elementwise add vs float64 reference', () => {
  const cases: [number, number, number, number, number, Precision][] = [
    [13, 17, 35, 1, 1, 'f32'],
    [13, 17, 5, 0.5, 0.5, 'f32'],
    [1, 1, 1, 2, -3, 'f32'],
    [1, 37, 2, 1, 1, 'f32'],
    [13, 17, 35, 1, 1, 'f16'],
  ];
  cases.forEach(([h, w, c, alpha, beta, dtype], i) => {
    it(`${h}x${w}x${c} ${alpha}·a + ${beta}·b ${dtype}`, async () => {
      const a = q(uniform(7000 + i, h * w * c), dtype);
      const b = q(uniform(7100 + i, h * w * c), dtype);
      const ta = Tensor.upload(suite.gpu, a, h, w, c, dtype);
      const tb = Tensor.upload(suite.gpu, b, h, w, c, dtype);
      await check(
        `add ${h}x${w}x${c} ${alpha}a+${beta}b`,
        ([out]) => add(suite.gpu, { a: ta, b: tb, out }, { alpha, beta }),
        [ref.axpby(img(h, w, c, a), img(h, w, c, b), alpha, beta)],
        dtype,
        [ta, tb],
      );
    });
  });
  it('folds large grids into 2-D', () => {
    expect(foldedWorkgroups(1)).toEqual([1, 1, 1]);
    expect(foldedWorkgroups(65535 * 256)).toEqual([65535, 1, 1]);
    expect(foldedWorkgroups(65535 * 256 + 1)).toEqual([65535, 2, 1]);
  });
  it('rejects mismatched shapes and in-place use', async () => {
    const a = Tensor.alloc(suite.gpu, 3, 4, 5);
    const b = Tensor.alloc(suite.gpu, 3, 4, 6);
    await expect(add(suite.gpu, { a, b, out: a })).rejects.toThrow('add: b is 3x4x6 f32, expected 3x4x5 f32');
    await expect(add(suite.gpu, { a, b: a, out: a })).rejects.toThrow('cannot run in place');
    for (const t of [a, b]) t.destroy();
  });
});
