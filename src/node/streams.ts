// Every stream but the upscaled video — audio, subtitles, attachments, data, other video (cover art) — and
// the chapters and metadata: what goes into the output and how. Streams are copied; a stream the output's
// container cannot hold is converted where that loses nothing of substance (audio re-encoded, a text
// subtitle turned into the container's text format), and otherwise refused before any work, naming the
// stream and a container that holds it. Whether a container holds a stream is asked of ffmpeg itself: a
// short copy into a scratch file.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONTAINERS, type Container } from './codecs.js';
import { CliError } from './errors.js';
import type { FfmpegTools } from './ffmpeg.js';
import { tempPath } from './files.js';
import type { StreamInfo, VideoInfo } from './probe.js';

/** The tag of the scratch files beside the output (files.ts tempPath, removeStaleTemps). */
export const MUX_CHECK = 'mux-check';

export const DROPPABLE = ['audio', 'subtitles', 'attachments', 'data', 'video', 'chapters', 'metadata'] as const;
export type Droppable = (typeof DROPPABLE)[number];

/** Text subtitle codecs (those ffmpeg can turn into another text format). */
const TEXT_SUBTITLES = new Set([
  'subrip',
  'srt',
  'ass',
  'ssa',
  'mov_text',
  'webvtt',
  'text',
  'microdvd',
  'subviewer',
  'subviewer1',
  'sami',
  'realtext',
  'stl',
  'mpl2',
  'pjs',
  'vplayer',
  'jacosub',
]);

export interface CarriedStream {
  /** The source stream index. */
  index: number;
  kind: Droppable;
  codec: string;
  /** 'copy', or the encoder it is converted with. */
  to: string;
}

export interface StreamPlan {
  streams: CarriedStream[];
  chapters: boolean;
  metadata: boolean;
  /** What the user is told: conversions and what was dropped on request. */
  notes: string[];
}

export function kindOf(s: StreamInfo): Droppable {
  return s.kind === 'audio' ? 'audio' : s.kind === 'subtitle' ? 'subtitles' : s.kind === 'attachment' ? 'attachments' : s.kind === 'video' ? 'video' : 'data';
}

export function describeStream(s: StreamInfo): string {
  const extra = [s.tags.language, s.tags.title, s.tags.filename].filter(Boolean).map((t) => `"${t}"`);
  return `stream #${s.index} (${s.kind}, ${s.codec}${extra.length ? `, ${extra.join(' ')}` : ''})`;
}

/** The -c options for carried streams that are output streams first, first + 1, ... (after the video: 1). */
export function codecArgs(streams: readonly CarriedStream[], first = 1): string[] {
  return streams.flatMap((s, k) => [`-c:${k + first}`, s.to, ...(s.kind === 'audio' && s.to !== 'copy' ? [`-b:${k + first}`, '192k'] : [])]);
}

/** Whether ffmpeg can put these streams of `file` into `muxer` (a short copy into a scratch file). */
function muxes(tools: FfmpegTools, file: string, streams: readonly CarriedStream[], muxer: string, scratch: string): boolean {
  const maps = streams.flatMap((s) => ['-map', `0:${s.index}`]);
  try {
    const r = spawnSync(tools.ffmpeg, ['-nostdin', '-v', 'error', '-y', '-i', file, ...maps, ...codecArgs(streams, 0), '-t', '0.5', '-f', muxer, scratch], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    return r.status === 0;
  } finally {
    fs.rmSync(scratch, { force: true });
  }
}

/**
 * What to carry of `info` into a container `ext`, leaving out the `drop`ped kinds. Throws a CliError listing
 * every stream that cannot go into the container, with the containers that hold it.
 */
export function planStreams(tools: FfmpegTools, info: VideoInfo, ext: string, drop: ReadonlySet<Droppable>, output: string): StreamPlan {
  const container = CONTAINERS[ext];
  const scratch = tempPath(output, MUX_CHECK);
  const notes: string[] = [];
  const wanted: CarriedStream[] = [];
  for (const s of info.streams) {
    if (s.index === info.streamIndex || isChapterTrack(s, info)) continue;
    const kind = kindOf(s);
    if (drop.has(kind)) notes.push(`${describeStream(s)} left out (--drop ${kind})`);
    else wanted.push({ index: s.index, kind, codec: s.codec, to: 'copy' });
  }
  const problems: string[] = [];
  if (wanted.length && !muxes(tools, info.file, wanted, container.muxer, scratch)) {
    for (const w of wanted) {
      if (muxes(tools, info.file, [w], container.muxer, scratch)) continue;
      const alt = conversion(w, container);
      const s = info.streams.find((x) => x.index === w.index)!;
      if (alt && muxes(tools, info.file, [{ ...w, to: alt }], container.muxer, scratch)) {
        w.to = alt;
        notes.push(`${describeStream(s)} cannot be copied into ${ext}; converted to ${alt}`);
        continue;
      }
      const holds = Object.entries(CONTAINERS)
        .filter(([e, c]) => e !== ext && c.muxer !== container.muxer && ['.mkv', '.mp4', '.mov'].includes(e))
        .filter(([e, c]) => muxes(tools, info.file, [w], c.muxer, `${scratch.slice(0, scratch.length - path.extname(scratch).length)}${e}`))
        .map(([e]) => e);
      problems.push(`${describeStream(s)}${holds.length ? ` (${holds.join(' or ')} can hold it)` : ' (no container msvsr writes holds it)'}`);
    }
  }
  const chapters = info.chapters > 0 && !drop.has('chapters');
  if (chapters && !container.chapters) problems.push(`its ${info.chapters} chapter(s) (.mkv, .mp4 or .mov can hold them)`);
  if (info.chapters > 0 && drop.has('chapters')) notes.push(`${info.chapters} chapter(s) left out (--drop chapters)`);
  if (problems.length) {
    const kinds = [...new Set(wanted.filter((w) => problems.some((p) => p.startsWith(`stream #${w.index} `))).map((w) => w.kind))];
    if (chapters && !container.chapters) kinds.push('chapters');
    throw new CliError(
      `${info.file} -> ${ext}: ${ext} cannot hold ${problems.join('; ')}. Write to a container that holds them, ` +
        `or leave them out with --drop ${kinds.join(',')} (or --no-copy-streams for the video alone)`,
    );
  }
  return { streams: wanted, chapters, metadata: !drop.has('metadata'), notes };
}

/** QuickTime's chapter text track (an MP4/MOV data stream): carried as the chapters, not as a stream. */
export function isChapterTrack(s: StreamInfo, info: VideoInfo): boolean {
  return info.chapters > 0 && info.format.includes('mov') && s.kind === 'data' && s.codec === 'bin_data' && s.tag === 'text';
}

/** The conversion that keeps a stream's substance in `container`, if there is one. */
function conversion(w: CarriedStream, container: Container): string | undefined {
  if (w.kind === 'audio') return container.audio;
  if (w.kind === 'subtitles' && TEXT_SUBTITLES.has(w.codec)) return container.textSubtitle;
  return undefined;
}
