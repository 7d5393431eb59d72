// Memory: a long stream holds GPU and host memory flat; frames too large for the adapter's binding limit
// fail before any GPU work with the limit and the size in the message when tiling is off (tiling is
// test/tiling.test.ts's).
import { beforeAll, describe, expect, it } from 'vitest';
import { upscaleFrames, upscaleStream, type Frame, type Model } from '../src/index.js';
import { useGpu } from './helpers.js';
import { loadFixtureModel } from './fixtures.js';
import { rng } from './reference/rng.js';

const suite = useGpu();
let model: Model;
beforeAll(async () => {
  model = await loadFixtureModel();
});

async function* frames(n: number, w: number, h: number): AsyncGenerator<Frame> {
  const r = rng(5);
  for (let t = 0; t < n; t++) {
    const d = new Uint8Array(w * h * 3);
    for (let i = 0; i < d.length; i++) d[i] = (i * 7 + t * 3 + Math.floor(r() * 40)) & 255;
    yield { width: w, height: h, data: d };
  }
}

describe('memory', () => {
  it('100 frames through upscaleStream: one plan, GPU bytes constant, host RSS flat', async () => {
    const gpuBytes: number[] = [];
    const rss: number[] = [];
    let n = 0;
    const before = suite.gpu.liveBytes;
    for await (const f of upscaleStream(frames(100, 32, 24), { model, device: suite.gpu, chunkSize: 10 })) {
      expect(f.width).toBe(128);
      if (++n % 10 === 0) {
        gpuBytes.push(suite.gpu.liveBytes - before);
        global.gc?.();
        rss.push(process.memoryUsage().rss);
      }
    }
    expect(n).toBe(100);
    // the same plan (same buffers) serves all 10 chunks
    expect(new Set(gpuBytes).size, `GPU bytes per chunk: ${gpuBytes}`).toBe(1);
    expect(gpuBytes[0]).toBeGreaterThan(0);
    // released when the stream ends
    expect(suite.gpu.liveBytes).toBe(before);
    // host: after warm-up (chunk 3), growth over the next 7 chunks stays under 64 MB, while the stream moved
    // 100 x 384 x 512 x 3 bytes in and 4 bytes per value through float readback (~60 MB of outputs alone)
    const growth = (rss[9] - rss[2]) / 2 ** 20;
    console.log(`GPU ${(gpuBytes[0] / 2 ** 20).toFixed(1)} MiB per chunk; RSS MiB by chunk: ${rss.map((x) => (x / 2 ** 20).toFixed(0)).join(' ')}`);
    expect(growth).toBeLessThan(64);
  });

  it('with tiling off, frames whose tensors exceed the binding limit fail up front, naming the limit and the size', async () => {
    const limit = suite.gpu.limits.maxStorageBufferBindingSize;
    // the offset heads (108+ channels, 432+ bytes per pixel in f32) exceed the binding at this side
    const side = Math.ceil(Math.sqrt(limit / 432)) + 8;
    const f: Frame = { width: side, height: side, data: new Uint8Array(side * side * 3) };
    const before = suite.gpu.liveBytes;
    await expect(upscaleFrames([f, f], { model, device: suite.gpu, tiling: 'off' })).rejects.toThrow(
      new RegExp(
        `cannot plan ${side}x${side} frames in f32 [^]*needs \\d+ bytes, over this adapter's maxStorageBufferBindingSize of ${limit} bytes[^]*use precision f16 \\(half the memory\\), or allow tiling`,
      ),
    );
    expect(suite.gpu.liveBytes).toBe(before); // nothing allocated
  });
});
