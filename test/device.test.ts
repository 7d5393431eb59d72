// The device layer: errors surface as exceptions (never silent zeros) and Node exits once the device is
// released.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GpuError, Tensor } from '../src/index.js';
import { conv2d } from '../src/kernels/conv2d.js';
import { runDispatches } from '../src/kernels/kernel.js';
import { convWeights, openGpu } from './helpers.js';
import { ensureBuilt } from './cli/helpers.js';

describe('device errors', () => {
  it("a validation error in submitted work is thrown at the next sync, with WebGPU's message", async () => {
    const gpu = await openGpu();
    try {
      const shape = { sources: [4], cout: 4, k: 3 };
      const { weights, wOff, bOff } = convWeights(gpu, new Float32Array(4 * 4 * 9), new Float32Array(4), shape);
      const x = Tensor.alloc(gpu, 8, 8, 4);
      const out = Tensor.alloc(gpu, 8, 8, 4);
      const d = await conv2d(gpu, shape, { weights, wOff, bOff, sources: [x], out });
      // the same buffer as read-only source and writable output in one dispatch is invalid WebGPU
      const bad = await conv2d(gpu, shape, { weights, wOff, bOff, sources: [x], out: new Tensor(gpu, 8, 8, 4, 'f32', x.buffer) });
      await expect(runDispatches(gpu, [d, bad])).rejects.toThrow(GpuError);
      await expect(runDispatches(gpu, [d, bad])).rejects.toThrow(/writable usage and another usage/);
      // and the device keeps working for valid work afterwards
      await runDispatches(gpu, [d]);
    } finally {
      gpu.destroy();
    }
  });

  it('a buffer over maxBufferSize is refused with the sizes', async () => {
    const gpu = await openGpu();
    try {
      const max = gpu.limits.maxBufferSize;
      expect(() => gpu.createBuffer('huge', max + 4, GPUBufferUsage.STORAGE)).toThrow(
        new RegExp(`${max + 4} bytes exceeds .*maxBufferSize \\(${max} bytes\\)`),
      );
    } finally {
      gpu.destroy();
    }
  });

  it('work after device loss throws instead of reading back zeros', async () => {
    const gpu = await openGpu();
    const t = Tensor.upload(gpu, new Float32Array(16).fill(1), 2, 2, 4);
    gpu.device.destroy(); // as a driver reset would
    await new Promise((r) => setTimeout(r, 50));
    await expect(t.download()).rejects.toThrow(GpuError);
    gpu.destroy();
  });
});

describe('process lifetime', () => {
  it('Node exits on its own after the device is released', () => {
    ensureBuilt();
    const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `
      const { getDevice, Tensor } = await import(${JSON.stringify(entry)});
      const gpu = await getDevice();
      const t = Tensor.upload(gpu, new Float32Array([1, 2, 3, 4]), 1, 1, 4);
      console.log((await t.download()).join(','));
      gpu.destroy();`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.signal, 'killed by the timeout: the process did not exit').toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('1,2,3,4');
  });
});
