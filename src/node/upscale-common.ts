// What the three kinds of `msvsr upscale` share: the options and the result, the run's context, loading the
// weights, and pumping frames through the network with progress.
import { type ChunkPlan, type Frame, type Gpu, type Model, type Precision, upscaleStream } from '../index.js';
import { CliError } from './errors.js';
import { samePath } from './files.js';
import { type Progress, downloadReporter } from './progress.js';
import type { Droppable } from './streams.js';
import { type ModelName, resolveWeights, type ResolvedWeights } from './weights.js';

export interface UpscaleCommandOptions {
  input: string;
  output: string;
  weights?: string;
  /** One of PaddleGAN's published PP-MSVSR weights (downloaded once into the cache). */
  model?: ModelName;
  /** Output frames per forward pass; absent: 10, which the planner may shorten when memory is short. */
  chunk?: number;
  /** Context frames before and after each chunk (default DEFAULT_OVERLAP; 0 is PaddleGAN's predictor). */
  overlap?: number;
  /** GPU bytes a plan may use (default: from the adapter). */
  maxMemory?: number;
  /** Context around each tile's core, in low-resolution pixels. */
  halo?: number;
  precision?: Precision;
  /** Conv variants: 'off', 'cached' (default) or 'full' (measure the shapes not measured yet on this adapter). */
  tune?: 'off' | 'cached' | 'full';
  overwrite?: boolean;
  resume?: boolean;
  quiet?: boolean;
  /** Progress on a terminal (defaults to stderr.isTTY). */
  tty?: boolean;
  env?: NodeJS.ProcessEnv;
  // ---- video only ----
  /** Video encoder (default libx264). */
  codec?: string;
  crf?: number;
  preset?: string;
  /** More encoder options, one string split like a shell would. */
  encoderArgs?: string;
  /** Output pixel format (default: the input's chroma layout, 10-bit when the input is above 8 bits). */
  pixFmt?: string;
  /** Carry the other streams, chapters and metadata (default true). */
  copyStreams?: boolean;
  /** Kinds to leave out. */
  drop?: Droppable[];
  /** Deinterlace interlaced input (default true). */
  deinterlace?: boolean;
  /** Preview: seconds from the start of the video, and how long. */
  start?: number;
  duration?: number;
  /** Preview: output frames [a, b) by index. */
  frames?: [number, number];
  /** Write bicubic | ours side by side. */
  compare?: boolean;
  /** Frames per segment (a multiple of the chunk); default: a few minutes of work. */
  segmentFrames?: number;
  /** Place chunk boundaries on hard cuts (default true). */
  sceneCuts?: boolean;
  sceneThreshold?: number;
}

/** What --json reports of a plan. */
export interface PlanSummary {
  chunk: number;
  overlap: number;
  window: number;
  tiled: boolean;
  tile: ChunkPlan['tile'];
  bytes: ChunkPlan['bytes'];
  largestBinding: number;
  budget: number;
  gmacPerFrame: number;
}

export function planSummary(p: ChunkPlan): PlanSummary {
  return {
    chunk: p.chunk,
    overlap: p.overlap,
    window: p.window,
    tiled: p.tiled,
    tile: p.tile,
    bytes: p.bytes,
    largestBinding: p.largestBinding,
    budget: p.limits.budget,
    gmacPerFrame: Math.round(p.gmacPerFrame * 10) / 10,
  };
}

/** What a video run reports besides the common fields. */
export interface VideoSummary {
  codec: string;
  pixFmt: string;
  /** matrix/range, primaries, transfer (and what was untagged). */
  colour: string;
  deinterlaced: boolean;
  /** Output frames [a, b) of the video that were written (a preview writes part of it). */
  range: [number, number];
  /** Frames of the input. */
  inputFrames: number;
  cuts: number[];
  segments: number;
  /** Each carried stream: "#index kind codec -> copy|encoder". */
  streams: string[];
  chapters: boolean;
}

export interface UpscaleResult {
  /** Frames upscaled by this run. */
  frames: number;
  /** Frames already present and kept (--resume). */
  skipped: number;
  seconds: number;
  fps: number;
  device: string;
  output: string;
  kind: 'video' | 'frames' | 'png';
  width: number;
  height: number;
  rate?: string;
  video?: VideoSummary;
  /** The plan of the last sequence run: chunk, window, tiles, planned bytes. */
  plan?: PlanSummary;
}

export interface Ctx {
  o: UpscaleCommandOptions;
  overlap: number;
  progress: Progress;
  t0: number;
  plan?: ChunkPlan;
}

export async function loadWeights(ctx: Ctx): Promise<ResolvedWeights> {
  return resolveWeights({
    weights: ctx.o.weights,
    model: ctx.o.model,
    env: ctx.o.env,
    log: (l) => ctx.progress.log(`msvsr: ${l}`),
    onDownload: downloadReporter({ quiet: ctx.o.quiet, tty: ctx.o.tty }),
  });
}

export interface PumpAt {
  chunk?: number;
  /** The first output frame computed (a chunk start). */
  from?: number;
  /** The index of the source's first frame. */
  start?: number;
  total?: number;
  cuts?: readonly number[];
}

/**
 * Runs frames through the network into `sink`, reporting progress. `from` (a chunk start, with an explicit
 * chunk) skips the output frames an interrupted run already wrote; sink gets output indices. Returns the
 * frames given to the sink.
 */
export async function pump(
  frames: Iterable<Frame> | AsyncIterable<Frame>,
  model: Model,
  gpu: Gpu,
  ctx: Ctx,
  sink: (f: Frame, i: number) => Promise<boolean | undefined> | boolean | undefined,
  at: PumpAt = {},
): Promise<number> {
  let i = at.from ?? 0;
  for await (const f of upscaleStream(frames, {
    model,
    device: gpu,
    chunkSize: at.chunk ?? ctx.o.chunk,
    overlap: ctx.overlap,
    maxMemory: ctx.o.maxMemory,
    halo: ctx.o.halo,
    precision: ctx.o.precision,
    tune: ctx.o.tune,
    totalFrames: at.total,
    from: at.from,
    sourceStart: at.start,
    cuts: at.cuts,
    onPlan: (p) => {
      ctx.plan = p;
    },
    onRecover: (m) => ctx.progress.log(m),
    onProgress: () => ctx.progress.chunk(),
  })) {
    const stop = await sink(f, i++);
    ctx.progress.frame();
    if (stop) {
      ctx.progress.chunk();
      break;
    }
  }
  return i - (at.from ?? 0);
}

export function result(ctx: Ctx, r: Omit<UpscaleResult, 'seconds' | 'fps' | 'plan'>): UpscaleResult {
  ctx.progress.end();
  const seconds = (performance.now() - ctx.t0) / 1000;
  return {
    ...r,
    seconds: Math.round(seconds * 1000) / 1000,
    fps: seconds > 0 ? Math.round((r.frames / seconds) * 1000) / 1000 : 0,
    ...(ctx.plan ? { plan: planSummary(ctx.plan) } : {}),
  };
}

export function refuseSame(input: string, output: string): void {
  if (samePath(input, output)) throw new CliError(`${output}: the output would overwrite the input; choose another output path`);
}
