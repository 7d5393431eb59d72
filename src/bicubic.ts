// Bicubic ×scale, the "before" of a comparison (the CLI's --compare, the app's preview): Keys' cubic with
// a = -0.5 (MATLAB's imresize, which made PaddleGAN's low-resolution training frames), pixel centres aligned,
// edges clamped, separable in float64. Integer samples are rounded and clipped to their type.
import { frameChannels, outputLike, type Frame } from './frames.js';

/** Keys' cubic convolution kernel, a = -0.5. */
export function keys(x: number): number {
  const t = Math.abs(x);
  if (t <= 1) return 1.5 * t * t * t - 2.5 * t * t + 1;
  if (t < 2) return -0.5 * t * t * t + 2.5 * t * t - 4 * t + 2;
  return 0;
}

/** Taps (indices and weights) of each of `out` samples resampled from `n` by `scale`. */
function taps(n: number, out: number, scale: number): { idx: Int32Array; w: Float64Array } {
  const idx = new Int32Array(out * 4);
  const w = new Float64Array(out * 4);
  for (let o = 0; o < out; o++) {
    const src = (o + 0.5) / scale - 0.5;
    const x0 = Math.floor(src);
    for (let k = 0; k < 4; k++) {
      const x = x0 - 1 + k;
      idx[o * 4 + k] = Math.min(n - 1, Math.max(0, x));
      w[o * 4 + k] = keys(src - x);
    }
  }
  return { idx, w };
}

/**
 * A bicubic ×`scale` of a frame (RGB or RGBA, alpha dropped): RGB of the same sample type — 8-bit and 16-bit
 * rounded and clipped, floats as computed.
 */
export function bicubic(f: Frame, scale = 4): Frame {
  const { width: W, height: H } = f;
  const d = f.data;
  const ch = frameChannels(f, 0);
  const ow = W * scale;
  const oh = H * scale;
  const tx = taps(W, ow, scale);
  const ty = taps(H, oh, scale);
  const rows = new Float64Array(H * ow * 3);
  for (let y = 0; y < H; y++)
    for (let o = 0; o < ow; o++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += tx.w[o * 4 + k] * d[(y * W + tx.idx[o * 4 + k]) * ch + c];
        rows[(y * ow + o) * 3 + c] = s;
      }
  const result = outputLike(f, ow, oh);
  const out = result.data;
  const max = d instanceof Uint16Array ? 65535 : 255;
  const float = d instanceof Float32Array;
  for (let o = 0; o < oh; o++)
    for (let x = 0; x < ow; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += ty.w[o * 4 + k] * rows[(ty.idx[o * 4 + k] * ow + x) * 3 + c];
        out[(o * ow + x) * 3 + c] = float ? s : Math.min(max, Math.max(0, Math.round(s)));
      }
  return result;
}
