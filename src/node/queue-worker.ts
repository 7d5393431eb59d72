// `msvsr worker`: takes segment and join jobs from the queue. A segment job decodes exactly its frames (the
// segment's chunks and their context frames, found by frame index through the video's analysis and counted),
// upscales them, encodes the segment into a hidden temporary file and publishes it into the video's work
// folder with a hard link, which fails if the name exists — so a segment is published once even when a worker
// taken for dead (its lock expired) finishes it after another did. A worker killed mid-segment leaves only its
// temporary file, which the next worker on that segment (or the join) removes. BullMQ renews the job's lock
// while the worker lives; a lock left to expire puts the job back for another worker.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { getDevice, type Gpu, type Model, modelFrom } from '../index.js';
import { containerOf } from './codecs.js';
import { CliError, why } from './errors.js';
import { findFfmpeg } from './ffmpeg.js';
import { onInterrupt, removeLeftovers } from './files.js';
import { probeVideo } from './probe.js';
import { Progress } from './progress.js';
import { closeQuietly } from './queue-add.js';
import {
  canonicalJson,
  identityHash,
  type JobData,
  type JobPolicy,
  type JoinJobData,
  PLAN_FILE,
  parseJobData,
  QUEUE,
  type SegmentJobData,
  type VideoPlan,
} from './queue-jobs.js';
import { connectRedis, redactUrl } from './queue-redis.js';
import { planSegments, type Segment } from './segments.js';
import { MUX_CHECK } from './streams.js';
import { type Ctx, loadWeights, type UpscaleCommandOptions } from './upscale-common.js';
import { modelPath } from './weights.js';
import { joinSegments, segmentFile, upscaleSegment, workFolder } from './upscale-video.js';
import { type Analysis, analyseVideo, type VideoJob, videoJob } from './video-job.js';

export interface WorkerOptions {
  redis: string;
  /** Jobs run at once by this process (they share its GPU device). */
  concurrency?: number;
  /** WebGPU adapter name filter. */
  adapter?: string;
  /** Folders whose videos, weights and outputs this worker may read and write (default: the current folder). */
  roots?: string[];
  allowEncoderArgs?: boolean;
  /** Seconds a job's lock lasts without renewal before another worker may take the job (default 30). */
  lockSeconds?: number;
  quiet?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** What computes one segment: the network normally; the queue benchmark swaps in one that does nothing. */
export type SegmentUpscaler = typeof upscaleSegment;

export interface SegmentResult {
  frames: number;
  /** This worker published the segment (false: it was already there, or another worker published it first). */
  published: boolean;
  seconds: number;
  worker: string;
}

export interface JoinResult {
  output: string;
  frames: number;
  worker: string;
  /** Each publication of a segment file, in order: one per segment unless something is badly wrong. */
  published: Array<{ segment: number; worker: string }>;
}

/** A line per publication in the work folder: the record that no segment was published twice. */
export const PUBLISHED_LOG = 'published.log';

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped (close, or a fatal error). */
  closed: Promise<void>;
  close(): Promise<void>;
}

export async function startWorker(o: WorkerOptions, upscale: SegmentUpscaler = upscaleSegment): Promise<RunningWorker> {
  const roots = (o.roots?.length ? o.roots : [process.cwd()]).map((r) => path.resolve(r));
  for (const r of roots) if (!fs.statSync(r, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`--root ${r}: no such folder`);
  const policy: JobPolicy = { roots, allowEncoderArgs: !!o.allowEncoderArgs };
  const me = `${os.hostname()}:${process.pid}`;
  const log = (l: string) => {
    if (!o.quiet) process.stderr.write(`msvsr worker ${me}: ${l}\n`);
  };
  const conn = await connectRedis(o.redis, { reconnect: true, onReconnecting: () => log(`lost Redis at ${redactUrl(o.redis)}; reconnecting`) });
  let gpu: Gpu;
  try {
    gpu = await getDevice({ adapter: o.adapter ?? o.env?.MSVSR_ADAPTER });
  } catch (e) {
    await closeQuietly(conn);
    throw e;
  }
  const env = o.env ?? process.env;
  const lockMs = 1000 * (o.lockSeconds ?? 30);
  const state: Env = { gpu, env, me, log, upscale, videos: new Map(), models: new Map() };
  const worker = new Worker(
    QUEUE,
    async (job: Job) => {
      let d: JobData;
      try {
        d = parseJobData(job.data, policy);
        if (d.kind !== job.name) throw new Error(`a ${job.name} job holds ${d.kind} data`);
      } catch (e) {
        throw new UnrecoverableError(`refused: ${(e as Error).message}`);
      }
      return d.kind === 'segment' ? runSegment(d, job, state) : runJoin(d, state);
    },
    // A killed worker's job is taken again after its lock expires; a job whose workers keep dying fails.
    { connection: conn, concurrency: o.concurrency ?? 1, lockDuration: lockMs, stalledInterval: lockMs, maxStalledCount: 10 },
  );
  worker.on('failed', (job, e) => log(`${job?.name ?? 'job'} ${job?.id ?? ''} failed (attempt ${job?.attemptsMade ?? '?'}): ${e.message}`));
  worker.on('error', (e) => log(`queue error: ${e.message}`));
  log(`on ${gpu.adapter.name}, serving ${roots.join(', ')}, ${o.concurrency ?? 1} job(s) at a time`);
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await worker.close();
      gpu.destroy();
      await closeQuietly(conn);
      resolveClosed();
    })();
    return closing;
  };
  return { worker, closed, close };
}

/** Runs a worker until the process is stopped (Ctrl-C, SIGTERM): jobs in progress go back to the queue. */
export async function runWorker(o: WorkerOptions): Promise<void> {
  const w = await startWorker(o);
  onInterrupt(() => process.stderr.write(`msvsr worker: stopping; the jobs in progress are taken again by a worker after ${o.lockSeconds ?? 30} s\n`));
  await w.closed;
}

interface Env {
  gpu: Gpu;
  /** Video jobs decided, per video and options (see prepare). */
  videos: Map<string, { vj: VideoJob; size: number; mtimeMs: number }>;
  models: Map<string, { sha256: string; model: Model }>;
  env: NodeJS.ProcessEnv;
  me: string;
  log: (l: string) => void;
  upscale: SegmentUpscaler;
}

interface Prepared {
  ctx: Ctx;
  vj: VideoJob;
  work: string;
}

/**
 * The video job a message describes, checked against the input as it is now. Probing the input and checking
 * the encoder and streams takes half a dozen ffmpeg runs, so a worker keeps what it decided per video and
 * options, and reuses it while the input's size and time are unchanged.
 */
function prepare(d: JobData, env: Env): Prepared {
  const q = d.options;
  const o: UpscaleCommandOptions = {
    input: d.input,
    output: d.output,
    weights: q.weights ?? undefined,
    model: q.model ?? undefined,
    chunk: q.chunk,
    overlap: q.overlap,
    halo: q.halo,
    maxMemory: q.maxMemory ?? undefined,
    precision: q.precision,
    tune: q.tune,
    codec: q.codec,
    crf: q.crf ?? undefined,
    preset: q.preset ?? undefined,
    encoderArgs: q.encoderArgs ?? undefined,
    pixFmt: q.pixFmt ?? undefined,
    copyStreams: q.copyStreams,
    drop: q.drop,
    deinterlace: q.deinterlace,
    sceneCuts: q.sceneCuts,
    sceneThreshold: q.sceneThreshold ?? undefined,
    overwrite: d.kind === 'join' && d.overwrite,
    quiet: true,
    env: env.env,
  };
  const ctx: Ctx = { o, overlap: q.overlap, progress: new Progress(undefined, { quiet: true }), t0: performance.now() };
  const container = containerOf(d.output);
  if (!container) throw new UnrecoverableError(`${d.output}: not a video container we write`);
  const st = fs.statSync(d.input, { throwIfNoEntry: false });
  if (!st) throw new Error(`${d.input}: no such file (is the shared folder mounted on this worker?)`);
  const key = JSON.stringify([d.video, d.identity, o]);
  let hit = env.videos.get(key);
  if (!hit || hit.size !== st.size || hit.mtimeMs !== st.mtimeMs) {
    const tools = findFfmpeg(env.env);
    const vj = videoJob(ctx, tools, probeVideo(tools, d.input), container);
    if (identityHash(vj.identity) !== d.identity)
      throw new UnrecoverableError(
        `${d.input}: changed since it was queued (or this worker encodes differently); remove the video from the queue and add it again`,
      );
    hit = { vj, size: st.size, mtimeMs: st.mtimeMs };
    env.videos.delete(key);
    env.videos.set(key, hit);
    while (env.videos.size > 16) env.videos.delete(env.videos.keys().next().value!);
  }
  return { ctx, vj: { ...hit.vj, ctx }, work: workFolder(d.output) };
}

/** The job's weights, parsed once per file (and again when its size or time changes), checked by SHA-256. */
async function modelFor(ctx: Ctx, d: JobData, env: Env): Promise<Model> {
  const q = d.options;
  const file = q.weights ?? modelPath(q.model!, env.env);
  const st = fs.statSync(file, { throwIfNoEntry: false });
  const key = `${file}|${st?.size}|${st?.mtimeMs}`;
  const hit = st && env.models.get(key);
  if (hit && hit.sha256 === q.weightsSha256) return hit.model;
  const w = await loadWeights(ctx);
  if (w.sha256 !== q.weightsSha256)
    throw new UnrecoverableError(
      `weights ${w.file}: not the file the video was queued with (SHA-256 ${w.sha256.slice(0, 12)}…, queued ${q.weightsSha256.slice(0, 12)}…)`,
    );
  const model = modelFrom(w.weights);
  const now = fs.statSync(w.file, { throwIfNoEntry: false });
  env.models.clear(); // one model at a time: a farm works through one set of weights
  env.models.set(`${w.file}|${now?.size}|${now?.mtimeMs}`, { sha256: w.sha256, model });
  return model;
}

/**
 * The video's analysis and segments as `queue add` made them, from its work folder: a job's segment must be
 * the one of that plan with its index (a forged or stale message cannot make a worker publish other frames
 * under a segment's name). The folder must be a real folder, not a link out of the served roots.
 */
async function videoPlan(d: JobData, vj: VideoJob, work: string): Promise<{ analysis: Analysis; segments: Segment[] }> {
  const st = fs.lstatSync(work, { throwIfNoEntry: false });
  if (!st) throw new UnrecoverableError(`${work}: the video's work folder is gone (removed from the queue?); add the video again`);
  if (!st.isDirectory()) throw new UnrecoverableError(`${work}: not a folder (a link?); refused`);
  let plan: VideoPlan;
  try {
    plan = JSON.parse(fs.readFileSync(path.join(work, PLAN_FILE), 'utf8')) as VideoPlan;
  } catch (e) {
    throw new UnrecoverableError(`${path.join(work, PLAN_FILE)}: unreadable (${why(e)}); add the video again`);
  }
  // vj's identity was checked against the message's (prepare); the plan's is kept with sorted keys.
  if (
    canonicalJson(plan.identity) !== canonicalJson(vj.identity) ||
    canonicalJson(plan.options) !== canonicalJson(d.options) ||
    !Number.isSafeInteger(plan.segmentFrames)
  )
    throw new UnrecoverableError(`${work}: holds another queuing of ${d.input} (other options or input); add the video again`);
  // Analysed when added: a worker never re-analyses (a long synchronous probe would stop its heartbeats).
  if (!fs.existsSync(path.join(work, 'analysis.json'))) throw new UnrecoverableError(`${work}: its analysis is missing; add the video again`);
  const analysis = await analyseVideo(vj, work);
  const n = analysis.pts.length;
  return { analysis, segments: planSegments(0, n, n, d.options.chunk, analysis.cuts, plan.segmentFrames) };
}

async function runSegment(d: SegmentJobData, job: Job, env: Env): Promise<SegmentResult> {
  const t0 = performance.now();
  const { ctx, vj, work } = prepare(d, env);
  const seg = d.segment;
  const file = segmentFile(work, seg.index, vj.segment);
  const result = (frames: number, published: boolean): SegmentResult => ({ frames, published, seconds: (performance.now() - t0) / 1000, worker: env.me });
  const { analysis, segments } = await videoPlan(d, vj, work);
  if (canonicalJson(segments[seg.index]) !== canonicalJson(seg))
    throw new UnrecoverableError(`segment ${seg.index} of ${d.input}: frames ${seg.start}-${seg.end - 1} are not that segment of the video's plan; refused`);
  if (fs.existsSync(file)) return result(seg.end - seg.start, false);
  // What a worker killed on this segment left (the job is ours now: no one else writes these).
  removeLeftovers(file, ['partial']);
  const model = await modelFor(ctx, d, env);
  const name = path.basename(d.input);
  env.log(`${name} segment ${seg.index}: frames ${seg.start}-${seg.end - 1}`);
  const tick = setInterval(() => {
    job.updateProgress({ done: ctx.progress.done, frames: seg.end - seg.start }).catch(() => {});
  }, 1000);
  let r: { frames: number; published: boolean };
  try {
    r = await env.upscale(ctx, vj, work, seg, analysis, model, env.gpu);
  } finally {
    clearInterval(tick);
  }
  if (r.published) {
    fs.appendFileSync(path.join(work, PUBLISHED_LOG), `${JSON.stringify({ segment: seg.index, worker: env.me, at: Date.now() })}\n`);
  }
  const out = result(r.frames, r.published);
  env.log(
    `${name} segment ${seg.index}: ${r.frames} frames in ${out.seconds.toFixed(1)} s${r.published ? '' : ' (already published by another worker: dropped)'}`,
  );
  return out;
}

async function runJoin(d: JoinJobData, env: Env): Promise<JoinResult> {
  const { vj, work } = prepare(d, env);
  // A join that wrote the output and was stopped before BullMQ heard of it: done (see JOINED below).
  const joined = path.join(work, JOINED);
  if (fs.existsSync(d.output) && (fs.existsSync(joined) || !fs.existsSync(work))) {
    const published = publications(work);
    fs.rmSync(work, { recursive: true, force: true });
    return { output: d.output, frames: d.frames, worker: env.me, published };
  }
  const { analysis, segments } = await videoPlan(d, vj, work);
  if (analysis.pts.length !== d.frames || canonicalJson(segments) !== canonicalJson(d.segments))
    throw new UnrecoverableError(`${d.input}: the join's segments are not the video's plan; add it again`);
  const missing = d.segments.filter((s) => !fs.existsSync(segmentFile(work, s.index, vj.segment))).map((s) => s.index);
  if (missing.length) throw new Error(`${work}: segment file(s) ${missing.join(', ')} missing (deleted?); remove the video and add it again`);
  if (fs.existsSync(d.output) && !d.overwrite) throw new UnrecoverableError(`${d.output}: already exists (queue it with --overwrite to replace it)`);
  // What a join killed before left beside the output.
  removeLeftovers(d.output, ['partial', MUX_CHECK]);
  const n = d.frames;
  try {
    await joinSegments(vj, work, d.segments, analysis.pts, [0, n], n);
  } catch (e) {
    throw e instanceof CliError ? e : new Error(`joining ${d.output}: ${why(e)}`);
  }
  fs.writeFileSync(joined, '');
  const published = publications(work);
  fs.rmSync(work, { recursive: true, force: true });
  env.log(`wrote ${d.output}: ${n} frames from ${d.segments.length} segment(s)`);
  return { output: d.output, frames: n, worker: env.me, published };
}

/** Written into the work folder right after the join's output is in place. */
const JOINED = 'joined';

/** Who published each segment (from PUBLISHED_LOG; kept in the join's result once the work folder is gone). */
function publications(work: string): Array<{ segment: number; worker: string }> {
  let text = '';
  try {
    text = fs.readFileSync(path.join(work, PUBLISHED_LOG), 'utf8');
  } catch {
    return [];
  }
  const out: Array<{ segment: number; worker: string }> = [];
  for (const l of text.split('\n')) {
    try {
      const { segment, worker } = JSON.parse(l) as { segment: number; worker: string };
      out.push({ segment, worker });
    } catch {
      /* an empty or torn line (a worker killed while appending) */
    }
  }
  return out;
}
