// The kernel harness checks each specialization's workgroup memory and invocations against the device's
// limits and falls back to a smaller tiling, so the network runs on a device with WebGPU's default limits
// (16 KiB of workgroup memory: what a browser page gets unless it asks for more).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDevice, KernelLimitError, Tensor, type Gpu } from '../src/index.js';
import { conv2d, conv2dResources, conv2dSpec, conv2dSpecs, type Conv2dShape } from '../src/kernels/conv2d.js';
import { deformConvSpecs } from '../src/kernels/deform_conv.js';
import { runDispatches } from '../src/kernels/kernel.js';
import { MsvsrRunner } from '../src/graph/msvsr-runner.js';
import * as ref from './reference/ops.js';
import { uniform } from './reference/rng.js';
import { chwToHwc, loadGolden } from './fixtures.js';
import { convWeights, expectClose, poison } from './helpers.js';

const WEBGPU_DEFAULT_WORKGROUP_STORAGE = 16384;
const shuffle: Conv2dShape = { sources: [32], cout: 128, k: 3, shuffle: true, act: 'lrelu' };

let small: Gpu;
beforeAll(async () => {
  small = await getDevice({ limits: 'default' });
});
afterAll(() => small?.destroy());

describe('workgroup limits', () => {
  it('reflects the workgroup memory of a specialization: PixelShufflePack preferred tiling = 21,888 bytes', () => {
    const s = conv2dSpecs(shuffle)[0];
    // By hand from conv2d.wgsl: tileIn = TYIN·TXIN·CK vec4s, tileW = TO·KK·CK·4 vec4s, 16 bytes each.
    const [TX, TY, TO] = [s.TPX * s.PX, s.TPY, s.TPO * s.OVN];
    const tileIn = (TY - 1 + 3) * (TX - 1 + 3) * s.CK;
    const tileW = TO * 9 * s.CK * 4;
    expect((tileIn + tileW) * 16).toBe(21888);
    expect(conv2dResources(s)).toEqual({ storageBytes: 21888, size: [64, 1, 1], invocations: 64 });
  });

  it('a device with default limits gets a tiling that fits, and the conv is still right', async () => {
    expect(small.limits.maxComputeWorkgroupStorageSize).toBe(WEBGPU_DEFAULT_WORKGROUP_STORAGE);
    const spec = conv2dSpec(small, shuffle);
    expect(conv2dResources(spec).storageBytes).toBeLessThanOrEqual(WEBGPU_DEFAULT_WORKGROUP_STORAGE);
    const [h, w] = [13, 17];
    const weight = uniform(41, 128 * 32 * 9, -0.06, 0.06);
    const bias = uniform(42, 128, -0.5, 0.5);
    const x = uniform(43, h * w * 32);
    const { weights, wOff, bOff } = convWeights(small, weight, bias, shuffle);
    const src = Tensor.upload(small, x, h, w, 32);
    const out = Tensor.alloc(small, 2 * h, 2 * w, 32);
    poison(out);
    await runDispatches(small, [await conv2d(small, shuffle, { weights, wOff, bOff, sources: [src], out })]);
    const want = ref.pixelShuffle(ref.lrelu(ref.conv2d(ref.img(h, w, 32, x), weight, bias, 128, 3)));
    expectClose(await out.download(), want.d, 1e-4, 'shuffle conv on a 16 KiB device');
    for (const t of [src, out]) t.destroy();
    weights.destroy();
  });

  it("no fitting tiling: a KernelLimitError with every candidate's numbers", () => {
    const tiny = {
      limits: {
        maxComputeWorkgroupStorageSize: 1024,
        maxComputeInvocationsPerWorkgroup: 256,
        maxComputeWorkgroupSizeX: 256,
        maxComputeWorkgroupSizeY: 256,
        maxComputeWorkgroupSizeZ: 64,
      },
    } as unknown as Gpu;
    const n = conv2dSpecs(shuffle).length;
    let err: unknown;
    try {
      conv2dSpec(tiny, shuffle);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelLimitError);
    const lines = (err as Error).message.split('\n').slice(1);
    expect(lines).toHaveLength(n);
    expect(lines[0]).toMatch(/21888 bytes of workgroup memory \(limit 1024\)/);
  });

  it('deform_conv has a fallback within the default limits for both models', () => {
    for (const [cin, G] of [
      [32, 4],
      [32, 8],
      [64, 8],
    ]) {
      const specs = deformConvSpecs({ cin, cout: cin, groups: G });
      const last = specs[specs.length - 1];
      expect(specs.every((s) => G % s.GC === 0)).toBe(true);
      expect(specs.length).toBeGreaterThan(1);
      expect(last.GC).toBe(1);
    }
  });
});

describe('the whole network on a device with WebGPU default limits', () => {
  it('t2_13x37 matches the PyTorch reference (1e-3, as with adapter limits)', async () => {
    const g = loadGolden('t2_13x37');
    const runner = await MsvsrRunner.create(small, g.cfg, g.weights, g.T, g.H, g.W, 'f32');
    try {
      const outs = await runner.run(g.frames);
      const refOut = g.tensors.get('out')!;
      outs.forEach((o, t) => {
        const { err } = ref.maxAbsDiff(o, chwToHwc(refOut.data, 3, 4 * g.H, 4 * g.W, t));
        expect(err, `out[${t}]`).toBeLessThanOrEqual(1e-3);
      });
    } finally {
      runner.destroy();
    }
  });
});
