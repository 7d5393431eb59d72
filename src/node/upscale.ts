// `msvsr upscale`: a video (through ffmpeg pipes), a folder of PNG frames (or a folder of clip folders), or one
// PNG, x4. Outputs appear only when complete: a video or PNG through a temporary name and a rename; a frame
// folder is built under a hidden sibling folder that is renamed into place at the end (and that --resume
// continues after an interruption).
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type ChunkPlan,
  checkChunkSize,
  checkHalo,
  checkOverlap,
  checkPrecision,
  DEFAULT_CHUNK,
  type Frame,
  type Gpu,
  getDevice,
  type Model,
  modelFrom,
  type Precision,
  planUpscale,
  streamStart,
  upscaleStream,
} from '../index.js';
import { CliError, why } from './errors.js';
import { checkOutputParent, onCleanup, onInterrupt, samePath, statOrUndefined, tempPath, writeFileAtomic } from './files.js';
import { killIfRunning, type ChildProcess } from './child.js';
import { decodeFrames } from './decode.js';
import { Encoder, canCopyAudio } from './encode.js';
import { findFfmpeg, hasEncoder } from './ffmpeg.js';
import { probeVideo, rationalString } from './probe.js';
import { findSequences, readFrame, type Sequence, sequenceFrames } from './frames.js';
import { encodePng, isPng } from './png.js';
import { Progress, downloadReporter } from './progress.js';
import { folderTarget, resumePoint } from './resume.js';
import { resolveWeights, type ResolvedWeights } from './weights.js';

export interface UpscaleCommandOptions {
  input: string;
  output: string;
  weights?: string;
  /** Output frames per forward pass; absent: 10, which the planner may shorten when memory is short. */
  chunk?: number;
  /** Context frames before and after each chunk (default DEFAULT_OVERLAP; 0 is PaddleGAN's predictor). */
  overlap?: number;
  /** GPU bytes a plan may use (default: from the adapter). */
  maxMemory?: number;
  /** Context around each tile's core, in low-resolution pixels. */
  halo?: number;
  precision?: Precision;
  overwrite?: boolean;
  resume?: boolean;
  quiet?: boolean;
  /** Progress on a terminal (defaults to stderr.isTTY). */
  tty?: boolean;
  env?: NodeJS.ProcessEnv;
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
  audio?: 'copy' | 'aac' | 'none';
  /** The plan of the last sequence run: chunk, window, tiles, planned bytes. */
  plan?: PlanSummary;
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

export const VIDEO_EXTENSIONS = ['.mp4', '.mkv', '.mov', '.m4v', '.avi', '.ts'];
export const RESUME_MANIFEST = '.msvsr-resume.json';

/** The hidden folder a frame-folder output is built in (deterministic, so --resume finds it). */
export function partialFolder(output: string): string {
  const out = path.resolve(output);
  return path.join(path.dirname(out), `.${path.basename(out)}.msvsr-partial`);
}

type Kind = 'video' | 'frames' | 'png';

function inputKind(input: string): Kind {
  const st = statOrUndefined(input);
  if (!st) throw new CliError(`${input}: no such file or directory`);
  if (st.isDirectory()) return 'frames';
  if (!st.isFile()) throw new CliError(`${input}: not a file or folder`);
  const b = new Uint8Array(8);
  let n: number;
  try {
    const fd = fs.openSync(input, 'r');
    try {
      n = fs.readSync(fd, b, 0, 8, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw new CliError(`${input}: cannot read: ${why(e)}`);
  }
  if (n === 0) throw new CliError(`${input}: the file is empty (not an image or a video)`);
  return isPng(b.subarray(0, n)) ? 'png' : 'video';
}

function refuseSame(input: string, output: string): void {
  if (samePath(input, output)) throw new CliError(`${output}: the output would overwrite the input; choose another output path`);
}

interface Ctx {
  o: UpscaleCommandOptions;
  overlap: number;
  progress: Progress;
  t0: number;
  plan?: ChunkPlan;
}

async function loadWeights(ctx: Ctx): Promise<ResolvedWeights> {
  return resolveWeights({
    weights: ctx.o.weights,
    env: ctx.o.env,
    log: (l) => ctx.progress.log(`msvsr: ${l}`),
    onDownload: downloadReporter({ quiet: ctx.o.quiet, tty: ctx.o.tty }),
  });
}

async function openGpu(): Promise<Gpu> {
  return getDevice();
}

/**
 * Runs frames through the network into `sink`, reporting progress. `from` (a chunk boundary, with an
 * explicit chunk) skips the output frames an interrupted run already wrote; sink gets output indices.
 */
async function pump(
  frames: Iterable<Frame> | AsyncIterable<Frame>,
  model: Model,
  gpu: Gpu,
  ctx: Ctx,
  sink: (f: Frame, i: number) => Promise<void> | void,
  at: { chunk?: number; from?: number; start?: number; total?: number } = {},
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
    totalFrames: at.total,
    from: at.from,
    sourceStart: at.start,
    onPlan: (p) => {
      ctx.plan = p;
    },
    onRecover: (m) => ctx.progress.log(m),
    onProgress: () => ctx.progress.chunk(),
  })) {
    await sink(f, i++);
    ctx.progress.frame();
  }
  return i - (at.from ?? 0);
}

function result(ctx: Ctx, r: Omit<UpscaleResult, 'seconds' | 'fps' | 'plan'>): UpscaleResult {
  ctx.progress.end();
  const seconds = (performance.now() - ctx.t0) / 1000;
  return {
    ...r,
    seconds: Math.round(seconds * 1000) / 1000,
    fps: seconds > 0 ? Math.round((r.frames / seconds) * 1000) / 1000 : 0,
    ...(ctx.plan ? { plan: planSummary(ctx.plan) } : {}),
  };
}

export async function runUpscale(o: UpscaleCommandOptions): Promise<UpscaleResult> {
  const t0 = performance.now();
  if (o.chunk !== undefined) checkChunkSize(o.chunk, '--chunk');
  const overlap = checkOverlap(o.overlap, '--overlap');
  checkHalo(o.halo, '--halo');
  checkPrecision(o.precision, '--precision');
  const kind = inputKind(o.input);
  refuseSame(o.input, o.output);
  const ctx: Ctx = { o, overlap, progress: new Progress(undefined, { quiet: o.quiet, tty: o.tty }), t0 };
  try {
    if (kind === 'png') return await upscalePng(ctx);
    if (kind === 'video') return await upscaleVideo(ctx);
    return await upscaleFolder(ctx);
  } finally {
    ctx.progress.end();
  }
}

// ---- one PNG ----

async function upscalePng(ctx: Ctx): Promise<UpscaleResult> {
  const { o } = ctx;
  if (o.resume) throw new CliError('--resume applies to frame folders; a single PNG is written in one step');
  if (path.extname(o.output).toLowerCase() !== '.png') throw new CliError(`${o.output}: a PNG input gives a PNG output; name the output *.png`);
  const st = statOrUndefined(o.output);
  if (st?.isDirectory()) throw new CliError(`${o.output}: is a folder; give the output file name (*.png)`);
  if (st && !o.overwrite) throw new CliError(`${o.output}: already exists (use --overwrite to replace it)`);
  checkOutputParent(o.output);
  const frame = readFrame(o.input);
  const w = await loadWeights(ctx);
  const gpu = await openGpu();
  try {
    ctx.progress.total = 1;
    ctx.progress.start();
    const n = await pump([frame], modelFrom(w.weights), gpu, ctx, (f) => {
      writeFileAtomic(o.output, encodePng({ width: f.width, height: f.height, data: f.data as Uint8Array }));
    });
    return result(ctx, { frames: n, skipped: 0, device: gpu.adapter.name, output: o.output, kind: 'png', width: frame.width * 4, height: frame.height * 4 });
  } finally {
    gpu.destroy();
  }
}

// ---- video ----

async function upscaleVideo(ctx: Ctx): Promise<UpscaleResult> {
  const { o } = ctx;
  if (o.resume) throw new CliError('--resume applies to frame folders; a video is encoded in one pass (write frames to a folder to resume)');
  const ext = path.extname(o.output).toLowerCase();
  if (!VIDEO_EXTENSIONS.includes(ext)) {
    throw new CliError(`${o.output}: a video input gives a video output; use one of ${VIDEO_EXTENSIONS.join(' ')} (H.264)`);
  }
  const st = statOrUndefined(o.output);
  if (st?.isDirectory()) throw new CliError(`${o.output}: is a folder; give the output video file name`);
  if (st && !o.overwrite) throw new CliError(`${o.output}: already exists (use --overwrite to replace it)`);
  checkOutputParent(o.output);
  const tools = findFfmpeg(o.env);
  const info = probeVideo(tools, o.input);
  if (!hasEncoder(tools.ffmpeg, 'libx264')) throw new CliError(`${tools.ffmpeg} has no libx264 encoder (H.264); install an ffmpeg build with libx264`);

  const tmp = tempPath(o.output);
  let encoder: Encoder | undefined;
  let decoder: ChildProcess | undefined;
  const stop = () => {
    encoder?.kill();
    killIfRunning(decoder);
  };
  const removeTmp = onCleanup(() => {
    stop();
    fs.rmSync(tmp, { force: true });
  });
  try {
    // The temporary output exists from now on: an unwritable folder fails here, before any work.
    try {
      fs.closeSync(fs.openSync(tmp, 'wx', 0o644));
    } catch (e) {
      throw new CliError(`cannot write ${o.output}: ${why(e)}`);
    }
    let audio: 'copy' | 'aac' | 'none' = 'none';
    if (info.audioStreams > 0) {
      audio = canCopyAudio(tools, info, tempPath(o.output, 'audio-check')) ? 'copy' : 'aac';
      if (audio === 'aac') ctx.progress.log(`msvsr: the audio (${info.audioCodecs.join(', ')}) cannot be copied into ${ext}; re-encoding it as AAC`);
    }
    // Pull the first frame before loading anything: a video without frames fails now.
    const frames = decodeFrames(tools, info, (p) => (decoder = p));
    const first = await frames.next();
    if (first.done) throw new CliError(`${o.input}: the video has no frames (zero frames decoded)`);
    const all = (async function* () {
      yield first.value;
      yield* frames;
    })();
    const w = await loadWeights(ctx);
    const gpu = await openGpu();
    try {
      ctx.progress.total = info.frames;
      ctx.progress.approximate = !info.framesExact;
      ctx.progress.start();
      const n = await pump(
        all,
        modelFrom(w.weights),
        gpu,
        ctx,
        async (f) => {
          encoder ??= new Encoder(tools, { output: tmp, width: f.width, height: f.height, rate: info.rate, source: info, audio });
          await encoder.write(f);
        },
        { total: info.framesExact ? info.frames : undefined },
      );
      await encoder!.finish();
      if (!o.overwrite && fs.existsSync(o.output)) throw new CliError(`${o.output}: appeared while working (use --overwrite to replace it)`);
      fs.renameSync(tmp, o.output);
      return result(ctx, {
        frames: n,
        skipped: 0,
        device: gpu.adapter.name,
        output: o.output,
        kind: 'video',
        width: info.width * 4,
        height: info.height * 4,
        rate: rationalString(info.rate),
        audio,
      });
    } finally {
      gpu.destroy();
    }
  } finally {
    stop();
    fs.rmSync(tmp, { force: true });
    removeTmp();
  }
}

// ---- frame folders ----

/**
 * What a resumed run must share with the interrupted one for its frames to be those of one uninterrupted
 * run: the options, the weights and, per sequence, the plan (chunk and tiles; a different device or memory
 * budget could plan differently).
 */
interface Manifest {
  version: 2;
  chunk: number | null;
  overlap: number;
  halo: number;
  maxMemory: number | null;
  precision: Precision;
  weights: string;
  plans: Record<string, string>;
}

const planKey = (p: ChunkPlan) => `chunk ${p.chunk}, ${p.tile.count} tile(s) of ${p.tile.width}x${p.tile.height} (halo ${p.tile.halo})`;

async function upscaleFolder(ctx: Ctx): Promise<UpscaleResult> {
  const { o } = ctx;
  const out = path.resolve(o.output);
  if (VIDEO_EXTENSIONS.includes(path.extname(out).toLowerCase()) || path.extname(out).toLowerCase() === '.png') {
    throw new CliError(
      `${o.output}: a folder of frames gives a folder of frames (name the output folder without ${path.extname(out)}); ` +
        'to make a video of the result: ffmpeg -framerate <fps> -i <output>/%08d.png -c:v libx264 -pix_fmt yuv420p -crf 16 out.mp4',
    );
  }
  const seqs = findSequences(o.input);
  const st = statOrUndefined(out);
  if (st && !st.isDirectory()) throw new CliError(`${o.output}: exists and is not a folder (a folder of frames gives a folder of frames)`);
  for (const s of seqs) refuseSame(s.dir, path.join(out, s.name));
  checkOutputParent(out);
  const partial = partialFolder(out);
  const partialExists = !!statOrUndefined(partial);
  // Where frames go (see folderTarget): the hidden folder, or the output itself for --resume on a finished one.
  const target = folderTarget({ resume: !!o.resume, overwrite: !!o.overwrite, outputExists: !!st, partialExists, output: o.output, partial });
  const work = target.work === 'partial' ? partial : out;
  const fresh = target.fresh;

  const w = await loadWeights(ctx);
  const model = modelFrom(w.weights);
  const gpu = await openGpu();
  try {
    // Every sequence's plan first: its chunk sets the resume points.
    const plans = seqs.map((s) =>
      planUpscale(
        gpu,
        model.cfg,
        {
          width: s.width,
          height: s.height,
          chunk: o.chunk ?? DEFAULT_CHUNK,
          chunkExplicit: o.chunk !== undefined,
          overlap: ctx.overlap,
          frames: s.frames.length,
        },
        { precision: o.precision, maxMemory: o.maxMemory, halo: o.halo },
      ),
    );
    const manifest: Manifest = {
      version: 2,
      chunk: o.chunk ?? null,
      overlap: ctx.overlap,
      halo: checkHalo(o.halo),
      maxMemory: o.maxMemory ?? null,
      precision: o.precision ?? 'f32',
      weights: w.sha256,
      plans: Object.fromEntries(seqs.map((s, i) => [s.name, planKey(plans[i])])),
    };
    return await runFolder(ctx, { seqs, plans, manifest, model, gpu, out, work, fresh, partial, partialExists });
  } finally {
    gpu.destroy();
  }
}

async function runFolder(
  ctx: Ctx,
  r: {
    seqs: Sequence[];
    plans: ChunkPlan[];
    manifest: Manifest;
    model: Model;
    gpu: Gpu;
    out: string;
    work: string;
    fresh: boolean;
    partial: string;
    partialExists: boolean;
  },
): Promise<UpscaleResult> {
  const { o } = ctx;
  const { seqs, plans, manifest, model, gpu, out, work, fresh, partial, partialExists } = r;
  const manifestFile = path.join(work, RESUME_MANIFEST);
  if (!fresh && fs.existsSync(manifestFile)) {
    let prev: Partial<Manifest> = {};
    try {
      prev = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest;
    } catch {
      /* unreadable: treat as different */
    }
    const diff: string[] = [];
    if (prev.version !== manifest.version) diff.push('another version of msvsr');
    else {
      if (prev.chunk !== manifest.chunk) diff.push(`--chunk ${prev.chunk ?? 'default'} (now ${manifest.chunk ?? 'default'})`);
      if (prev.overlap !== manifest.overlap) diff.push(`--overlap ${prev.overlap} (now ${manifest.overlap})`);
      if (prev.halo !== manifest.halo) diff.push(`--halo ${prev.halo} (now ${manifest.halo})`);
      if (prev.maxMemory !== manifest.maxMemory) diff.push(`--max-memory ${prev.maxMemory ?? 'default'} (now ${manifest.maxMemory ?? 'default'})`);
      if (prev.precision !== manifest.precision) diff.push(`--precision ${prev.precision} (now ${manifest.precision})`);
      if (prev.weights !== manifest.weights) diff.push('other weights');
      // Same options but other plans: the device (its limits) changed.
      for (const [name, p] of diff.length ? [] : Object.entries(manifest.plans)) {
        if (prev.plans?.[name] !== p) diff.push(`${name ? `sequence ${name}: ` : ''}the plan ${prev.plans?.[name] ?? 'none'} (now ${p}: another device)`);
      }
    }
    if (diff.length) {
      throw new CliError(`--resume: ${work} was started with ${diff.join(', ')}; resume with the same options, or drop --resume to start over`);
    }
  }
  if (fresh) {
    if (partialExists) fs.rmSync(partial, { recursive: true, force: true });
    try {
      fs.mkdirSync(partial);
    } catch (e) {
      throw new CliError(`cannot write ${o.output}: ${why(e)}`);
    }
  }
  let ok = false;
  let interrupted = false;
  const stopInterrupt = onInterrupt(() => {
    interrupted = true;
    process.stderr.write(`\nmsvsr: the finished frames are in ${work}; run the same command with --resume to continue\n`);
  });
  try {
    writeFileAtomic(manifestFile, new TextEncoder().encode(JSON.stringify(manifest)));
    const todo = seqs.map((s, k) => {
      const dir = path.join(work, s.name);
      const chunk = plans[k].chunk;
      const from = fresh || !fs.existsSync(dir) ? 0 : resumePoint(s.frames, chunk, (name) => fs.existsSync(path.join(dir, name)));
      return { s, dir, from, chunk };
    });
    const total = todo.reduce((n, p) => n + p.s.frames.length - p.from, 0);
    const skipped = todo.reduce((n, p) => n + p.from, 0);
    if (skipped) ctx.progress.log(`msvsr: --resume: ${skipped} frames already done, restarting at chunk boundaries`);
    let frames = 0;
    const device = gpu.adapter.name;
    if (total > 0) {
      ctx.progress.total = total;
      ctx.progress.start();
      for (const p of todo) {
        if (p.from >= p.s.frames.length) continue;
        fs.mkdirSync(p.dir, { recursive: true });
        // The stream starts early enough that the first resumed window has the context an uninterrupted run
        // gives it; frames before `from` are read for that context only, not computed.
        const start = streamStart(p.from, p.chunk, ctx.overlap);
        frames += await pump(
          sequenceFrames(p.s, start),
          model,
          gpu,
          ctx,
          (f, i) => {
            writeFileAtomic(path.join(p.dir, p.s.frames[i]), encodePng({ width: f.width, height: f.height, data: f.data as Uint8Array }));
          },
          { chunk: p.chunk, from: p.from, start, total: p.s.frames.length },
        );
      }
    }
    // Complete: drop the manifest and move the folder into place.
    fs.rmSync(manifestFile, { force: true });
    if (work !== out) {
      if (fs.existsSync(out)) {
        const old = tempPath(out, 'old');
        fs.renameSync(out, old);
        fs.renameSync(work, out);
        fs.rmSync(old, { recursive: true, force: true });
      } else fs.renameSync(work, out);
    }
    ok = true;
    const s0 = seqs[0];
    return result(ctx, { frames, skipped, device, output: o.output, kind: 'frames', width: s0.width * 4, height: s0.height * 4 });
  } finally {
    stopInterrupt();
    if (!ok && !interrupted) {
      if (fresh) fs.rmSync(partial, { recursive: true, force: true });
      else process.stderr.write(`msvsr: the frames finished so far are kept in ${work}; run again with --resume to continue\n`);
    }
  }
}
