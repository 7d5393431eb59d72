// src/metrics/psnr-ssim.ts against tools/psnr_ssim_ref.py (numpy, PaddleGAN's psnr_ssim.py semantics) and
// against closed forms.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { SequenceMetrics, SSIM_C1, calculatePsnr, calculateSsim, gaussianKernel, toYChannel, type MetricImage } from '../src/metrics/psnr-ssim.js';

interface RefCase {
  name: string;
  width: number;
  height: number;
  a: string;
  b: string;
  expected: Record<string, { psnr: number; ssim: number }>;
}
const ref = JSON.parse(readFileSync(new URL('./fixtures/cli/psnr_ssim_ref.json', import.meta.url), 'utf8')) as {
  cases: RefCase[];
  identical: { psnr: number | string; ssim: number };
};

const img = (w: number, h: number, data: ArrayLike<number>, channels = 3): MetricImage => ({ width: w, height: h, channels, data });
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

describe('PSNR / SSIM against the numpy reference (tools/psnr_ssim_ref.py)', () => {
  it('has the fixture', () => expect(ref.cases.length).toBeGreaterThanOrEqual(3));
  for (const c of ref.cases) {
    for (const y of [false, true]) {
      for (const crop of [0, 4]) {
        const key = `${y ? 'y' : 'rgb'}_crop${crop}`;
        it(`${c.name} ${key}`, () => {
          const a = img(c.width, c.height, b64(c.a));
          const b = img(c.width, c.height, b64(c.b));
          const want = c.expected[key];
          // The reference, like psnr_ssim.py, averages float32 squared errors: ~1e-7 relative.
          expect(Math.abs(calculatePsnr(a, b, { cropBorder: crop, yChannel: y }) - want.psnr)).toBeLessThan(1e-5);
          expect(Math.abs(calculateSsim(a, b, { cropBorder: crop, yChannel: y }) - want.ssim)).toBeLessThan(1e-12);
          // symmetric
          expect(calculatePsnr(b, a, { cropBorder: crop, yChannel: y })).toBeCloseTo(calculatePsnr(a, b, { cropBorder: crop, yChannel: y }), 12);
        });
      }
    }
  }
  it('identical images: PSNR +inf (psnr_ssim.py returns float("inf")), SSIM 1', () => {
    const c = ref.cases[0];
    const a = img(c.width, c.height, b64(c.a));
    expect(ref.identical.psnr).toBe('inf');
    expect(calculatePsnr(a, a)).toBe(Infinity);
    expect(calculatePsnr(a, a, { yChannel: true, cropBorder: 4 })).toBe(Infinity);
    expect(calculateSsim(a, a)).toBe(1);
    expect(ref.identical.ssim).toBe(1);
  });
});

describe('closed forms', () => {
  const W = 20;
  const H = 16;
  const flat = (v: number) => new Uint8Array(W * H * 3).fill(v);

  it('constant offset d: PSNR = 20 log10(255 / d); Y of gray v = 219 v / 255 + 16', () => {
    for (const d of [1, 3, 10, 77]) {
      const p = calculatePsnr(img(W, H, flat(100)), img(W, H, flat(100 + d)));
      expect(p).toBeCloseTo(20 * Math.log10(255 / d), 12);
      // Y channel of a gray offset: the luma weights sum to 219, so the offset is d * 219 / 255
      const py = calculatePsnr(img(W, H, flat(100)), img(W, H, flat(100 + d)), { yChannel: true });
      expect(py).toBeCloseTo(20 * Math.log10(255 / ((d * 219) / 255)), 9);
    }
    const y = toYChannel(img(1, 1, [128, 128, 128]));
    expect(y.data[0]).toBeCloseTo((128 * 219) / 255 + 16, 12);
    expect(toYChannel(img(1, 1, [0, 0, 0])).data[0]).toBe(16);
    expect(toYChannel(img(1, 1, [255, 255, 255])).data[0]).toBeCloseTo(235, 12);
  });

  it('SSIM of two constant images = (2ab + C1) / (a^2 + b^2 + C1)', () => {
    for (const [a, b] of [
      [100, 110],
      [0, 255],
      [30, 30],
    ]) {
      const s = calculateSsim(img(W, H, flat(a)), img(W, H, flat(b)));
      expect(s).toBeCloseTo((2 * a * b + SSIM_C1) / (a * a + b * b + SSIM_C1), 10);
    }
  });

  it('Gaussian window: 11 taps, sigma 1.5, sums to 1, symmetric, cv2 values', () => {
    const k = gaussianKernel();
    expect(k).toHaveLength(11);
    expect(k.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 15);
    for (let i = 0; i < 11; i++) expect(k[i]).toBe(k[10 - i]);
    // centre tap = 1 / sum_x exp(-x^2 / 4.5), x = -5..5 (numpy: 0.26601172486179436)
    expect(k[5]).toBeCloseTo(0.26601172486179436, 15);
  });

  it('crop border and size errors', () => {
    const a = img(W, H, flat(1));
    expect(() => calculatePsnr(a, img(W + 1, H, new Uint8Array((W + 1) * H * 3)))).toThrow(/shapes differ/);
    expect(() => calculatePsnr(a, a, { cropBorder: 8 })).toThrow(/crop border 8 leaves nothing/);
    expect(() => calculateSsim(a, a, { cropBorder: 3 })).toThrow(/at least 11x11/);
    expect(() => calculatePsnr(a, a, { cropBorder: -1 })).toThrow(/crop border/);
  });

  it('sequence aggregation: mean over frames per clip, then mean over clips', () => {
    const m = new SequenceMetrics();
    m.add('000', { psnr: 30, ssim: 0.9 });
    m.add('000', { psnr: 32, ssim: 0.8 });
    m.add('011', { psnr: 20, ssim: 0.5 });
    const r = m.result();
    expect(r.clips['000']).toEqual({ psnr: 31, ssim: 0.8500000000000001, frames: 2 });
    expect(r.psnr).toBe(25.5);
    expect(r.ssim).toBeCloseTo(0.675, 15);
    m.add('020', { psnr: Infinity, ssim: 1 });
    expect(m.result().psnr).toBe(Infinity);
  });
});
