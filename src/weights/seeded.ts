/**
 * Seeded, language-independent random weights for PP-MSVSR / PP-MSVSR-L test models.
 *
 * Bit-identical twin of `seeded_tensor` in tools/reference/seeded.py (test/seeded.test.ts checks it
 * against test/fixtures/seeded_check.safetensors, written by the Python side). Fixtures whose weights
 * are not stored (the PP-MSVSR-L case) are regenerated from their seed with this module, so any change
 * here must be made in the Python twin too, and the fixtures regenerated.
 *
 * Algorithm (integer arithmetic is uint32, i.e. modulo 2^32):
 * 1. Stream key: h = fnv1a32(utf8(name)) (offset basis 0x811C9DC5, prime 0x01000193, per byte
 *    h = (h ^ byte) * prime); s = fmix32(h ^ fmix32(seed ^ 0x9E3779B9)), where fmix32 is MurmurHash3's
 *    finaliser (x ^= x >>> 16; x *= 0x85EBCA6B; x ^= x >>> 13; x *= 0xC2B2AE35; x ^= x >>> 16).
 *    The seed must be an integer in [0, 2^32).
 * 2. Numbers: mulberry32 started at state s; element i (0-based, C order of `shape`) uses
 *    a = s + (i + 1) * 0x6D2B79F5, t = (a ^ (a >>> 15)) * (a | 1), t = t ^ (t + (t ^ (t >>> 7)) * (t | 61)),
 *    r = t ^ (t >>> 14), u = r / 2^32 (exact in float64).
 * 3. Value: v = (2u - 1) * bound in float64, then Math.fround (Python: np.float32).
 * 4. Bound (depends only on name and shape; fan_in = prod(shape[1:])):
 *    - '...spynet.mean' / '...spynet.std': exactly fround([0.485, 0.456, 0.406]) / fround([0.229, 0.224,
 *      0.225]); no random numbers are drawn.
 *    - names ending in '.bias': 0.02.
 *    - otherwise gain / sqrt(fan_in), first matching rule: SPyNet flow head ('spynet.' and shape[0] == 2)
 *      4.0 for the tiny SPyNet (shape[1] == 8) and 1.0 for the full one; '.conv2.weight' (residual branch) 0.5; 'conv_offset.6.weight' 0.5; 'conv_last.weight'
 *      (conv_last, aux_conv_last, hybrid_conv_last) 1.0; 'aux_fusion.weight', 'aux_block_down1.2.weight',
 *      'aux_block_down2.2.weight' 1.7; everything else 2.4.
 *    The gains keep activations O(1) through the recurrences and make SPyNet flows a few pixels.
 */

const SPYNET_MEAN = [0.485, 0.456, 0.406];
const SPYNET_STD = [0.229, 0.224, 0.225];
export const BIAS_BOUND = 0.02;

export function fnv1a32(name: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(name)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

export function fmix32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

export function streamKey(seed: number, name: string): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
  return fmix32(fnv1a32(name) ^ fmix32((seed ^ 0x9e3779b9) >>> 0));
}

export function weightGain(name: string, shape: readonly number[]): number {
  if (name.includes('spynet.') && shape.length >= 2 && shape[0] === 2) return shape[1] === 8 ? 4.0 : 1.0;
  if (name.endsWith('.conv2.weight')) return 0.5;
  if (name.endsWith('conv_offset.6.weight')) return 0.5;
  if (name.endsWith('conv_last.weight')) return 1.0;
  if (name.endsWith('aux_fusion.weight') || name.endsWith('aux_block_down1.2.weight') || name.endsWith('aux_block_down2.2.weight')) return 1.7;
  return 2.4;
}

export function tensorBound(name: string, shape: readonly number[]): number {
  if (name.endsWith('.bias')) return BIAS_BOUND;
  let fanIn = 1;
  for (let i = 1; i < shape.length; i++) fanIn *= shape[i];
  return weightGain(name, shape) / Math.sqrt(fanIn);
}

/** mulberry32: uniform numbers in [0, 1) from a 32-bit state (also the tests' and the fuzzer's generator). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1) >>> 0;
    t = (t ^ ((t + Math.imul(t ^ (t >>> 7), t | 61)) >>> 0)) >>> 0;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** float32 tensor (C order) reproducible from (seed, name) alone; see the file comment for the algorithm. */
export function seededTensor(seed: number, name: string, shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (name.endsWith('spynet.mean') || name.endsWith('spynet.std')) {
    if (n !== 3) throw new RangeError(`${name}: expected 3 elements, shape [${shape}]`);
    return Float32Array.from(name.endsWith('mean') ? SPYNET_MEAN : SPYNET_STD);
  }
  const s = streamKey(seed, name);
  const bound = tensorBound(name, shape);
  const out = new Float32Array(n);
  // Element i depends only on s + (i+1)*C, so this is the plain sequential mulberry32 stream.
  const next = mulberry32(s);
  for (let i = 0; i < n; i++) out[i] = Math.fround((2 * next() - 1) * bound);
  return out;
}

/** A whole state dict from a [name, shape] manifest (e.g. the `weights_manifest` fixture metadata). */
export function seededStateDict(
  seed: number,
  manifest: ReadonlyArray<readonly [string, readonly number[]]>,
): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of manifest) out.set(name, { shape: [...shape], data: seededTensor(seed, name, shape) });
  return out;
}
