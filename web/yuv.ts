// Decoded YUV frames to RGB, with the colour rule of the command line (src/node/colour.ts) instead of the
// browser's: a matrix and range the stream tags are used as tagged; an untagged matrix is BT.601 below 720
// stored lines and BT.709 from 720 up (browsers assume BT.709 for every untagged stream, which shifts the
// colours of SD video); untagged range is limited. Chroma is upsampled like ffmpeg's scaler with the flags
// the command line uses (bicubic B = 0, C = 0.6, chroma sited at the centre, full chroma interpolation),
// then converted in floating point and rounded once, so the network sees what the CLI would give it.

export interface Colour {
  /** The matrix's luma coefficients of R and B. */
  kr: number;
  kb: number;
  fullRange: boolean;
  /** How the matrix was chosen, for display: its name and whether the stream tagged it. */
  name: string;
  tagged: boolean;
}

const MATRICES: Record<string, [number, number, string]> = {
  bt709: [0.2126, 0.0722, 'BT.709'],
  bt470bg: [0.299, 0.114, 'BT.601 (bt470bg)'],
  smpte170m: [0.299, 0.114, 'BT.601'],
  'bt2020-ncl': [0.2627, 0.0593, 'BT.2020'],
  smpte240m: [0.212, 0.087, 'SMPTE 240M'],
  fcc: [0.3, 0.11, 'FCC'],
};

/** The colour of a stream from its tags (VideoColorSpaceInit as the container or bitstream says) and height. */
export function colourOf(tags: { matrix?: string | null; fullRange?: boolean | null }, codedHeight: number): Colour | undefined {
  const tagged = !!tags.matrix;
  const m = tags.matrix ?? (codedHeight < 720 ? 'smpte170m' : 'bt709');
  const c = MATRICES[m];
  if (!c) return undefined; // 'rgb' or something unknown: left to the browser
  return { kr: c[0], kb: c[1], fullRange: tags.fullRange ?? false, name: c[2], tagged };
}

/** Planar or semi-planar YUV as VideoFrame.copyTo lays it out. */
export interface YuvImage {
  format: string;
  width: number;
  height: number;
  data: Uint8Array;
  layout: { offset: number; stride: number }[];
}

/** Formats this converts (others are left to the browser). */
export function convertible(format: string | null): boolean {
  return !!format && (/^I4(20|22|44)A?(P10|P12)?$/.test(format) || format === 'NV12');
}

/** swscale's bicubic (Keys a = −0.6) 2x upsampling weights, chroma sited at the centre of its luma pair. */
function cubic(x: number): number {
  const a = -0.6;
  const t = Math.abs(x);
  if (t <= 1) return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1;
  if (t < 2) return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a;
  return 0;
}

/** Resamples `n` chroma samples to `N` luma positions (sub = N/n subsampling): indices and 4 weights each. */
function taps(n: number, N: number, sub: number): { idx: Int32Array; w: Float32Array } {
  const idx = new Int32Array(N * 4);
  const w = new Float32Array(N * 4);
  for (let o = 0; o < N; o++) {
    const x = (o + 0.5) / sub - 0.5;
    const x0 = Math.floor(x);
    let sum = 0;
    for (let k = 0; k < 4; k++) {
      const xi = x0 - 1 + k;
      idx[o * 4 + k] = Math.min(n - 1, Math.max(0, xi));
      const v = sub === 1 ? (k === 1 ? 1 - (x - x0) : k === 2 ? x - x0 : 0) : cubic(x - xi);
      w[o * 4 + k] = v;
      sum += v;
    }
    for (let k = 0; k < 4; k++) w[o * 4 + k] /= sum;
  }
  return { idx, w };
}

/** One chroma plane (cw x ch samples, read by `at`) upsampled to width x height. */
function upsample(at: (x: number, y: number) => number, cw: number, ch: number, width: number, height: number, sx: number, sy: number): Float32Array {
  const tx = taps(cw, width, sx);
  const rows = new Float32Array(ch * width);
  for (let y = 0; y < ch; y++)
    for (let X = 0; X < width; X++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += tx.w[X * 4 + k] * at(tx.idx[X * 4 + k], y);
      rows[y * width + X] = s;
    }
  if (sy === 1) return rows;
  const ty = taps(ch, height, sy);
  const out = new Float32Array(width * height);
  for (let Y = 0; Y < height; Y++)
    for (let X = 0; X < width; X++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += ty.w[Y * 4 + k] * rows[ty.idx[Y * 4 + k] * width + X];
      out[Y * width + X] = s;
    }
  return out;
}

/** RGBA (alpha opaque) of a YUV image, converted with `c`. */
export function yuvToRgba(img: YuvImage, c: Colour): Uint8ClampedArray {
  const { width, height, data, layout, format } = img;
  const nv12 = format === 'NV12';
  const bits = /P10$/.test(format) ? 10 : /P12$/.test(format) ? 12 : 8;
  const sx = nv12 || /^I42[02]/.test(format) ? 2 : 1;
  const sy = nv12 || /^I420/.test(format) ? 2 : 1;
  const cw = Math.ceil(width / sx);
  const ch = Math.ceil(height / sy);
  const wide = bits > 8;
  const u16 = wide ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength >> 1) : undefined;
  const sample = (plane: number, x: number, y: number, step = 1, lane = 0): number => {
    const { offset, stride } = layout[plane];
    return wide ? u16![(offset + y * stride) / 2 + x * step + lane] : data[offset + y * stride + x * step + lane];
  };
  const U = upsample(nv12 ? (x, y) => sample(1, x, y, 2, 0) : (x, y) => sample(1, x, y), cw, ch, width, height, sx, sy);
  const V = upsample(nv12 ? (x, y) => sample(1, x, y, 2, 1) : (x, y) => sample(2, x, y), cw, ch, width, height, sx, sy);
  const scale = 1 << (bits - 8);
  const max = (1 << bits) - 1;
  const [y0, ys, cs] = c.fullRange ? [0, max, max] : [16 * scale, 219 * scale, 224 * scale];
  const mid = 128 * scale;
  const { kr, kb } = c;
  const crR = 2 * (1 - kr);
  const cbB = 2 * (1 - kb);
  const kg = 1 - kr - kb;
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const Y = (sample(0, x, y) - y0) / ys;
      // The upsampled chroma is clipped to its code range, as the scaler's integer pipeline does.
      const Cb = (Math.min(max, Math.max(0, U[i])) - mid) / cs;
      const Cr = (Math.min(max, Math.max(0, V[i])) - mid) / cs;
      const r = Y + crR * Cr;
      const b = Y + cbB * Cb;
      const g = (Y - kr * r - kb * b) / kg;
      out[i * 4] = Math.round(r * 255); // Uint8ClampedArray clamps
      out[i * 4 + 1] = Math.round(g * 255);
      out[i * 4 + 2] = Math.round(b * 255);
      out[i * 4 + 3] = 255;
    }
  }
  return out;
}
