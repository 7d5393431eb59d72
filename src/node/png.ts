// PNG in and out. Every PNG a user may have becomes 8-bit RGB the way the network reads frames:
//   RGB 8-bit as is; RGBA: alpha dropped (colours kept as stored, not composited — PaddleGAN's read_img keeps
//   channels 0..2 too); grayscale and gray+alpha: the gray value in R, G and B; palette: the palette colour;
//   1/2/4-bit: scaled to 0..255; 16-bit: round(v * 255 / 65535) (PaddleGAN's cv2.imread would feed 16-bit
//   values / 255, i.e. garbage). A tRNS chunk only adds alpha, so it is ignored (pngjs would zero the colour).
import { PNG } from 'pngjs';
import { CliError } from './errors.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace: number;
}

/** The IHDR of a PNG (the first 33 bytes are enough); a clear error for anything that is not a PNG. */
export function readPngHeader(bytes: Uint8Array, name: string): PngHeader {
  if (!isPng(bytes)) throw new CliError(`${name}: not a PNG file`);
  if (bytes.length < 33) throw new CliError(`${name}: corrupt PNG (truncated header)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = dv.getUint32(8);
  const type = String.fromCharCode(bytes[12], bytes[13], bytes[14], bytes[15]);
  if (type !== 'IHDR' || len !== 13) throw new CliError(`${name}: corrupt PNG (no IHDR chunk first)`);
  const h: PngHeader = { width: dv.getUint32(16), height: dv.getUint32(20), bitDepth: bytes[24], colorType: bytes[25], interlace: bytes[28] };
  const depths: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
  if (!(h.colorType in depths) || !depths[h.colorType].includes(h.bitDepth)) {
    throw new CliError(`${name}: corrupt PNG (invalid color type ${h.colorType} / bit depth ${h.bitDepth})`);
  }
  if (h.width === 0 || h.height === 0 || h.width > 1 << 16 || h.height > 1 << 16) {
    throw new CliError(`${name}: unsupported PNG size ${h.width}x${h.height}`);
  }
  return h;
}

/** The PNG without its tRNS chunks (chunk boundaries walked; CRCs of the kept chunks unchanged). */
function withoutTrns(bytes: Uint8Array): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const keep: Array<[number, number]> = [[0, 8]];
  let p = 8;
  let found = false;
  while (p + 12 <= bytes.length) {
    const len = dv.getUint32(p);
    const end = p + 12 + len;
    if (end > bytes.length) break; // truncated: let the decoder report it
    const t = String.fromCharCode(bytes[p + 4], bytes[p + 5], bytes[p + 6], bytes[p + 7]);
    if (t === 'tRNS') found = true;
    else keep.push([p, end]);
    p = end;
    if (t === 'IEND') break;
  }
  if (!found) return bytes;
  if (p < bytes.length) keep.push([p, bytes.length]);
  const out = new Uint8Array(keep.reduce((s, [a, b]) => s + b - a, 0));
  let o = 0;
  for (const [a, b] of keep) {
    out.set(bytes.subarray(a, b), o);
    o += b - a;
  }
  return out;
}

export interface RgbImage {
  width: number;
  height: number;
  /** 8-bit RGB, row-major HWC. */
  data: Uint8Array;
}

/** Decodes any PNG into 8-bit RGB (see the top of this file). */
export function decodePng(bytes: Uint8Array, name: string): RgbImage & { header: PngHeader } {
  const header = readPngHeader(bytes, name);
  let png: { width: number; height: number; data: Buffer };
  try {
    const b = withoutTrns(bytes);
    png = PNG.sync.read(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  } catch (e) {
    throw new CliError(`${name}: corrupt PNG (${(e as Error).message})`);
  }
  const n = png.width * png.height;
  if (png.data.length !== n * 4) throw new CliError(`${name}: corrupt PNG (decoded ${png.data.length} bytes for ${png.width}x${png.height})`);
  const rgb = new Uint8Array(n * 3);
  const d = png.data;
  for (let p = 0; p < n; p++) {
    rgb[p * 3] = d[p * 4];
    rgb[p * 3 + 1] = d[p * 4 + 1];
    rgb[p * 3 + 2] = d[p * 4 + 2];
  }
  return { width: png.width, height: png.height, data: rgb, header };
}

/** 8-bit RGB to PNG bytes (colour type 2; zlib level 6). */
export function encodePng(img: { width: number; height: number; data: Uint8Array | Uint8ClampedArray }): Buffer {
  const png = { width: img.width, height: img.height, data: Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength) };
  return PNG.sync.write(png as PNG, { colorType: 2, inputColorType: 2, inputHasAlpha: false, bitDepth: 8, deflateLevel: 6 });
}
