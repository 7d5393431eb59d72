// Frames in and out of the network: the checks on what a caller hands over, the conversion to the network's
// input (HWC RGB float32 in [0, 1]), cropping a tile out of a frame, and pasting a tile's output core into
// the output frame with PaddleGAN's 8-bit rounding when the input was 8-bit (and the same rule at 16 bits
// when it was 16-bit).

/** One video frame: interleaved RGB or RGBA (alpha dropped), row-major HWC. */
export interface Frame {
  width: number;
  height: number;
  /** 8-bit values (0..255), 16-bit values (0..65535: video above 8 bits) or floats (nominally 0..1). */
  data: Uint8Array | Uint8ClampedArray | Uint16Array | Float32Array;
  /** Channels per pixel; inferred from the data length when absent. */
  channels?: 3 | 4;
}

/** Network input for one frame: HWC RGB float32 in [0, 1]. 8-bit goes through float32(v / 255) exactly. */
const BYTE_TO_FLOAT = Float32Array.from({ length: 256 }, (_, v) => v / 255);
/** 16-bit: float32(v / 65535), built on first use. */
let wordTable: Float32Array | undefined;
function wordToFloat(): Float32Array {
  wordTable ??= Float32Array.from({ length: 65536 }, (_, v) => v / 65535);
  return wordTable;
}

export function frameChannels(f: Frame, index: number): 3 | 4 {
  const px = f.width * f.height;
  if (!(Number.isInteger(f.width) && Number.isInteger(f.height) && f.width >= 1 && f.height >= 1)) {
    throw new Error(`frame ${index}: invalid size ${f.width}x${f.height}`);
  }
  if (f.channels !== undefined && f.channels !== 3 && f.channels !== 4) {
    throw new Error(`frame ${index}: ${f.channels} channels; only RGB (3) or RGBA (4) frames are accepted`);
  }
  const c = f.channels ?? (f.data.length === px * 3 ? 3 : f.data.length === px * 4 ? 4 : 0);
  if (c === 0 || f.data.length !== px * c) {
    throw new Error(
      `frame ${index}: data has ${f.data.length} values; a ${f.width}x${f.height} frame needs ${px * 3} (RGB) or ${px * 4} (RGBA)` +
        (f.channels ? ` — with channels ${f.channels}: ${px * f.channels}` : ''),
    );
  }
  return c;
}

export function checkSameSize(f: Frame, first: { width: number; height: number }, index: number): void {
  frameChannels(f, index);
  if (f.width !== first.width || f.height !== first.height) {
    throw new Error(`frame ${index} is ${f.width}x${f.height}, but frame 0 is ${first.width}x${first.height}: all frames must have one size`);
  }
}

export function toNetworkInput(f: Frame, index: number): Float32Array {
  const c = frameChannels(f, index);
  const px = f.width * f.height;
  const out = new Float32Array(px * 3);
  const d = f.data;
  if (d instanceof Float32Array) {
    if (c === 3) out.set(d);
    else for (let p = 0; p < px; p++) for (let k = 0; k < 3; k++) out[p * 3 + k] = d[p * 4 + k];
  } else {
    const table = d instanceof Uint16Array ? wordToFloat() : BYTE_TO_FLOAT;
    for (let p = 0; p < px; p++) for (let k = 0; k < 3; k++) out[p * 3 + k] = table[d[p * c + k]];
  }
  return out;
}

/** PaddleGAN's predictor on one value: clip to [0, 1], x255 in float32, round half to even (NaN -> 0). */
function byteOf(v: number): number {
  return quantize(v, 255);
}

/** Clip to [0, 1], x`max` in float32, round half to even (NaN -> 0): PaddleGAN's rule at 8 or 16 bits. */
function quantize(v: number, max: number): number {
  // biome-ignore lint/complexity/useMathMinMax: NaN must become 0, which Math.min / Math.max would propagate
  const p = Math.fround((v > 1 ? 1 : v > 0 ? v : 0) * max);
  const r = Math.round(p);
  // Math.round rounds halves up; numpy rounds them to even.
  return r - p === 0.5 && r % 2 === 1 ? r - 1 : r;
}

/** The 8-bit rule at 16 bits: clip to [0, 1], x65535 in float32, round half to even. */
export function toUint16(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = quantize(x[i], 65535);
  return out;
}

/** PaddleGAN's predictor: clip to [0, 1], x255 in float32, round half to even, uint8. */
export function toUint8(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = byteOf(x[i]);
  return out;
}

/** Rows [y0, y0 + h) and columns [x0, x0 + w) of an HWC RGB float image `width` pixels wide. */
export function cropRgb(src: Float32Array, width: number, y0: number, x0: number, h: number, w: number): Float32Array {
  if (x0 === 0 && w === width && y0 === 0 && src.length === h * w * 3) return src;
  const out = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) out.set(src.subarray(((y0 + y) * width + x0) * 3, ((y0 + y) * width + x0 + w) * 3), y * w * 3);
  return out;
}

/** An output frame like `like` (8-bit in, 8-bit out; 16-bit in, 16-bit out; floats in, floats out), width x height RGB. */
export function outputLike(like: Frame, width: number, height: number): Frame {
  const n = width * height * 3;
  const d = like.data;
  const data =
    d instanceof Float32Array
      ? new Float32Array(n)
      : d instanceof Uint16Array
        ? new Uint16Array(n)
        : d instanceof Uint8ClampedArray
          ? new Uint8ClampedArray(n)
          : new Uint8Array(n);
  return { width, height, data, channels: 3 };
}

/**
 * Copies rows [y0, y1) and columns [x0, x1) of `tile` (an HWC RGB float image placed at (ty, tx) of the
 * frame, `tw` pixels wide) into `out` at the same frame position, rounding to 8 (16) bits when `out` is
 * 8-bit (16-bit).
 */
export function pasteRgb(out: Frame, tile: Float32Array, ty: number, tx: number, tw: number, y0: number, y1: number, x0: number, x1: number): void {
  const d = out.data;
  const W = out.width;
  const row = (x1 - x0) * 3;
  for (let y = y0; y < y1; y++) {
    const src = ((y - ty) * tw + (x0 - tx)) * 3;
    const dst = (y * W + x0) * 3;
    if (d instanceof Float32Array) d.set(tile.subarray(src, src + row), dst);
    else if (d instanceof Uint16Array) for (let i = 0; i < row; i++) d[dst + i] = quantize(tile[src + i], 65535);
    else for (let i = 0; i < row; i++) d[dst + i] = byteOf(tile[src + i]);
  }
}
