// Seeded uniform numbers for test data (mulberry32): reproducible inputs without fixtures.
export { mulberry32 as rng } from '../../src/weights/seeded.js';
import { mulberry32 as rng } from '../../src/weights/seeded.js';

/** n uniform values in [lo, hi). */
export function uniform(seed: number, n: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}
