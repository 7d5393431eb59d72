// The decisions of a video job, all made before any work: the encoder and its options, the output pixel
// format and bit depth, the colour both ways, deinterlacing, what happens to every other stream (each
// refusal names what would work), the frames asked for; then the analysis (timestamps, cuts), kept in the
// work folder so that a resumed job sees exactly the same.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { frameTimestamps, sceneScores } from './analyze.js';
import { checkCodec, type Container, ENCODERS, encoderOptions, encoderPixFmts, splitArgs } from './codecs.js';
import { type Colour, decideColour, defaultPixFmt, describeColour, outputColour } from './colour.js';
import { CliError } from './errors.js';
import type { FfmpegTools } from './ffmpeg.js';
import { writeFileAtomic } from './files.js';
import { pixelFormat, type VideoInfo } from './probe.js';
import { cutsFrom, DEFAULT_SCENE_THRESHOLD } from './scenes.js';
import { DROPPABLE, type Droppable, planStreams, type StreamPlan } from './streams.js';
import type { Ctx } from './upscale-common.js';

export interface Analysis {
  /** Each frame's timestamp (ticks of the stream's time base). */
  pts: number[];
  /** Frames that start a new scene. */
  cuts: number[];
}

export interface VideoJob {
  ctx: Ctx;
  tools: FfmpegTools;
  info: VideoInfo;
  container: Container;
  codec: string;
  /** The muxer (and extension) of the segment files. */
  segment: 'mov' | 'mp4';
  codecArgs: string[];
  extra: string[];
  pixFmt: string;
  /** RGB depth between the decoder, the network and the encoder. */
  bits: 8 | 16;
  colourIn: Colour;
  colourOut: Colour;
  deinterlace: boolean;
  streams: StreamPlan;
  /** What a resumed job must share with the interrupted one (besides weights, plan and range). */
  identity: Record<string, unknown>;
  sceneCuts: boolean;
  threshold: number;
}

const INTERLACED = new Set(['tt', 'bb', 'tb', 'bt']);

export function videoJob(ctx: Ctx, tools: FfmpegTools, info: VideoInfo, container: Container): VideoJob {
  const { o } = ctx;
  const log = (l: string) => ctx.progress.log(`msvsr: ${l}`);
  if (o.segmentFrames !== undefined && o.chunk !== undefined && o.segmentFrames % o.chunk !== 0) {
    throw new CliError(`--segment-frames ${o.segmentFrames}: must be a multiple of the chunk (${o.chunk})`);
  }
  const codec = o.codec ?? 'libx264';
  checkCodec(tools.ffmpeg, codec, o.output, container);
  const codecArgs = encoderOptions(codec, { crf: o.crf, preset: o.preset });
  const extra = o.encoderArgs ? splitArgs(o.encoderArgs) : [];
  const inPix = pixelFormat(tools, info.pixFmt);
  const supported = encoderPixFmts(tools.ffmpeg, codec);
  const pixFmt = o.pixFmt ?? defaultPixFmt(inPix, supported);
  if (!supported.includes(pixFmt)) throw new CliError(`--pix-fmt ${pixFmt}: ${codec} takes ${supported.join(' ')}`);
  const outPix = pixelFormat(tools, pixFmt);
  const colourIn = decideColour(info.colour, inPix, info.codedHeight, info.file);
  const colourOut = outputColour(colourIn, outPix, info.codedHeight);
  if (colourIn.assumed.length) log(`${info.file} does not tag its colour ${colourIn.assumed.join(', ')}: read and written as ${describeColour(colourIn)}`);
  if (colourIn.hdr) {
    ctx.progress.warn(`msvsr: warning: ${info.file} is HDR (${colourIn.hdr}): its colour tags are kept, but the published weights were trained on SDR video`);
  }
  const interlaced = INTERLACED.has(info.fieldOrder ?? '');
  const deinterlace = interlaced && o.deinterlace !== false;
  if (deinterlace)
    log(`${info.file} is interlaced (field order ${info.fieldOrder}): deinterlacing with bwdif, one frame per frame (--no-deinterlace keeps the fields)`);
  const drop = new Set<Droppable>(o.copyStreams === false ? DROPPABLE : (o.drop ?? []));
  const streams = planStreams(tools, info, path.extname(o.output).toLowerCase(), drop, o.output);
  for (const note of streams.notes) log(note);
  const st = fs.statSync(info.file);
  const sceneCuts = o.sceneCuts !== false;
  const threshold = o.sceneThreshold ?? DEFAULT_SCENE_THRESHOLD;
  return {
    ctx,
    tools,
    info,
    container,
    codec,
    segment: ENCODERS[codec].segment,
    codecArgs,
    extra,
    pixFmt,
    bits: inPix.bits > 8 || outPix.bits > 8 ? 16 : 8,
    colourIn,
    colourOut,
    deinterlace,
    streams,
    identity: {
      input: { file: path.resolve(info.file), size: st.size, mtimeMs: st.mtimeMs },
      codec,
      crf: o.crf ?? null,
      preset: o.preset ?? null,
      encoderArgs: o.encoderArgs ?? null,
      pixFmt,
      deinterlace,
      compare: !!o.compare,
      drop: [...drop].sort(),
    },
    sceneCuts,
    threshold,
  };
}

/** The job's analysis: each frame's timestamp and the cuts, from the work folder when a resumed job made it. */
export async function analyseVideo(job: VideoJob, work: string): Promise<Analysis> {
  const { info, tools } = job;
  const log = (l: string) => job.ctx.progress.log(`msvsr: ${l}`);
  const file = path.join(work, 'analysis.json');
  const key = { input: job.identity.input, sceneCuts: job.sceneCuts, threshold: job.threshold };
  try {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Analysis & { key: unknown };
    if (JSON.stringify(saved.key) === JSON.stringify(key)) return { pts: saved.pts, cuts: saved.cuts };
  } catch {
    /* none yet, or unreadable: analyse */
  }
  const { pts, repaired } = frameTimestamps(tools, info);
  if (repaired) log(`${repaired} frame(s) had a missing or out-of-order timestamp; each was given one just after the previous frame's`);
  if (!job.container.vfr) {
    if (isVariableRate(pts))
      throw new CliError(`${info.file} has a variable frame rate, which ${path.extname(job.ctx.o.output)} cannot hold; use .mkv or .mp4`);
  }
  const cuts = job.sceneCuts ? cutsFrom(await sceneScores(tools, info, pts.length), job.threshold) : [];
  if (cuts.length) log(`${cuts.length} scene cut(s), at frame(s) ${cuts.join(', ')}: chunks restart there`);
  writeFileAtomic(file, new TextEncoder().encode(JSON.stringify({ key, pts, cuts })));
  return { pts, cuts };
}

/**
 * Whether frame timestamps (ticks, ascending) are a variable rate. A constant rate rounded to its time base
 * jitters (29.97 fps in ms: 33, 33, 34 …; ms timestamps remuxed into 1/16000: 528 or 544 ticks): up to a tenth
 * of a frame (and at least one tick) is rounding, more is a variable rate.
 */
export function isVariableRate(pts: readonly number[]): boolean {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 1; i < pts.length; i++) {
    lo = Math.min(lo, pts[i] - pts[i - 1]);
    hi = Math.max(hi, pts[i] - pts[i - 1]);
  }
  return hi - lo > Math.max(1, 0.1 * lo);
}

/** A time option in seconds: "12.5", "1:02.5" or "0:01:02.5". */
export function parseTime(s: string, option: string): number {
  const m = /^\s*(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d*)?)\s*$/.exec(s);
  if (!m) throw new CliError(`${option} '${s}': not a time (seconds, or [h:]m:s)`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3]);
}

/** The output frames [a, b) asked for: --frames A:B, or --start/--duration in seconds from the first frame. */
export function resolveRange(o: Ctx['o'], pts: readonly number[], info: VideoInfo): [number, number] {
  const n = pts.length;
  let a = 0;
  let b = n;
  if (o.frames) {
    [a, b] = o.frames;
    if (!(a < b && b <= n)) throw new CliError(`--frames ${a}:${b}: the video has ${n} frames (frames 0 to ${n - 1}; the end is not included)`);
  }
  if (o.start !== undefined || o.duration !== undefined) {
    if (o.frames) throw new CliError('--frames and --start/--duration: give one of them');
    const tb = info.timeBase;
    const t = (i: number) => ((pts[i] - pts[0]) * tb.num) / tb.den;
    const start = o.start ?? 0;
    const end = o.duration !== undefined ? start + o.duration : Infinity;
    a = pts.findIndex((_, i) => t(i) >= start - 1e-9);
    b = a < 0 ? -1 : pts.findIndex((_, i) => t(i) >= end - 1e-9);
    if (b < 0) b = n;
    if (a < 0 || a >= b)
      throw new CliError(
        `--start ${start}${o.duration !== undefined ? ` --duration ${o.duration}` : ''}: no frame there (the video lasts ${t(n - 1).toFixed(3)} s from its first frame)`,
      );
  }
  return [a, b];
}
