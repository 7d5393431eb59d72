// PSNR and SSIM exactly as PaddleGAN's ppgan/metrics/psnr_ssim.py computes them (the REDS4 / Vid4 numbers
// of its tables). Portable: no Node imports.
//
// What psnr_ssim.py does, and what this file does the same way:
//  * both images are uint8 HWC RGB (tensor2img: clip, x255, round), cast to float32: integers, exact;
//  * crop_border c: img[c:-c, c:-c] (nothing when c = 0);
//  * test_y_channel: to_y_channel = rgb2ycbcr(img / 255, y_only) * 255, i.e. per pixel, in this order,
//      v' = float32(float32(v / 255) * 255)            (float32, as numpy does it; v' = v for most v)
//      Y  = ((65.481 R' + 128.553 G' + 24.966 B') / 255 + 16) / 255 * 255   (float64, not rounded);
//  * PSNR = 20 log10(255 / sqrt(MSE)), MSE the mean over every value (all 3 channels, or Y); MSE = 0 gives
//    +Infinity (psnr_ssim.py returns float('inf'));
//  * SSIM per channel on float64: 11x11 Gaussian window, sigma 1.5 (cv2.getGaussianKernel(11, 1.5), outer
//    product), cv2.filter2D then [5:-5, 5:-5] (the "valid" region: no border pixels enter), C1 = (0.01*255)^2,
//    C2 = (0.03*255)^2, the map's mean; the channel means are averaged;
//  * a sequence (is_seq) is the mean over its frames; the dataset value is the mean over sequences.
//
// Where the numbers can differ from PaddleGAN's in the last digits: psnr_ssim.py sums the RGB squared error
// in float32 (numpy pairwise summation) and takes sqrt/log10 of a float32; this file sums exactly (float64,
// integer squares) — the difference is below 1e-5 dB. cv2.filter2D filters an 11x11 float64 kernel through a
// DFT, so its SSIM carries ~1e-12 of rounding that the direct sums here do not.

/** An image for the metrics: HWC, `channels` values per pixel (uint8 values, or float Y). */
export interface MetricImage {
  width: number;
  height: number;
  channels: number;
  data: ArrayLike<number>;
}

export interface MetricOptions {
  /** Pixels dropped at each edge before measuring (PaddleGAN: crop_border; REDS4 and Vid4 configs: 0). */
  cropBorder?: number;
  /** Measure the BT.601 luma (test_y_channel: true — the Vid4 / Vimeo-90K / UDM10 convention). */
  yChannel?: boolean;
}

export const SSIM_C1 = (0.01 * 255) ** 2;
export const SSIM_C2 = (0.03 * 255) ** 2;

/** cv2.getGaussianKernel(11, 1.5): exp(-x^2 / (2 sigma^2)) for x = -5..5, normalised to sum 1. */
export function gaussianKernel(size = 11, sigma = 1.5): Float64Array {
  const k = new Float64Array(size);
  const scale = -0.5 / (sigma * sigma);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = i - (size - 1) * 0.5;
    k[i] = Math.exp(scale * x * x);
    sum += k[i];
  }
  const inv = 1 / sum;
  for (let i = 0; i < size; i++) k[i] *= inv;
  return k;
}

const WINDOW = gaussianKernel();

function check(a: MetricImage, b: MetricImage): void {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
    throw new Error(`image shapes differ: ${a.height}x${a.width}x${a.channels} vs ${b.height}x${b.width}x${b.channels}`);
  }
  if (a.data.length !== a.width * a.height * a.channels || b.data.length !== b.width * b.height * b.channels) {
    throw new Error(`image data length does not match ${a.height}x${a.width}x${a.channels}`);
  }
}

/** img[c:-c, c:-c, :] (a copy as float64; the input unchanged when c = 0 but still copied). */
export function cropBorder(img: MetricImage, c: number): { width: number; height: number; channels: number; data: Float64Array } {
  if (!(Number.isInteger(c) && c >= 0)) throw new Error(`crop border ${c}: must be an integer >= 0`);
  const w = img.width - 2 * c;
  const h = img.height - 2 * c;
  if (w <= 0 || h <= 0) throw new Error(`crop border ${c} leaves nothing of a ${img.width}x${img.height} image`);
  const ch = img.channels;
  const out = new Float64Array(w * h * ch);
  for (let y = 0; y < h; y++) {
    const src = ((y + c) * img.width + c) * ch;
    for (let i = 0; i < w * ch; i++) out[y * w * ch + i] = img.data[src + i];
  }
  return { width: w, height: h, channels: ch, data: out };
}

/** float32(float32(v / 255) * 255) for every uint8 v: what numpy's to_y_channel feeds the matrix. */
const REROUND = Float64Array.from({ length: 256 }, (_, v) => Math.fround(Math.fround(v / 255) * 255));

/**
 * PaddleGAN's to_y_channel on an RGB image of uint8 values (BT.601 luma on the 16–235 scale, float64, not
 * rounded). Values that are not integers in 0..255 go through the same formula without the float32 step.
 */
export function toYChannel(img: MetricImage): { width: number; height: number; channels: 1; data: Float64Array } {
  if (img.channels !== 3) throw new Error(`Y channel needs an RGB image, got ${img.channels} channels`);
  const n = img.width * img.height;
  const out = new Float64Array(n);
  const d = img.data;
  const f = (v: number) => (Number.isInteger(v) && v >= 0 && v <= 255 ? REROUND[v] : Math.fround(Math.fround(v / 255) * 255));
  for (let p = 0; p < n; p++) {
    const dot = f(d[p * 3]) * 65.481 + f(d[p * 3 + 1]) * 128.553 + f(d[p * 3 + 2]) * 24.966;
    out[p] = ((dot / 255 + 16) / 255) * 255;
  }
  return { width: img.width, height: img.height, channels: 1, data: out };
}

function prepare(img: MetricImage, o: MetricOptions): { width: number; height: number; channels: number; data: Float64Array } {
  const c = cropBorder(img, o.cropBorder ?? 0);
  return o.yChannel ? toYChannel(c) : c;
}

/** calculate_psnr(img1, img2, crop_border, 'HWC', test_y_channel); +Infinity for identical images. */
export function calculatePsnr(a: MetricImage, b: MetricImage, o: MetricOptions = {}): number {
  check(a, b);
  const x = prepare(a, o).data;
  const y = prepare(b, o).data;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - y[i];
    sum += d * d;
  }
  const mse = sum / x.length;
  if (mse === 0) return Infinity;
  return 20 * Math.log10(255 / Math.sqrt(mse));
}

/** The valid-region Gaussian filter of one channel (cv2.filter2D(img, -1, window)[5:-5, 5:-5]), separably. */
function filterValid(src: Float64Array, w: number, h: number): Float64Array {
  const K = WINDOW.length;
  const ow = w - K + 1;
  const oh = h - K + 1;
  const rows = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      const base = y * w + x;
      for (let k = 0; k < K; k++) s += WINDOW[k] * src[base + k];
      rows[y * ow + x] = s;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += WINDOW[k] * rows[(y + k) * ow + x];
      out[y * ow + x] = s;
    }
  }
  return out;
}

/** _ssim(img1, img2) of psnr_ssim.py for one channel (float64 planes of w x h). */
export function ssimChannel(a: Float64Array, b: Float64Array, w: number, h: number): number {
  const K = WINDOW.length;
  if (w < K || h < K) throw new Error(`SSIM needs at least ${K}x${K} pixels (after the crop border), got ${w}x${h}`);
  const n = w * h;
  const aa = new Float64Array(n);
  const bb = new Float64Array(n);
  const ab = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    aa[i] = a[i] * a[i];
    bb[i] = b[i] * b[i];
    ab[i] = a[i] * b[i];
  }
  const mu1 = filterValid(a, w, h);
  const mu2 = filterValid(b, w, h);
  const s11 = filterValid(aa, w, h);
  const s22 = filterValid(bb, w, h);
  const s12 = filterValid(ab, w, h);
  let sum = 0;
  for (let i = 0; i < mu1.length; i++) {
    const m1 = mu1[i];
    const m2 = mu2[i];
    const m1sq = m1 * m1;
    const m2sq = m2 * m2;
    const m12 = m1 * m2;
    const sig1 = s11[i] - m1sq;
    const sig2 = s22[i] - m2sq;
    const sig12 = s12[i] - m12;
    sum += ((2 * m12 + SSIM_C1) * (2 * sig12 + SSIM_C2)) / ((m1sq + m2sq + SSIM_C1) * (sig1 + sig2 + SSIM_C2));
  }
  return sum / mu1.length;
}

/** calculate_ssim(img1, img2, crop_border, 'HWC', test_y_channel): the mean of the per-channel SSIMs. */
export function calculateSsim(a: MetricImage, b: MetricImage, o: MetricOptions = {}): number {
  check(a, b);
  const x = prepare(a, o);
  const y = prepare(b, o);
  const { width: w, height: h, channels: ch } = x;
  const pa = new Float64Array(w * h);
  const pb = new Float64Array(w * h);
  let total = 0;
  for (let c = 0; c < ch; c++) {
    for (let p = 0; p < w * h; p++) {
      pa[p] = x.data[p * ch + c];
      pb[p] = y.data[p * ch + c];
    }
    total += ssimChannel(pa, pb, w, h);
  }
  return total / ch;
}

export interface FrameScore {
  psnr: number;
  ssim: number;
}

/** Both metrics of one frame pair. */
export function scoreFrame(sr: MetricImage, gt: MetricImage, o: MetricOptions = {}): FrameScore {
  return { psnr: calculatePsnr(sr, gt, o), ssim: calculateSsim(sr, gt, o) };
}

/** np.mean: Infinity if any value is +Infinity (identical frames), NaN for an empty list. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/**
 * PaddleGAN's is_seq aggregation: each clip's value is the mean over its frames; the result is the mean over
 * clips (not over all frames — clips of different lengths weigh the same).
 */
export class SequenceMetrics {
  readonly clips = new Map<string, { psnr: number[]; ssim: number[] }>();

  add(clip: string, s: FrameScore): void {
    let c = this.clips.get(clip);
    if (!c) {
      c = { psnr: [], ssim: [] };
      this.clips.set(clip, c);
    }
    c.psnr.push(s.psnr);
    c.ssim.push(s.ssim);
  }

  clip(name: string): { psnr: number; ssim: number; frames: number } {
    const c = this.clips.get(name);
    if (!c) throw new Error(`no clip ${name}`);
    return { psnr: mean(c.psnr), ssim: mean(c.ssim), frames: c.psnr.length };
  }

  result(): { psnr: number; ssim: number; clips: Record<string, { psnr: number; ssim: number; frames: number }> } {
    const clips: Record<string, { psnr: number; ssim: number; frames: number }> = {};
    for (const k of this.clips.keys()) clips[k] = this.clip(k);
    const v = Object.values(clips);
    return { psnr: mean(v.map((c) => c.psnr)), ssim: mean(v.map((c) => c.ssim)), clips };
  }
}
