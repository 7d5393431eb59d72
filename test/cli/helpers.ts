// Shared by the CLI suites: a fresh build of dist/ (the tests run `node dist/tools/cli.js`), running the CLI,
// scratch folders, ffmpeg helpers and a PNG writer for every PNG colour type and bit depth.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'dist', 'tools', 'cli.js');
export const WEIGHTS = path.join(ROOT, 'test', 'fixtures', 'msvsr_random.pdparams');

function newestMtime(dir: string, exts: RegExp): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestMtime(p, exts));
    else if (exts.test(e.name)) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Compiles dist/ when any source is newer than dist/tools/cli.js (vitest.config.ts has already bundled the
 * WGSL). Cheap when dist is fresh: one walk over src/ and tools/.
 */
export function ensureBuilt(): void {
  const src = Math.max(
    newestMtime(path.join(ROOT, 'src'), /\.(ts|wgsl)$/),
    newestMtime(path.join(ROOT, 'tools'), /\.ts$/),
    fs.statSync(path.join(ROOT, 'index.ts')).mtimeMs,
  );
  const built = fs.existsSync(CLI) ? fs.statSync(CLI).mtimeMs : 0;
  if (built >= src) return;
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.json')], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  } catch (e) {
    // tsc still emits on type errors (elsewhere in a tree being edited); the CLI tests can run on that
    if (!fs.existsSync(CLI)) throw e;
    console.warn(`ensureBuilt: tsc reported errors; testing the emitted dist/ anyway`);
  }
  // tsc leaves an unchanged output's mtime alone: mark the build as fresh
  const now = new Date();
  fs.utimesSync(CLI, now, now);
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/tools/cli.js ...args` (asynchronously: a test may serve HTTP meanwhile). */
export function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; onSpawn?: (p: ReturnType<typeof spawn>) => void } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    opts.onSpawn?.(p);
  });
}

/** A scratch folder under the OS temp dir (removed by the caller's afterAll). */
export function scratch(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `msvsr-cli-${tag}-`));
}

/** Every entry under `dir`, recursively, relative (hidden ones included): to prove nothing was left behind. */
export function listAll(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      if (e.isDirectory()) walk(path.join(d, e.name), r);
    }
  };
  walk(dir, '');
  return out.sort();
}

// ---- ffmpeg ----

export function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.stderr}`);
}

export function ffprobe(file: string): { streams: Array<Record<string, unknown>>; format: Record<string, unknown> } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-show_format', '-of', 'json', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffprobe ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { streams: Array<Record<string, unknown>>; format: Record<string, unknown> };
}

/** Every frame of a video as 8-bit RGB, each decoded frame once (nothing dropped or repeated for the rate). */
export function decodeRgb(file: string, width: number, height: number): Uint8Array[] {
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`ffmpeg decode ${file}: ${r.stderr.toString()}`);
  const n = width * height * 3;
  const buf = new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength);
  if (buf.length % n !== 0) throw new Error(`decoded ${buf.length} bytes, not a multiple of ${n}`);
  return Array.from({ length: buf.length / n }, (_, i) => buf.slice(i * n, (i + 1) * n));
}

/**
 * Every frame as 8-bit RGB read the way the CLI reads video: with the matrix and range given (untagged SD
 * video: BT.601 limited range), at full chroma resolution with accurate rounding.
 */
export function decodeRgbAs(file: string, width: number, height: number, colour = { matrix: 'smpte170m', range: 'tv' }): Uint8Array[] {
  const conv = `scale=in_color_matrix=${colour.matrix}:in_range=${colour.range}:flags=bicubic+accurate_rnd+full_chroma_int+full_chroma_inp,format=rgb24`;
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-vf', conv, '-fps_mode', 'passthrough', '-f', 'rawvideo', 'pipe:1'], {
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`ffmpeg decode ${file}: ${r.stderr.toString()}`);
  return split(r.stdout, width * height * 3);
}

/** Every frame of a video as raw yuv420p planes (Y, then Cb, then Cr). */
export function decodeYuv420(file: string, width: number, height: number): Uint8Array[] {
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'], {
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`ffmpeg decode ${file}: ${r.stderr.toString()}`);
  return split(r.stdout, (width * height * 3) / 2);
}

/** 8-bit RGB frames to limited-range yuv420p with a matrix (the CLI's for untagged SD video: BT.601, smpte170m). */
export function toYuv420(frames: Array<{ data: ArrayLike<number> }>, width: number, height: number, matrix = 'smpte170m'): Uint8Array[] {
  const rgb = Buffer.concat(frames.map((f) => Buffer.from(Uint8Array.from(f.data))));
  const r = spawnSync(
    'ffmpeg',
    [
      '-nostdin',
      '-v',
      'error',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${width}x${height}`,
      '-i',
      'pipe:0',
      '-vf',
      `scale=out_color_matrix=${matrix}:out_range=tv,format=yuv420p`,
      '-f',
      'rawvideo',
      'pipe:1',
    ], // prettier-ignore
    { input: rgb, maxBuffer: 1 << 28 },
  );
  if (r.status !== 0) throw new Error(`ffmpeg rgb->yuv: ${r.stderr.toString()}`);
  return split(r.stdout, (width * height * 3) / 2);
}

function split(b: Buffer, n: number): Uint8Array[] {
  const buf = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length % n !== 0) throw new Error(`decoded ${buf.length} bytes, not a multiple of ${n}`);
  return Array.from({ length: buf.length / n }, (_, i) => buf.slice(i * n, (i + 1) * n));
}

export function psnr8(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  const mse = s / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

// ---- a PNG writer for every colour type and bit depth (the reader under test is pngjs-based) ----

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export interface RawPng {
  width: number;
  height: number;
  /** 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA */
  colorType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /** Samples per pixel in channel order (palette: the index), row-major. */
  samples: ArrayLike<number>;
  palette?: Array<[number, number, number]>;
  /** tRNS payload, raw. */
  trns?: Uint8Array;
}

const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

export function writePng(p: RawPng): Buffer {
  const ch = CHANNELS[p.colorType];
  const rowBits = p.width * ch * p.bitDepth;
  const rowBytes = Math.ceil(rowBits / 8);
  const raw = new Uint8Array((rowBytes + 1) * p.height);
  for (let y = 0; y < p.height; y++) {
    const row = raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1));
    for (let x = 0; x < p.width * ch; x++) {
      const v = p.samples[y * p.width * ch + x];
      if (p.bitDepth === 16) {
        row[x * 2] = v >> 8;
        row[x * 2 + 1] = v & 0xff;
      } else if (p.bitDepth === 8) row[x] = v;
      else {
        const bit = x * p.bitDepth;
        row[bit >> 3] |= v << (8 - p.bitDepth - (bit & 7));
      }
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(p.width, 0);
  ihdr.writeUInt32BE(p.height, 4);
  ihdr[8] = p.bitDepth;
  ihdr[9] = p.colorType;
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  if (p.palette) parts.push(chunk('PLTE', Uint8Array.from(p.palette.flat())));
  if (p.trns) parts.push(chunk('tRNS', p.trns));
  parts.push(chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** Deterministic pseudo-random integers in [0, n). */
export function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

/** A smooth-plus-noise 8-bit RGB frame (so flows have something to follow), frame t of a sequence. */
export function rgbFrame(w: number, h: number, t: number, seed = 1): Uint8Array {
  const r = lcg(seed * 1000 + t);
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) for (let k = 0; k < 3; k++) d[(y * w + x) * 3 + k] = Math.min(255, (((x + 2 * t) * 9 + y * 5 * (k + 1)) % 200) + r(56));
  return d;
}
