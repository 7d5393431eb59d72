import { beforeAll, describe, expect, it } from 'vitest';
import { toUint8, upscaleFrames, upscaleStream, type Frame, type Model } from '../src/index.js';
import { toNetworkInput, toUint16 } from '../src/frames.js';
import { useGpu } from './helpers.js';
import { loadFixtureModel } from './fixtures.js';
import { rng } from './reference/rng.js';

const suite = useGpu();
let model: Model;
beforeAll(async () => {
  model = await loadFixtureModel();
});

/** Smooth-ish random 8-bit RGB frames (gradients plus noise) so the flows have something to track. */
function frames8(n: number, w: number, h: number, seed: number): Frame[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, t) => {
    const d = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < 3; k++) d[(y * w + x) * 3 + k] = Math.min(255, Math.floor(((x + t) * 9 + y * 5 * (k + 1)) % 200) + Math.floor(r() * 55));
    return { width: w, height: h, data: d };
  });
}

describe('8-bit output rounding (PaddleGAN: clip, x255 in float32, round half to even)', () => {
  it('rounds exact .5 products to even, clips, and maps NaN to 0', () => {
    // Every v whose float32 product v*255 is exactly k + 0.5: numpy rounds to the even neighbour.
    const vs: number[] = [];
    const want: number[] = [];
    for (let k = 0; k < 255; k++) {
      const v = Math.fround((k + 0.5) / 255);
      if (Math.fround(v * 255) === k + 0.5) {
        vs.push(v);
        want.push(k % 2 === 0 ? k : k + 1);
      }
    }
    expect(vs.length).toBeGreaterThan(50); // enough exact halves to make the case meaningful
    vs.push(-0.3, 1.7, 0, 1, Math.fround(0.5 / 255) /* 0.5 -> 0 */, Math.fround(254.5 / 255) /* 254.5 -> 254 */);
    want.push(0, 255, 0, 255, 0, 254);
    expect(Math.fround(Math.fround(0.5 / 255) * 255)).toBe(0.5);
    expect(Math.fround(Math.fround(254.5 / 255) * 255)).toBe(254.5);
    expect(Array.from(toUint8(Float32Array.from(vs)))).toEqual(want);
    expect(Array.from(toUint8(Float32Array.from([NaN])))).toEqual([0]);
  });
});

describe('16-bit frames (video above 8 bits)', () => {
  it('read as v / 65535 in float32; written with the 8-bit rule at 16 bits (clip, x65535 in float32, round half to even)', () => {
    const d = Uint16Array.from([0, 1, 257, 32768, 65534, 65535]);
    const x = toNetworkInput({ width: 2, height: 1, data: d }, 0);
    expect(Array.from(x)).toEqual(Array.from(d, (v) => Math.fround(v / 65535)));
    expect(x[2]).toBe(Math.fround(1 / 255)); // 8-bit 1 widened to 16 bits (x257) is the same network input
    const half = Math.fround(1000.5 / 65535);
    const exactHalf = Math.fround(half * 65535) === 1000.5;
    const vs = Float32Array.from([-0.1, 0, 1, 1.5, Number.NaN, Math.fround(12345 / 65535), half]);
    const want = [0, 0, 65535, 65535, 0, 12345, exactHalf ? 1000 : Math.round(Math.fround(half * 65535))];
    expect(Array.from(toUint16(vs))).toEqual(want);
  });
});

describe('upscaleFrames', () => {
  const W = 20;
  const H = 12;

  it('8-bit in -> 8-bit out = the rounding rule applied to the float output; float out is raw; RGBA = RGB', async () => {
    const f8 = frames8(3, W, H, 1);
    const ff = f8.map((f) => ({ width: W, height: H, data: Float32Array.from(f.data, (v) => v / 255) }));
    const rgba = f8.map((f) => {
      const d = new Uint8ClampedArray(W * H * 4);
      for (let p = 0; p < W * H; p++) {
        d.set(f.data.subarray(p * 3, p * 3 + 3), p * 4);
        d[p * 4 + 3] = 77;
      }
      return { width: W, height: H, data: d, channels: 4 as const };
    });
    const o8 = await upscaleFrames(f8, { model, device: suite.gpu });
    const of = await upscaleFrames(ff, { model, device: suite.gpu });
    const oa = await upscaleFrames(rgba, { model, device: suite.gpu });
    expect(o8).toHaveLength(3);
    for (let t = 0; t < 3; t++) {
      expect(o8[t].width).toBe(4 * W);
      expect(o8[t].height).toBe(4 * H);
      expect(o8[t].data).toBeInstanceOf(Uint8Array);
      expect(of[t].data).toBeInstanceOf(Float32Array);
      expect(oa[t].data).toBeInstanceOf(Uint8ClampedArray);
      expect(Array.from(o8[t].data)).toEqual(Array.from(toUint8(of[t].data as Float32Array)));
      expect(Array.from(oa[t].data)).toEqual(Array.from(o8[t].data));
    }
    // raw network output: random weights overshoot [0, 1] (see tools/reference/README.md) and are not clamped
    const all = of.flatMap((f) => Array.from(f.data));
    expect(Math.min(...all) < 0 || Math.max(...all) > 1).toBe(true);
  });

  it("overlap 0: 23 frames with chunkSize 10 equal three independent runs of 10, 10 and 3 (PaddleGAN's predictor)", async () => {
    const f = frames8(23, W, H, 2);
    const chunked = await upscaleFrames(f, { model, device: suite.gpu, chunkSize: 10, overlap: 0 });
    const parts = [
      ...(await upscaleFrames(f.slice(0, 10), { model, device: suite.gpu, chunkSize: 100, overlap: 0 })),
      ...(await upscaleFrames(f.slice(10, 20), { model, device: suite.gpu, chunkSize: 100, overlap: 0 })),
      ...(await upscaleFrames(f.slice(20), { model, device: suite.gpu, chunkSize: 100, overlap: 0 })),
    ];
    expect(chunked).toHaveLength(23);
    for (let t = 0; t < 23; t++) expect(Array.from(chunked[t].data), `frame ${t}`).toEqual(Array.from(parts[t].data));
    // and chunking matters: one pass over frames 0..12 gives a different frame 9 (so the test can fail)
    const long = await upscaleFrames(f.slice(0, 13), { model, device: suite.gpu, chunkSize: 13, overlap: 0 });
    expect(Array.from(long[9].data)).not.toEqual(Array.from(chunked[9].data));
  });

  it('overlap 2: each chunk is the middle of one pass over its window (windows by hand: [0,14) [8,22) [9,23))', async () => {
    const f = frames8(23, W, H, 6);
    const got = await upscaleFrames(f, { model, device: suite.gpu, chunkSize: 10, overlap: 2 });
    const pass = (a: number, b: number) => upscaleFrames(f.slice(a, b), { model, device: suite.gpu, chunkSize: b - a, overlap: 0 });
    const want = [...(await pass(0, 14)).slice(0, 10), ...(await pass(8, 22)).slice(2, 12), ...(await pass(9, 23)).slice(11, 14)];
    expect(got).toHaveLength(23);
    for (let t = 0; t < 23; t++) expect(Array.from(got[t].data), `frame ${t}`).toEqual(Array.from(want[t].data));
  });

  it('16-bit in -> 16-bit out = the 16-bit rule applied to the float output', async () => {
    const f8 = frames8(2, W, H, 8);
    const f16 = f8.map((f) => ({ width: W, height: H, data: Uint16Array.from(f.data, (v) => v * 257 + (v % 7)) }));
    const ff = f16.map((f) => ({ width: W, height: H, data: Float32Array.from(f.data, (v) => v / 65535) }));
    const o16 = await upscaleFrames(f16, { model, device: suite.gpu, chunkSize: 2 });
    const of = await upscaleFrames(ff, { model, device: suite.gpu, chunkSize: 2 });
    for (let t = 0; t < 2; t++) {
      expect(o16[t].data).toBeInstanceOf(Uint16Array);
      expect(Array.from(o16[t].data)).toEqual(Array.from(toUint16(of[t].data as Float32Array)));
    }
  });

  it('cuts: each scene runs as a video of its own (12 frames, cuts at 5 and 7, chunk 3, overlap 1)', async () => {
    const f = frames8(12, W, H, 9);
    const o = { model, device: suite.gpu, chunkSize: 3, overlap: 1 };
    const got = await upscaleFrames(f, { ...o, cuts: [5, 7] });
    const want = [...(await upscaleFrames(f.slice(0, 5), o)), ...(await upscaleFrames(f.slice(5, 7), o)), ...(await upscaleFrames(f.slice(7), o))];
    expect(got).toHaveLength(12);
    for (let t = 0; t < 12; t++) expect(Array.from(got[t].data), `frame ${t}`).toEqual(Array.from(want[t].data));
    // without the cuts, frame 5 differs (its window reaches across the cut), so the test can fail
    const uncut = await upscaleFrames(f.slice(0, 7), o);
    expect(Array.from(uncut[5].data)).not.toEqual(Array.from(got[5].data));
    // a resumed stream from the chunk start at the second cut gives the same frames
    const resumed: Frame[] = [];
    for await (const x of upscaleStream(f.slice(7), { ...o, cuts: [5, 7], from: 7, sourceStart: 7 })) resumed.push(x);
    expect(resumed).toHaveLength(5);
    for (let t = 0; t < 5; t++) expect(Array.from(resumed[t].data), `frame ${t + 7}`).toEqual(Array.from(got[t + 7].data));
    await expect(upscaleFrames(f, { ...o, cuts: [5, 3] })).rejects.toThrow(/strictly ascending/);
  });

  it('reports progress per chunk', async () => {
    const seen: [number, number][] = [];
    await upscaleFrames(frames8(5, W, H, 3), { model, device: suite.gpu, chunkSize: 2, onProgress: (d, t) => seen.push([d, t]) });
    expect(seen).toEqual([
      [2, 5],
      [4, 5],
      [5, 5],
    ]);
  });

  it('closes the source when the consumer stops early or a frame is bad', async () => {
    const f = frames8(6, W, H, 5);
    let closed = 0;
    async function* source(bad?: number) {
      try {
        for (let i = 0; i < f.length; i++) yield i === bad ? { width: W, height: H, data: new Uint8Array(5) } : f[i];
      } finally {
        closed++;
      }
    }
    for await (const _ of upscaleStream(source(), { model, device: suite.gpu, chunkSize: 2, overlap: 0 })) break;
    expect(closed).toBe(1);
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const o of upscaleStream(source(3), { model, device: suite.gpu, chunkSize: 2, overlap: 0 })) seen.push(o.width);
      })(),
    ).rejects.toThrow(/frame 3: data has 5 values/);
    expect(seen).toHaveLength(2); // the first chunk came out before the bad frame's chunk failed
    expect(closed).toBe(2);
  });

  it('rejects bad input with a message naming the problem', async () => {
    const ok = frames8(2, W, H, 4);
    await expect(upscaleFrames([], { model, device: suite.gpu })).rejects.toThrow(/zero frames/);
    await expect(upscaleFrames([ok[0], { width: W + 1, height: H, data: new Uint8Array((W + 1) * H * 3) }], { model, device: suite.gpu })).rejects.toThrow(
      /frame 1 is 21x12, but frame 0 is 20x12/,
    );
    await expect(upscaleFrames([{ width: W, height: H, data: new Uint8Array(W * H * 3 - 1) }], { model, device: suite.gpu })).rejects.toThrow(
      /frame 0: data has 719 values; a 20x12 frame needs 720 \(RGB\) or 960 \(RGBA\)/,
    );
    await expect(
      upscaleFrames([{ width: W, height: H, data: new Uint8Array(W * H * 2), channels: 2 as unknown as 3 }], { model, device: suite.gpu }),
    ).rejects.toThrow(/frame 0: 2 channels; only RGB \(3\) or RGBA \(4\)/);
    await expect(upscaleFrames(ok, { device: suite.gpu })).rejects.toThrow(/no weights/);
    await expect(upscaleFrames(ok, { model, device: suite.gpu, chunkSize: 0 })).rejects.toThrow(/chunkSize 0/);
  });
});
