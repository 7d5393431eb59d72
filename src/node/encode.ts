// Encoding raw RGB frames from a pipe into H.264 with ffmpeg (PaddleGAN's settings), carrying the input's audio,
// colour tags and start delay over; `write` waits for the pipe to drain, so memory stays bounded.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import type { Frame } from '../index.js';
import { collectStderr, exited, killIfRunning, tail, type ChildProcess, type Exit } from './child.js';
import { CliError } from './errors.js';
import { INSTALL_FFMPEG, type FfmpegTools } from './ffmpeg.js';
import { rationalString, type Rational, type VideoInfo } from './probe.js';

export interface EncodeOptions {
  /** Output file (its extension picks the container). */
  output: string;
  width: number;
  height: number;
  rate: Rational;
  crf?: number;
  /**
   * The input video: its audio is copied (or re-encoded, see `audio`), its colour tags are kept and its start
   * delay restored. Without it: no audio, BT.709 tags, no delay.
   */
  source?: VideoInfo;
  /** What to do with the source's audio (default 'copy'); 'none' when the source has none. */
  audio?: 'copy' | 'aac' | 'none';
}

const FASTSTART = new Set(['.mp4', '.m4v', '.mov']);

/** ffmpeg arguments for H.264 yuv420p CRF 16 (PaddleGAN's settings) from raw RGB on stdin. */
export function encoderArgs(o: EncodeOptions): string[] {
  const a = ['-nostdin', '-hide_banner', '-v', 'error', '-y'];
  if (o.source && o.source.videoDelay > 0) a.push('-itsoffset', o.source.videoDelay.toFixed(6));
  a.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${o.width}x${o.height}`, '-framerate', rationalString(o.rate), '-i', 'pipe:0');
  const audio = o.source && o.source.audioStreams > 0 ? (o.audio ?? 'copy') : 'none';
  if (audio !== 'none' && o.source) a.push('-i', o.source.file);
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
    o.source?.colorPrimaries ?? 'bt709',
    '-color_trc',
    o.source?.colorTransfer ?? 'bt709',
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
  private readonly closed: Promise<Exit>;
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
    return new CliError(
      `ffmpeg failed to encode ${this.o.output} (${signal ?? `exit ${code}`}): ${tail(this.stderr()) || this.broken?.message || 'no message'}`,
    );
  }

  async write(f: Frame): Promise<void> {
    if (f.width !== this.o.width || f.height !== this.o.height)
      throw new Error(`encoder: frame ${f.width}x${f.height}, expected ${this.o.width}x${this.o.height}`);
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
    killIfRunning(this.p);
  }
}
