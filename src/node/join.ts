// Joining a job's segment files (concat, no re-encode) with the source's other streams, chapters and metadata
// into the output.
//
// Timestamps: each segment holds its frames at their source timestamps. The concat demuxer shifts file k by
// (sum of the durations before it) − (file k's start), in microseconds; giving every segment the duration
// from its first frame to the next segment's first frame makes that shift −(first segment's start) for
// every file, which -itsoffset puts back, exactly (the same microsecond value rescaled both ways). With
// -copyts nothing else moves, so the video keeps its timestamps and its offset to the audio. A preview
// clip instead starts at 0: the source's other streams are cut from its first frame's time to its end.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectStderr, exited, killIfRunning, tail, type ChildProcess } from './child.js';
import { type Colour, colourTagArgs } from './colour.js';
import { CliError } from './errors.js';
import type { FfmpegTools } from './ffmpeg.js';
import type { Rational, VideoInfo } from './probe.js';
import { codecArgs, type StreamPlan } from './streams.js';

/** A stream timestamp in whole microseconds, rounded half away from zero (ffmpeg's av_rescale_q). */
export function ticksToUs(ticks: number, tb: Rational): bigint {
  const n = BigInt(ticks) * BigInt(tb.num) * 1_000_000n;
  const d = BigInt(tb.den);
  const a = n < 0n ? -n : n;
  const q = (2n * a + d) / (2n * d);
  return n < 0n ? -q : q;
}

const seconds = (us: bigint) => {
  const a = us < 0n ? -us : us;
  return `${us < 0n ? '-' : ''}${a / 1_000_000n}.${String(a % 1_000_000n).padStart(6, '0')}`;
};

/** The concat list of segment files whose first frames are at `firstPts` (ticks of `tb`). */
export function concatList(files: readonly string[], firstPts: readonly number[], tb: Rational): string {
  const us = firstPts.map((p) => ticksToUs(p, tb));
  const lines = ['ffconcat version 1.0'];
  files.forEach((f, k) => {
    lines.push(`file '${f.replace(/'/g, "'\\''")}'`);
    if (k + 1 < files.length) lines.push(`duration ${seconds(us[k + 1] - us[k])}`);
  });
  return `${lines.join('\n')}\n`;
}

/** Tags of the source's video stream that describe the old encoding, not the picture: not carried. */
const STALE_TAGS = /^(encoder|rotate|duration|number_of_frames|number_of_bytes|bps|_statistics_.*|bps-.*|duration-.*|number_of_.*)$/i;

export interface JoinOptions {
  source: VideoInfo;
  /** The concat list (written by the caller with concatList). */
  list: string;
  /** The first segment's first frame (ticks of the source's time base). */
  firstPts: number;
  streams: StreamPlan;
  /** The video's colour, tagged again (a segment container may not keep all of it, e.g. mov drops the range). */
  colour: Colour;
  muxer: string;
  output: string;
  /** A preview: the source's other streams from `from` to `to` seconds of the file, and the clip starting at 0. */
  preview?: { from: number; to?: number };
}

/** ffmpeg arguments that join the segments and the source's other streams into `output`. */
export function joinArgs(o: JoinOptions): string[] {
  const { source: src, streams: plan } = o;
  const a = ['-nostdin', '-hide_banner', '-v', 'error', '-y'];
  if (!o.preview) a.push('-copyts', '-itsoffset', `${ticksToUs(o.firstPts, src.timeBase)}us`);
  a.push('-f', 'concat', '-safe', '0', '-i', o.list);
  if (o.preview) a.push('-ss', o.preview.from.toFixed(6), ...(o.preview.to !== undefined ? ['-to', o.preview.to.toFixed(6)] : []));
  a.push('-i', src.file, '-map', '0:v:0');
  for (const s of plan.streams) a.push('-map', `1:${s.index}`);
  a.push('-c:0', 'copy', ...colourTagArgs(o.colour, '0'), ...codecArgs(plan.streams));
  // The video keeps the source video's default flag (the segments' own says nothing).
  a.push('-disposition:0', src.videoDefault ? 'default' : '0');
  // Metadata: the file's, the video stream's tags (but those of the old encoding), each carried stream's.
  a.push('-map_metadata', plan.metadata ? '1' : '-1', '-map_metadata:s:0', `1:s:${src.streamIndex}`);
  const vtags = src.streams.find((s) => s.index === src.streamIndex)?.tags ?? {};
  for (const k of Object.keys(vtags)) if (STALE_TAGS.test(k)) a.push('-metadata:s:0', `${k}=`);
  for (const [k, s] of plan.streams.entries()) a.push(`-map_metadata:s:${k + 1}`, `1:s:${s.index}`);
  a.push('-map_chapters', plan.chapters && !o.preview ? '1' : '-1');
  if (['mp4', 'mov'].includes(o.muxer)) a.push('-movflags', '+faststart');
  a.push('-f', o.muxer, o.output);
  return a;
}

/** Writes the concat list for `files` beside them. */
export function writeConcatList(list: string, files: readonly string[], firstPts: readonly number[], tb: Rational): void {
  fs.writeFileSync(
    list,
    concatList(
      files.map((f) => path.basename(f)),
      firstPts,
      tb,
    ),
  );
}

/** Runs the join; `onSpawn` gets the process (to stop it on an interruption). */
export async function join(tools: FfmpegTools, o: JoinOptions, onSpawn?: (p: ChildProcess) => void): Promise<void> {
  const p = spawn(tools.ffmpeg, joinArgs(o), { stdio: ['ignore', 'ignore', 'pipe'] });
  onSpawn?.(p);
  const stderr = collectStderr(p);
  const failed = new Promise<Error>((resolve) => p.once('error', resolve));
  const r = await Promise.race([exited(p), failed]);
  if (r instanceof Error) throw new CliError(`cannot run ${tools.ffmpeg}: ${r.message}`);
  killIfRunning(p);
  if (r.code !== 0)
    throw new CliError(`ffmpeg could not join the segments into ${o.output} (${r.signal ?? `exit ${r.code}`}): ${tail(stderr()) || 'no message'}`);
}
