// Shared test plumbing: one GPU per test file, weights packed into a ParamBuffer, and the tolerance check.
import { afterAll, beforeAll, expect } from 'vitest';
import { type DeviceOptions, getDevice, type Gpu, type Tensor } from '../src/index.js';
import { ParamBuffer } from '../src/gpu/params.js';
import { packConvWeights, type Conv2dShape } from '../src/kernels/conv2d.js';
import { maxAbsDiff, type Arr } from './reference/ops.js';

export async function openGpu(opts?: DeviceOptions): Promise<Gpu> {
  return getDevice(opts);
}

/**
 * One device for a test file, opened before its tests and released after; `errors` collects measured
 * errors that are printed under `report` at the end.
 */
export function useGpu(report?: string, opts?: DeviceOptions): { readonly gpu: Gpu; errors: string[] } {
  let gpu: Gpu | undefined;
  const errors: string[] = [];
  beforeAll(async () => {
    gpu = await openGpu(opts);
  });
  afterAll(() => {
    gpu?.destroy();
    if (report && errors.length) console.log(`${report}:\n  ${errors.join('\n  ')}`);
  });
  return {
    get gpu() {
      if (!gpu) throw new Error('useGpu: the device opens in beforeAll');
      return gpu;
    },
    errors,
  };
}

export { ParamBuffer };

/**
 * Asserts max |got - want| <= rel * max(|want|, 1e-3). f32 accumulation over a few hundred terms of O(1)
 * values loses ~1e-6 relative; 1e-4 relative to the output's scale leaves room for fma reassociation while
 * any indexing or semantic mistake shows up as O(1) relative error.
 */
export function expectClose(got: Arr, want: Arr, rel = 1e-4, what = ''): number {
  const { err, scale } = maxAbsDiff(got, want);
  const tol = rel * Math.max(scale, 1e-3);
  expect(err, `${what}: max abs error ${err} > ${tol} (scale ${scale})`).toBeLessThanOrEqual(tol);
  return err / Math.max(scale, 1e-3);
}

/**
 * Fills a tensor's whole buffer range, padding lanes included, with NaN (0x7e00 in f16), so an element
 * the kernel fails to write cannot pass as a plausible value or as a zero padding lane.
 */
export function poison(t: Tensor): void {
  const n = t.h * t.w * t.c4 * 4;
  const data = t.dtype === 'f32' ? new Float32Array(n).fill(NaN) : new Uint16Array(n).fill(0x7e00);
  t.gpu.device.queue.writeBuffer(t.buffer, t.offset, data);
}

/** Packs and uploads one conv's weights: the bindings conv2d / deform_conv take. */
export function convWeights(
  gpu: Gpu,
  weight: Float32Array,
  bias: Float32Array | undefined,
  shape: Conv2dShape,
): { weights: GPUBuffer; wOff: number; bOff: number } {
  const params = new ParamBuffer();
  const p = packConvWeights(weight, bias, shape);
  const wOff = params.add(p.w);
  const bOff = params.add(p.b);
  return { weights: params.upload(gpu), wOff, bOff };
}

/** PSNR in dB of two images with values in [0, 1]. */
export function psnr(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return 10 * Math.log10(1 / (s / a.length));
}
