// ffmpeg and ffprobe: finding them, probing a video, decoding frames to raw RGB through a pipe and encoding
// raw RGB from a pipe — no file per frame, and back-pressure both ways so memory stays bounded.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
export type { ChildProcess };
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import type { Frame } from '../index.js';
import { CliError } from './errors.js';

export const INSTALL_FFMPEG =
  'Install ffmpeg (it includes ffprobe): Debian/Ubuntu `sudo apt-get install ffmpeg`, Fedora `sudo dnf install ffmpeg`, ' +
  'macOS `brew install ffmpeg`, Windows `winget install ffmpeg` — or set MSVSR_FFMPEG=/path/to/ffmpeg ' +
  '(ffprobe is looked for next to it; MSVSR_FFPROBE=/path/to/ffprobe overrides that).';

export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
}

function isExecutable(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return false;
    if (process.platform === 'win32') return true;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A program name looked up on PATH (with PATHEXT on Windows); a path is checked as is. */
export function which(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (name.includes('/') || name.includes('\\')) return isExecutable(name) ? path.resolve(name) : undefined;
  const exts = process.platform === 'win32' ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';')] : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const p = path.join(dir, name + ext);
      if (isExecutable(p)) return p;
    }
  }
  return undefined;
}

/** ffmpeg from MSVSR_FFMPEG or PATH; ffprobe from MSVSR_FFPROBE, next to ffmpeg, or PATH. */
export function findFfmpeg(env: NodeJS.ProcessEnv = process.env): FfmpegTools {
  const wanted = env.MSVSR_FFMPEG;
  const ffmpeg = which(wanted || 'ffmpeg', env);
  if (!ffmpeg) {
    throw new CliError(
      wanted ? `MSVSR_FFMPEG=${wanted}: not an executable file. ${INSTALL_FFMPEG}` : `ffmpeg was not found on PATH; video input and output need it. ${INSTALL_FFMPEG}`,
    );
  }
  let ffprobe: string | undefined;
  if (env.MSVSR_FFPROBE) {
    ffprobe = which(env.MSVSR_FFPROBE, env);
    if (!ffprobe) throw new CliError(`MSVSR_FFPROBE=${env.MSVSR_FFPROBE}: not an executable file. ${INSTALL_FFMPEG}`);
  } else {
    const ext = path.extname(ffmpeg);
    const beside = path.join(path.dirname(ffmpeg), `ffprobe${ext.toLowerCase() === '.exe' ? ext : ''}`);
    ffprobe = isExecutable(beside) ? beside : which('ffprobe', env);
    if (!ffprobe) throw new CliError(`ffprobe was not found next to ${ffmpeg} or on PATH. ${INSTALL_FFMPEG}`);
  }
  return { ffmpeg, ffprobe };
}

/** The first line of `ffmpeg -version`, or undefined. */
export function ffmpegVersion(ffmpeg: string): string | undefined {
  const r = spawnSync(ffmpeg, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return undefined;
  const line = r.stdout.split('\n')[0].trim();
  return /^ffmpeg version \S+/.exec(line)?.[0] ?? line;
}

export function hasEncoder(ffmpeg: string, name: string): boolean {
  const r = spawnSync(ffmpeg, ['-hide_banner', '-v', 'error', '-encoders'], { encoding: 'utf8', timeout: 10_000, maxBuffer: 16 << 20 });
  return r.status === 0 && new RegExp(`^\\s*\\S+\\s+${name}\\s`, 'm').test(r.stdout);
}

// ---- probing ----

export interface Rational {
  num: number;
  den: number;
}

export function parseRational(s: string | undefined): Rational | undefined {
  const m = /^(\d+)(?:[/:](\d+))?$/.exec(s?.trim() ?? '');
  if (!m) return undefined;
  const num = Number(m[1]);
  const den = m[2] === undefined ? 1 : Number(m[2]);
  if (!(num > 0 && den > 0)) return undefined;
  return { num, den };
}

export const rationalString = (r: Rational) => (r.den === 1 ? `${r.num}` : `${r.num}/${r.den}`);
export const rationalValue = (r: Rational) => r.num / r.den;

export interface VideoInfo {
  file: string;
  format: string;
  /** Index of the video stream that is read (the first that is not cover art). */
  streamIndex: number;
  codec: string;
  /** Size of the decoded frames (after ffmpeg's auto-rotation). */
  width: number;
  height: number;
  /** Exact frame rate, as ffmpeg would choose it for constant-rate output. */
  rate: Rational;
  /** Frame count when the container states it or it can be estimated. */
  frames?: number;
  framesExact: boolean;
  audioStreams: number;
  audioCodecs: string[];
  /** Seconds by which the video starts after the file's start (audio first), for A/V sync. */
  videoDelay: number;
  colorPrimaries?: string;
  colorTransfer?: string;
}

interface ProbeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  start_time?: string;
  color_primaries?: string;
  color_transfer?: string;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: Array<{ rotation?: number }>;
}

function tail(s: string, n = 600): string {
  const t = s.trim();
  return t.length > n ? `…${t.slice(-n)}` : t;
}

/** ffmpeg's av_guess_frame_rate: r_frame_rate, unless it is a timebase-like > 210 while the average is < 70. */
function chooseRate(s: ProbeStream): Rational | undefined {
  const r = parseRational(s.r_frame_rate);
  const avg = parseRational(s.avg_frame_rate);
  if (r && avg && rationalValue(avg) < 70 && rationalValue(r) > 210) return avg;
  return r ?? avg;
}

export function probeVideo(tools: FfmpegTools, file: string): VideoInfo {
  const r = spawnSync(tools.ffprobe, ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: 60_000,
  });
  if (r.error) throw new CliError(`cannot run ffprobe (${tools.ffprobe}): ${r.error.message}. ${INSTALL_FFMPEG}`);
  if (r.status !== 0) {
    throw new CliError(`${file}: not a PNG image or a video ffmpeg can read (ffprobe: ${tail(r.stderr) || `exit ${r.status}`})`);
  }
  let doc: { streams?: ProbeStream[]; format?: { format_name?: string; duration?: string; start_time?: string } };
  try {
    doc = JSON.parse(r.stdout) as typeof doc;
  } catch {
    throw new CliError(`${file}: ffprobe printed something that is not JSON`);
  }
  const streams = doc.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!v) {
    const kinds = streams.map((s) => s.codec_type ?? '?').join(', ') || 'none';
    throw new CliError(`${file}: no video stream (streams: ${kinds})`);
  }
  if (!(v.width && v.height)) throw new CliError(`${file}: the video stream has no frame size (ffprobe reports ${v.width ?? '?'}x${v.height ?? '?'})`);
  const rate = chooseRate(v);
  if (!rate) throw new CliError(`${file}: the video stream has no frame rate (r_frame_rate ${v.r_frame_rate}, avg_frame_rate ${v.avg_frame_rate})`);
  let rotation = Number(v.tags?.rotate ?? 0);
  for (const sd of v.side_data_list ?? []) if (typeof sd.rotation === 'number') rotation = sd.rotation;
  const quarter = Math.abs(Math.round(rotation / 90)) % 2 === 1;
  const audio = streams.filter((s) => s.codec_type === 'audio');
  let frames: number | undefined;
  let framesExact = false;
  const nb = Number(v.nb_frames);
  if (Number.isInteger(nb) && nb > 0) {
    frames = nb;
    framesExact = true;
  } else {
    const dur = Number(v.duration ?? doc.format?.duration);
    if (dur > 0) frames = Math.max(1, Math.round(dur * rationalValue(rate)));
  }
  const vs = Number(v.start_time);
  const fs0 = Number(doc.format?.start_time);
  const videoDelay = Number.isFinite(vs) && Number.isFinite(fs0) && vs - fs0 > 0.0005 ? vs - fs0 : 0;
  const known = (c: string | undefined) => (c && c !== 'unknown' && c !== 'reserved' && c !== 'unspecified' ? c : undefined);
  return {
    file,
    format: doc.format?.format_name ?? '?',
    streamIndex: v.index,
    codec: v.codec_name ?? '?',
    width: quarter ? v.height : v.width,
    height: quarter ? v.width : v.height,
    rate,
    frames,
    framesExact,
    audioStreams: audio.length,
    audioCodecs: audio.map((a) => a.codec_name ?? '?'),
    videoDelay,
    colorPrimaries: known(v.color_primaries),
    colorTransfer: known(v.color_transfer),
  };
}

// ---- processes ----

/** Keeps the last `max` characters a child wrote to stderr. */
function collectStderr(p: ChildProcess, max = 8000): () => string {
  let s = '';
  p.stderr?.setEncoding('utf8');
  p.stderr?.on('data', (d: string) => {
    s += d;
    if (s.length > 2 * max) s = s.slice(-max);
  });
  return () => s.slice(-max);
}

function exited(p: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve({ code: p.exitCode, signal: p.signalCode });
  return new Promise((resolve) => p.once('close', (code, signal) => resolve({ code, signal })));
}

function spawnError(p: ChildProcess): Promise<never> {
  return new Promise((_, reject) => p.once('error', (e) => reject(new CliError(`cannot run ${p.spawnfile}: ${e.message}. ${INSTALL_FFMPEG}`))));
}

/**
 * Decodes the video stream to 8-bit RGB frames at a constant `rate` (ffmpeg duplicates or drops frames of a
 * variable-rate input, as PaddleGAN's PNG export does). The frames come as binary PPM ("P6 w h 255" + RGB):
 * each one states its size, so a rotation or a size change mid-stream cannot misalign the pipe. Pull-driven:
 * ffmpeg blocks on its full pipe while the consumer is busy, so at most a pipe's worth of frames is buffered.
 */
export async function* decodeFrames(tools: FfmpegTools, info: VideoInfo, onSpawn?: (p: ChildProcess) => void): AsyncGenerator<Frame> {
  const args = [
    '-nostdin',
    '-hide_banner',
    '-v',
    'error',
    '-i',
    info.file,
    '-map',
    `0:${info.streamIndex}`,
    '-an',
    '-sn',
    '-dn',
    // timestamps from the stream's own start (the encoder restores a start delay), then constant rate
    '-vf',
    'setpts=PTS-STARTPTS',
    '-r',
    rationalString(info.rate),
    '-pix_fmt',
    'rgb24',
    '-c:v',
    'ppm',
    '-f',
    'image2pipe',
    'pipe:1',
  ];
  const p = spawn(tools.ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  onSpawn?.(p);
  const stderr = collectStderr(p);
  const failed = spawnError(p);
  failed.catch(() => {});
  let done = false;
  try {
    const stdout = p.stdout;
    if (!stdout) throw new CliError('ffmpeg: no stdout');
    const iter = stdout[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let pending: Buffer = Buffer.alloc(0); // bytes of a header not yet complete
    let frame: Uint8Array | undefined;
    let width = 0;
    let height = 0;
    let fill = 0;
    let index = 0;
    for (;;) {
      const r = await Promise.race([iter.next(), failed]);
      if (r.done) break;
      let chunk: Buffer = r.value;
      while (chunk.length) {
        if (!frame) {
          pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
          const m = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(pending.subarray(0, 64).toString('latin1'));
          if (!m) {
            if (pending.length >= 64 || (pending.length >= 2 && pending.toString('latin1', 0, 2) !== 'P6')) {
              throw new CliError(`${info.file}: unexpected data from ffmpeg's decoder (not a PPM frame)`);
            }
            chunk = Buffer.alloc(0);
            break;
          }
          if (m[3] !== '255') throw new CliError(`${info.file}: ffmpeg produced ${m[3]}-level frames, expected 8-bit`);
          width = Number(m[1]);
          height = Number(m[2]);
          frame = new Uint8Array(width * height * 3);
          fill = 0;
          chunk = pending.subarray(m[0].length);
          pending = Buffer.alloc(0);
        }
        const n = Math.min(chunk.length, frame.length - fill);
        frame.set(chunk.subarray(0, n), fill);
        fill += n;
        chunk = chunk.subarray(n);
        if (fill === frame.length) {
          yield { width, height, data: frame, channels: 3 };
          frame = undefined;
          index++;
        }
      }
    }
    const { code, signal } = await exited(p);
    if (code !== 0) throw new CliError(`${info.file}: ffmpeg could not decode the video (${signal ?? `exit ${code}`}): ${tail(stderr()) || 'no message'}`);
    if (frame || pending.length) throw new CliError(`${info.file}: ffmpeg's output ended inside frame ${index}`);
    done = true;
  } finally {
    if (!done && p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
}

export interface EncodeOptions {
  /** Output file (its extension picks the container). */
  output: string;
  width: number;
  height: number;
  rate: Rational;
  crf?: number;
  /** Copy (or re-encode) the audio of this input. */
  audioFrom?: VideoInfo;
  audio?: 'copy' | 'aac' | 'none';
}

const FASTSTART = new Set(['.mp4', '.m4v', '.mov']);

/** ffmpeg arguments for H.264 yuv420p CRF 16 (PaddleGAN's settings) from raw RGB on stdin. */
export function encoderArgs(o: EncodeOptions): string[] {
  const a = ['-nostdin', '-hide_banner', '-v', 'error', '-y'];
  if (o.audioFrom && o.audioFrom.videoDelay > 0) a.push('-itsoffset', o.audioFrom.videoDelay.toFixed(6));
  a.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${o.width}x${o.height}`, '-framerate', rationalString(o.rate), '-i', 'pipe:0');
  const audio = o.audioFrom && o.audioFrom.audioStreams > 0 ? (o.audio ?? 'copy') : 'none';
  if (audio !== 'none' && o.audioFrom) a.push('-i', o.audioFrom.file);
  a.push('-map', '0:v:0');
  if (audio !== 'none') a.push('-map', '1:a', '-c:a', audio === 'copy' ? 'copy' : 'aac');
  if (audio === 'aac') a.push('-b:a', '192k');
  // RGB -> BT.709 limited-range YUV, tagged, so players do not guess (an untagged HD stream reads as BT.709,
  // while swscale's default matrix is BT.601).
  a.push(
    '-vf',
    'scale=out_color_matrix=bt709:out_range=tv,format=yuv420p',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    '-crf',
    String(o.crf ?? 16),
    '-colorspace',
    'bt709',
    '-color_primaries',
    o.audioFrom?.colorPrimaries ?? 'bt709',
    '-color_trc',
    o.audioFrom?.colorTransfer ?? 'bt709',
    '-color_range',
    'tv',
  );
  if (FASTSTART.has(path.extname(o.output).toLowerCase())) a.push('-movflags', '+faststart');
  a.push(o.output);
  return a;
}

/**
 * Whether the input's audio can be stream-copied into a container of `ext` (tried on the first second into a
 * scratch file beside the output, which is removed).
 */
export function canCopyAudio(tools: FfmpegTools, info: VideoInfo, scratch: string): boolean {
  try {
    const r = spawnSync(tools.ffmpeg, ['-nostdin', '-v', 'error', '-y', '-i', info.file, '-map', '0:a', '-c:a', 'copy', '-t', '1', scratch], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    return r.status === 0;
  } finally {
    fs.rmSync(scratch, { force: true });
  }
}

/** An ffmpeg encoder fed raw RGB frames; `write` waits for the pipe to drain (back-pressure). */
export class Encoder {
  private readonly p: ChildProcess;
  private readonly stdin: Writable;
  private readonly stderr: () => string;
  private readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private broken: Error | undefined;
  frames = 0;

  constructor(
    tools: FfmpegTools,
    private readonly o: EncodeOptions,
  ) {
    this.p = spawn(tools.ffmpeg, encoderArgs(o), { stdio: ['pipe', 'ignore', 'pipe'] });
    this.stderr = collectStderr(this.p);
    this.closed = exited(this.p);
    this.p.on('error', (e) => (this.broken = new CliError(`cannot run ${tools.ffmpeg}: ${e.message}. ${INSTALL_FFMPEG}`)));
    if (!this.p.stdin) throw new CliError('ffmpeg: no stdin');
    this.stdin = this.p.stdin;
    this.stdin.on('error', (e) => (this.broken ??= e));
  }

  private async failure(): Promise<Error> {
    const { code, signal } = await this.closed;
    return new CliError(`ffmpeg failed to encode ${this.o.output} (${signal ?? `exit ${code}`}): ${tail(this.stderr()) || this.broken?.message || 'no message'}`);
  }

  async write(f: Frame): Promise<void> {
    if (f.width !== this.o.width || f.height !== this.o.height) throw new Error(`encoder: frame ${f.width}x${f.height}, expected ${this.o.width}x${this.o.height}`);
    if (this.broken || this.p.exitCode !== null) throw await this.failure();
    const d = f.data;
    const ok = this.stdin.write(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    this.frames++;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stdin.off('drain', done);
          this.p.off('close', done);
          resolve();
        };
        this.stdin.once('drain', done);
        this.p.once('close', done);
      });
      if (this.broken || this.p.exitCode !== null) throw await this.failure();
    }
  }

  /** Ends the stream and waits for ffmpeg to finish the file. */
  async finish(): Promise<void> {
    this.stdin.end();
    const { code } = await this.closed;
    if (code !== 0 || this.broken) throw await this.failure();
  }

  /** Stops ffmpeg now (the caller removes the file). */
  kill(): void {
    if (this.p.exitCode === null && this.p.signalCode === null) this.p.kill('SIGKILL');
  }
}
