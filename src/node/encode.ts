// Encoding RGB frames from a pipe with ffmpeg, each frame with its own timestamp: the frames go to ffmpeg's
// stdin as a Matroska stream (mkv.ts) whose timestamps ffmpeg keeps (-copyts, -fps_mode passthrough) in the
// source's time base (-enc_time_base). RGB becomes the output pixel format with the output colour
// (colour.ts), tagged. `write` waits for the pipe to drain, so memory stays bounded.
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import type { Writable } from 'node:stream';
import type { Frame } from '../index.js';
import { collectStderr, exited, killIfRunning, tail, type ChildProcess, type Exit } from './child.js';
import { colourTagArgs, fromRgbFilter, type Colour } from './colour.js';
import { CliError } from './errors.js';
import { INSTALL_FFMPEG, type FfmpegTools } from './ffmpeg.js';
import { mkvFrameHeader, mkvHeader, ticksToNs } from './mkv.js';
import type { Rational } from './probe.js';

export interface EncodeOptions {
  /** Output file. */
  output: string;
  /** ffmpeg's muxer for it. */
  muxer: string;
  /** Size of the frames written. */
  width: number;
  height: number;
  /** 8: the frames are 8-bit; 16: 16-bit. */
  bits: 8 | 16;
  /** The time base the timestamps are in (the source stream's), kept by the encoder. */
  timeBase: Rational;
  /** The first frame's timestamp (a negative one shifts the stream by whole microseconds, restored by -itsoffset). */
  firstPts: number;
  /** Nominal frame duration in ns (the rate ffmpeg reports for the input). */
  frameNs?: number;
  codec: string;
  /** The encoder's options (codecs.ts encoderOptions). */
  codecArgs: string[];
  pixFmt: string;
  colour: Colour;
  /** --encoder-args, last. */
  extra?: string[];
}

const bigEndian = os.endianness() === 'BE';

/** ffmpeg arguments that read the Matroska stream on stdin and encode it into `output`; `offsetNs` shifts the input. */
export function encoderArgs(o: EncodeOptions, offsetNs = 0n): string[] {
  const a = ['-nostdin', '-hide_banner', '-v', 'error', '-y', '-copyts'];
  if (offsetNs !== 0n) a.push('-itsoffset', `${offsetNs / 1000n}us`);
  a.push('-f', 'matroska', '-i', 'pipe:0', '-map', '0:v:0', '-vf', fromRgbFilter(o.colour, o.pixFmt));
  a.push('-fps_mode', 'passthrough', '-enc_time_base', `${o.timeBase.num}:${o.timeBase.den}`, '-c:v', o.codec, ...o.codecArgs, ...colourTagArgs(o.colour));
  a.push(...(o.extra ?? []), '-f', o.muxer, o.output);
  return a;
}

/** An ffmpeg encoder fed RGB frames with timestamps; `write` waits for the pipe to drain (back-pressure). */
export class Encoder {
  private readonly p: ChildProcess;
  private readonly stdin: Writable;
  private readonly stderr: () => string;
  private readonly closed: Promise<Exit>;
  private broken: Error | undefined;
  /** Subtracted from every timestamp (ns) so that none is negative; ffmpeg adds it back. */
  private readonly offsetNs: bigint;
  private lastNs: bigint | undefined;
  frames = 0;

  constructor(
    tools: FfmpegTools,
    private readonly o: EncodeOptions,
  ) {
    const first = ticksToNs(o.firstPts, o.timeBase);
    this.offsetNs = first < 0n ? ((first - 999n) / 1000n) * 1000n : 0n;
    this.p = spawn(tools.ffmpeg, encoderArgs(o, this.offsetNs), { stdio: ['pipe', 'ignore', 'pipe'] });
    this.stderr = collectStderr(this.p);
    this.closed = exited(this.p);
    this.p.on('error', (e) => (this.broken = new CliError(`cannot run ${tools.ffmpeg}: ${e.message}. ${INSTALL_FFMPEG}`)));
    if (!this.p.stdin) throw new CliError('ffmpeg: no stdin');
    this.stdin = this.p.stdin;
    this.stdin.on('error', (e) => (this.broken ??= e));
    this.stdin.write(mkvHeader({ width: o.width, height: o.height, bits: o.bits, frameNs: o.frameNs }));
  }

  private async failure(): Promise<Error> {
    const { code, signal } = await this.closed;
    return new CliError(
      `ffmpeg failed to encode ${this.o.output} (${signal ?? `exit ${code}`}): ${tail(this.stderr()) || this.broken?.message || 'no message'}`,
    );
  }

  /** Writes a frame shown at `pts` (ticks of the time base; after the previous frame's). */
  async write(f: Frame, pts: number): Promise<void> {
    if (f.width !== this.o.width || f.height !== this.o.height)
      throw new Error(`encoder: frame ${f.width}x${f.height}, expected ${this.o.width}x${this.o.height}`);
    const d = f.data;
    if ((this.o.bits === 16) !== d instanceof Uint16Array) throw new Error(`encoder: ${this.o.bits}-bit frames expected`);
    if (this.broken || this.p.exitCode !== null) throw await this.failure();
    const ns = ticksToNs(pts, this.o.timeBase) - this.offsetNs;
    if (this.lastNs !== undefined && ns <= this.lastNs) throw new Error(`encoder: timestamp ${pts} is not after the previous frame's`);
    this.lastNs = ns;
    let bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    if (bigEndian && d instanceof Uint16Array) {
      bytes = bytes.slice();
      for (let i = 0; i < bytes.length; i += 2) [bytes[i], bytes[i + 1]] = [bytes[i + 1], bytes[i]];
    }
    this.stdin.write(mkvFrameHeader(ns, bytes.length));
    const ok = this.stdin.write(bytes);
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
