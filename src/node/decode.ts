// Decoding a video to RGB frames through ffmpeg's stdout — no file per frame, and back-pressure so memory
// stays bounded. Every decoded frame comes out once, in order (-fps_mode passthrough: nothing resampled,
// duplicated or dropped), optionally deinterlaced (bwdif, one frame per frame), turned as a player would,
// and converted to RGB with the video's own colour matrix and range (colour.ts).
import { spawn } from 'node:child_process';
import { collectStderr, exited, killIfRunning, tail, type ChildProcess } from './child.js';
import type { Colour } from './colour.js';
import { toRgbFilter } from './colour.js';
import { CliError } from './errors.js';
import { INSTALL_FFMPEG, type FfmpegTools } from './ffmpeg.js';
import { PpmSplitter, type RgbFrame } from './ppm.js';
import type { VideoInfo } from './probe.js';

/** Frames [start, end) of the stream, by their timestamps (stream ticks), and where to seek first. */
export interface DecodeRange {
  /** The first frame's timestamp (absent: from the first frame). */
  startPts?: number;
  /** The timestamp of the first frame not wanted (absent: to the end). */
  endPts?: number;
  /** Seconds from the file's start to seek to: a point at or before the frame before the first one wanted. */
  seek?: number;
}

export interface DecodeOptions {
  info: VideoInfo;
  colour: Colour;
  /** RGB frames of 8 bits (rgb24) or 16 bits (rgb48). */
  bits: 8 | 16;
  deinterlace: boolean;
  range?: DecodeRange;
  /** Frames the decode must give: a different count is an error (a seek that landed late, a broken file). */
  expect?: number;
}

/** The filters that turn the picture the way ffmpeg's autorotate would (applied after deinterlacing). */
export function rotateFilters(rotation: number): string[] {
  return rotation === 90 ? ['transpose=clock'] : rotation === 180 ? ['hflip', 'vflip'] : rotation === 270 ? ['transpose=cclock'] : [];
}

/** ffmpeg arguments that decode the chosen range of the video stream to PPM frames on stdout. */
export function decoderArgs(o: DecodeOptions): string[] {
  const { info, range } = o;
  const a = ['-nostdin', '-hide_banner', '-v', 'error'];
  if (range?.seek && range.seek > 0) a.push('-ss', range.seek.toFixed(6), '-noaccurate_seek');
  // -copyts: the filters see the stream's own timestamps, which the range is given in.
  a.push('-copyts', '-noautorotate', '-i', info.file, '-map', `0:${info.streamIndex}`, '-an', '-sn', '-dn');
  const vf: string[] = [];
  // Deinterlacing first (it needs the previous field), trimming after (so the first frame has its context).
  if (o.deinterlace) vf.push('bwdif=mode=send_frame:parity=auto:deint=all');
  const trim = [range?.startPts !== undefined ? `start_pts=${range.startPts}` : '', range?.endPts !== undefined ? `end_pts=${range.endPts}` : ''].filter(
    Boolean,
  );
  if (trim.length) vf.push(`trim=${trim.join(':')}`);
  vf.push(...rotateFilters(info.rotation), toRgbFilter(o.colour, o.bits));
  a.push('-vf', vf.join(','), '-fps_mode', 'passthrough', '-c:v', 'ppm', '-f', 'image2pipe', 'pipe:1');
  return a;
}

/**
 * Runs ffmpeg and yields what it writes to stdout, pulled: ffmpeg blocks on its full pipe while the consumer
 * is busy. Throws a CliError naming `file` when ffmpeg cannot run or fails; ffmpeg is killed if the consumer
 * stops early or anything fails.
 */
export async function* ffmpegOutput(
  tools: FfmpegTools,
  args: string[],
  file: string,
  what: string,
  onSpawn?: (p: ChildProcess) => void,
): AsyncGenerator<Buffer> {
  const p = spawn(tools.ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  onSpawn?.(p);
  const stderr = collectStderr(p);
  const failed = new Promise<never>((_, reject) => p.once('error', (e) => reject(new CliError(`cannot run ${p.spawnfile}: ${e.message}. ${INSTALL_FFMPEG}`))));
  failed.catch(() => {});
  let done = false;
  try {
    const stdout = p.stdout;
    if (!stdout) throw new CliError('ffmpeg: no stdout');
    const iter = stdout[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    for (;;) {
      const r = await Promise.race([iter.next(), failed]);
      if (r.done) break;
      yield r.value;
    }
    const { code, signal } = await exited(p);
    if (code !== 0) throw new CliError(`${file}: ffmpeg could not ${what} (${signal ?? `exit ${code}`}): ${tail(stderr()) || 'no message'}`);
    done = true;
  } finally {
    if (!done) killIfRunning(p);
  }
}

/**
 * Decodes the video stream to RGB frames. The frames come as binary PPM (see ppm.ts): each one states its
 * size, so a size change mid-stream cannot misalign the pipe.
 */
export async function* decodeFrames(tools: FfmpegTools, o: DecodeOptions, onSpawn?: (p: ChildProcess) => void): AsyncGenerator<RgbFrame> {
  const ppm = new PpmSplitter(o.info.file);
  for await (const piece of ffmpegOutput(tools, decoderArgs(o), o.info.file, 'decode the video', onSpawn)) yield* ppm.push(piece);
  ppm.end();
  if (o.expect !== undefined && ppm.frames !== o.expect) {
    throw new CliError(`${o.info.file}: the decoder gave ${ppm.frames} frames where the analysis found ${o.expect}; the file may be damaged`);
  }
}
