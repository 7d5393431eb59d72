// Plumbing of the browser-app test (app.test.ts): a fresh build of the app, media made with ffmpeg, what
// ffprobe says about a file, decoded frames, a zip reader and image comparisons. Independent of web/: the
// expectations come from ffmpeg/ffprobe, pngjs, Node's zlib and the library run in Node.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { ROOT } from '../browser/run.mjs';

export { ROOT };

const exec = (cmd: string, args: string[]) => execFileSync(cmd, args, { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });

export function hasCommand(cmd: string): boolean {
  try {
    exec(cmd, ['-version']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Compiles the library into `dir`/pkg (tsc, as `npm run build` does) beside a copy of package.json, then
 * bundles the app against that package with tools/build-web.mjs: a stale dist/ cannot pass the test.
 */
export async function freshWebBuild(dir: string): Promise<string> {
  const pkg = path.join(dir, 'pkg');
  mkdirSync(pkg, { recursive: true });
  copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  execFileSync(
    process.execPath,
    [tsc, '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', path.join(pkg, 'dist'), '--declaration', 'false', '--sourceMap', 'false'],
    { cwd: ROOT, stdio: 'pipe' },
  );
  // @ts-expect-error plain ESM build script without types
  const { buildWeb } = await import('../../tools/build-web.mjs');
  const out = path.join(dir, 'web');
  const r = await buildWeb({ outdir: out, packageRoot: pkg });
  if (!String(r.library).endsWith('pkg/dist/src/browser.js')) {
    throw new Error(`the app bundled ${r.library}, not the fresh build`);
  }
  return out;
}

/** `frames` frames of 48x32 (testsrc2, 25 fps) in H.264 (untagged colour) with an AAC track as long. */
export function makeClip(file: string, frames = 6): void {
  exec('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=48x32:rate=25',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    String(frames / 25),
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    file,
  ]);
}

/** The same picture in MPEG-4 Part 2 (ffmpeg's own encoder), which browsers do not decode. */
export function makeUndecodable(file: string): void {
  exec('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=48x32:rate=25', '-t', '0.24', '-c:v', 'mpeg4', file]);
}

export interface Rgb {
  width: number;
  height: number;
  data: Uint8Array;
}

/** The scaler flags of the command line's RGB conversion (src/node/colour.ts). */
const SWS_FLAGS = 'bicubic+accurate_rnd+full_chroma_int+full_chroma_inp';
const SWS_MATRIX: Record<string, string> = { bt709: 'bt709', smpte170m: 'smpte170m', bt470bg: 'bt470', bt2020nc: 'bt2020' };

/**
 * Every frame of a video as RGB, decoded by ffmpeg as the command line decodes it: the matrix and range the
 * stream tags, else BT.601 below 720 lines (BT.709 from 720) and limited range.
 */
export function decodeRgb(file: string, width: number, height: number): Rgb[] {
  const tags = JSON.parse(
    exec('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=color_space,color_range,height', '-of', 'json', file]).toString(),
  ).streams[0];
  const matrix = SWS_MATRIX[tags.color_space] ?? (tags.height < 720 ? 'smpte170m' : 'bt709');
  const range = tags.color_range === 'pc' ? 'pc' : 'tv';
  const vf = `scale=in_color_matrix=${matrix}:in_range=${range}:flags=${SWS_FLAGS},format=rgb24`;
  const buf = exec('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v:0', '-vf', vf, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
  const n = width * height * 3;
  const out: Rgb[] = [];
  for (let o = 0; o + n <= buf.length; o += n) out.push({ width, height, data: new Uint8Array(buf.subarray(o, o + n)) });
  return out;
}

export function writePng(file: string, f: Rgb): void {
  const png = new PNG({ width: f.width, height: f.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(f.data);
  writeFileSync(file, PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false }));
}

export function readPng(bytes: Uint8Array): Rgb {
  const p = PNG.sync.read(Buffer.from(bytes));
  const data = new Uint8Array(p.width * p.height * 3);
  for (let i = 0; i < p.width * p.height; i++) for (let k = 0; k < 3; k++) data[i * 3 + k] = p.data[i * 4 + k];
  return { width: p.width, height: p.height, data };
}

export interface Stream {
  codec_name: string;
  codec_type: string;
  width?: number;
  height?: number;
  nb_frames?: string;
  time_base: string;
}

export function streams(file: string): Stream[] {
  const j = JSON.parse(
    exec('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,codec_type,width,height,nb_frames,time_base', '-of', 'json', file]).toString(),
  );
  return j.streams;
}

export interface Packet {
  pts: number;
  pts_time: string;
  duration?: number;
  size: string;
  data_hash?: string;
}

/** Packets of the first stream of a type, with an MD5 of each packet's bytes. */
export function packets(file: string, type: 'v' | 'a'): Packet[] {
  const j = JSON.parse(
    exec('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      `${type}:0`,
      '-show_packets',
      '-show_data_hash',
      'MD5',
      '-show_entries',
      'packet=pts,pts_time,duration,size,data_hash',
      '-of',
      'json',
      file,
    ]).toString(),
  );
  return j.packets;
}

/** The entries of a zip file (stored or deflated), each checked against its CRC-32 with Node's zlib. */
export function readZip(bytes: Uint8Array): Map<string, Uint8Array> {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = bytes.length - 22;
  while (end >= 0 && v.getUint32(end, true) !== 0x06054b50) end--;
  if (end < 0) throw new Error('zip: no end of central directory');
  const count = v.getUint16(end + 10, true);
  let p = v.getUint32(end + 16, true);
  const out = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    if (v.getUint32(p, true) !== 0x02014b50) throw new Error(`zip: bad central directory entry ${i}`);
    const method = v.getUint16(p + 10, true);
    const crc = v.getUint32(p + 16, true);
    const csize = v.getUint32(p + 20, true);
    const nameLen = v.getUint16(p + 28, true);
    const extra = v.getUint16(p + 30, true);
    const comment = v.getUint16(p + 32, true);
    const local = v.getUint32(p + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    if (v.getUint32(local, true) !== 0x04034b50) throw new Error(`zip: bad local header for ${name}`);
    const start = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
    const raw = bytes.subarray(start, start + csize);
    const data = method === 0 ? raw : method === 8 ? new Uint8Array(inflateRawSync(raw)) : undefined;
    if (!data) throw new Error(`zip: ${name}: method ${method}`);
    if (crc32(data) >>> 0 !== crc) throw new Error(`zip: ${name}: CRC mismatch`);
    out.set(name, data);
    p += 46 + nameLen + extra + comment;
  }
  return out;
}

export interface Diff {
  max: number;
  mean: number;
  psnr: number;
}

/** Differences of two 8-bit RGB images (a may be RGBA: its alpha is skipped). */
export function diff(a: Uint8Array | Uint8ClampedArray, aChannels: 3 | 4, b: Uint8Array): Diff {
  const n = b.length / 3;
  if (a.length !== n * aChannels) throw new Error(`diff: ${a.length} values vs ${b.length}`);
  let max = 0;
  let sum = 0;
  let sq = 0;
  for (let p = 0; p < n; p++) {
    for (let k = 0; k < 3; k++) {
      const d = Math.abs(a[p * aChannels + k] - b[p * 3 + k]);
      max = Math.max(max, d);
      sum += d;
      sq += d * d;
    }
  }
  const mse = sq / (n * 3);
  return { max, mean: sum / (n * 3), psnr: mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse) };
}

export interface LumaChroma {
  /** PSNR of BT.709 luma at full resolution. */
  luma: number;
  /** PSNR of the two BT.709 colour differences averaged over 2x2 pixels. */
  chroma: number;
}

/**
 * Differences as a 4:2:0 codec can keep them: luma at full resolution, colour at half resolution. The
 * colour of single pixels is what 4:2:0 discards by design, so comparing RGB pixel for pixel would measure
 * the chroma subsampling rather than the frames (a noisy output, as random weights give, loses 15 dB to it).
 */
export function lumaChroma(a: Uint8Array | Uint8ClampedArray, aChannels: 3 | 4, b: Uint8Array, width: number, height: number): LumaChroma {
  const px = (d: Uint8Array | Uint8ClampedArray, c: number, i: number) => {
    const r = d[i * c];
    const g = d[i * c + 1];
    const bl = d[i * c + 2];
    const y = 0.2126 * r + 0.7152 * g + 0.0722 * bl;
    return [y, (bl - y) / 1.8556, (r - y) / 1.5748];
  };
  let ly = 0;
  let lc = 0;
  for (let i = 0; i < width * height; i++) ly += (px(a, aChannels, i)[0] - px(b, 3, i)[0]) ** 2;
  for (let y = 0; y + 1 < height; y += 2) {
    for (let x = 0; x + 1 < width; x += 2) {
      const sa = [0, 0];
      const sb = [0, 0];
      for (const i of [y * width + x, y * width + x + 1, (y + 1) * width + x, (y + 1) * width + x + 1]) {
        const pa = px(a, aChannels, i);
        const pb = px(b, 3, i);
        sa[0] += pa[1] / 4;
        sa[1] += pa[2] / 4;
        sb[0] += pb[1] / 4;
        sb[1] += pb[2] / 4;
      }
      lc += (sa[0] - sb[0]) ** 2 + (sa[1] - sb[1]) ** 2;
    }
  }
  const psnr = (se: number, n: number) => (se === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / (se / n)));
  return { luma: psnr(ly, width * height), chroma: psnr(lc, 2 * Math.floor(width / 2) * Math.floor(height / 2)) };
}

export const readBytes = (file: string) => new Uint8Array(readFileSync(file));
