// Shared test plumbing: one GPU per test file, weights packed into a ParamBuffer, and the tolerance check.
import { expect } from 'vitest';
import { getDevice, type Gpu } from '../src/index.js';
import { ParamBuffer } from '../src/graph/params.js';
import { maxAbsDiff, type Arr } from './reference/ops.js';

export async function openGpu(): Promise<Gpu> {
  return getDevice();
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
