// `msvsr queue add`: each video probed, checked and analysed here (timestamps, scene cuts: into its work
// folder, which every worker sees), cut into segments of whole chunks, and queued as a BullMQ flow: one job
// per segment, and a join job that BullMQ starts once every segment job has completed. Every input is checked
// before anything is queued, so one bad input queues nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { checkChunkSize, checkHalo, checkOverlap, checkPrecision, DEFAULT_CHUNK, DEFAULT_HALO } from '../index.js';
import { containerOf, VIDEO_EXTENSIONS } from './codecs.js';
import { CliError, why } from './errors.js';
import { findFfmpeg } from './ffmpeg.js';
import { samePath, statOrUndefined, writeFileAtomic } from './files.js';
import { acquireLock } from './lock.js';
import { probeVideo } from './probe.js';
import { Progress } from './progress.js';
import {
  canonicalJson,
  identityHash,
  JOB_VERSION,
  type JoinJobData,
  joinJobId,
  PLAN_FILE,
  QUEUE,
  type QueuedOptions,
  type SegmentJobData,
  segmentJobId,
  type VideoEntry,
  VIDEOS_KEY,
  type VideoPlan,
  videoKey,
} from './queue-jobs.js';
import { connectRedis, explainWriteError } from './queue-redis.js';
import { planSegments } from './segments.js';
import { type Ctx, loadWeights, type UpscaleCommandOptions } from './upscale-common.js';
import { workFolder } from './upscale-video.js';
import { analyseVideo, videoJob } from './video-job.js';

export type QueueAddOptions = Omit<UpscaleCommandOptions, 'input' | 'output' | 'resume' | 'start' | 'duration' | 'frames' | 'compare'> & {
  inputs: string[];
  /** The folder the outputs are written to (one per input, named after it). */
  outDir: string;
  redis: string;
  /** The outputs' container, as an extension (default: the input's when it is one we write, else .mkv). */
  ext?: string;
};

/** Chunks per segment when --segment-frames is not given: a few minutes of work on a software adapter at 180p. */
export const DEFAULT_SEGMENT_CHUNKS = 30;

/** Segment and join jobs retry this often (exponential backoff from 5 s) before they count as failed. */
const ATTEMPTS = 5;

export interface AddedVideo {
  input: string;
  output: string;
  /** 'queued', or why nothing was queued for it. */
  status: 'queued' | 'already queued';
  segments: number;
  frames: number;
  message?: string;
}

export function outputFor(input: string, outDir: string, ext?: string): string {
  const e = ext ? (ext.startsWith('.') ? ext : `.${ext}`).toLowerCase() : path.extname(input).toLowerCase();
  const use = VIDEO_EXTENSIONS.includes(e) ? e : ext ? undefined : '.mkv';
  if (!use) throw new CliError(`--ext ${ext}: use one of ${VIDEO_EXTENSIONS.join(' ')}`);
  return path.join(path.resolve(outDir), `${path.basename(input, path.extname(input))}${use}`);
}

interface Planned {
  input: string;
  output: string;
  key: string;
  data: Omit<SegmentJobData, 'kind' | 'segment'>;
  join: JoinJobData;
  segments: SegmentJobData[];
  /** The work folder was made by this command (removed again if queuing fails). */
  madeWork: boolean;
  work: string;
}

const ACTIVE_STATES = new Set(['waiting', 'waiting-children', 'active', 'delayed', 'prioritized', 'paused']);

export async function queueAdd(o: QueueAddOptions): Promise<AddedVideo[]> {
  if (!o.inputs.length) throw new CliError('queue add: give at least one input video');
  const chunk = checkChunkSize(o.chunk ?? DEFAULT_CHUNK, '--chunk');
  const overlap = checkOverlap(o.overlap, '--overlap');
  const halo = checkHalo(o.halo ?? DEFAULT_HALO, '--halo');
  const precision = checkPrecision(o.precision ?? 'f32', '--precision');
  const segmentFrames = o.segmentFrames ?? chunk * DEFAULT_SEGMENT_CHUNKS;
  if (segmentFrames % chunk !== 0) throw new CliError(`--segment-frames ${segmentFrames}: must be a multiple of the chunk (${chunk})`);
  const st = statOrUndefined(o.outDir);
  if (!st?.isDirectory()) throw new CliError(`-o ${o.outDir}: ${st ? 'not a folder' : 'no such folder'} (the queue writes one video per input into it)`);
  // The real path: one output reached through two paths (a link, a bind mount) is one video, one flow.
  const outDir = fs.realpathSync(o.outDir);
  const outputs = new Map<string, string>();
  for (const input of o.inputs) {
    const out = outputFor(input, outDir, o.ext);
    const other = outputs.get(out);
    if (other) throw new CliError(`${input} and ${other} would both be written to ${out}; queue them into different folders`);
    outputs.set(out, input);
  }
  const tools = findFfmpeg(o.env);
  const progress = new Progress(undefined, { quiet: o.quiet });
  const log = (l: string) => progress.log(`msvsr: ${l}`);

  const conn = await connectRedis(o.redis);
  const queue = new Queue(QUEUE, { connection: conn });
  const flows = new FlowProducer({ connection: conn });
  const planned: Planned[] = [];
  const results: AddedVideo[] = [];
  try {
    for (const [output, input] of outputs) {
      if (!statOrUndefined(input)?.isFile()) throw new CliError(`${input}: no such file`);
      if (samePath(input, output)) throw new CliError(`${output}: the output would overwrite the input; choose another output folder`);
      const key = videoKey(output);
      const old = await queue.getJob(joinJobId(key));
      const state = old ? await old.getState() : undefined;
      if (state && ACTIVE_STATES.has(state)) {
        const entry = await conn.hget(VIDEOS_KEY, key);
        const segs = entry ? (JSON.parse(entry) as VideoEntry).segments : 0;
        results.push({
          input,
          output,
          status: 'already queued',
          segments: segs,
          frames: 0,
          message: `${input}: already in the queue (${state}); nothing added`,
        });
        continue;
      }
      if (fs.existsSync(output) && !o.overwrite) throw new CliError(`${output}: already exists (use --overwrite to replace it)`);
      planned.push(await plan(o, { input, output, key, chunk, overlap, halo, precision, segmentFrames, tools, progress }));
    }
    for (const p of planned) {
      // A finished (or failed) earlier flow of the same output: replaced by this one.
      const old = await queue.getJob(joinJobId(p.key));
      if (old && (await queue.remove(old.id!, { removeChildren: true })) === 0)
        throw new CliError(`${p.input}: its earlier jobs are still held by a worker; try again when they end`);
      const entry: VideoEntry = { input: p.input, output: p.output, segments: p.segments.length, frames: p.join.frames, added: Date.now() };
      try {
        // The entry first: a flow no entry names would be invisible to status and remove.
        await conn.hset(VIDEOS_KEY, p.key, JSON.stringify(entry));
        await flows.add({
          name: 'join',
          queueName: QUEUE,
          data: p.join,
          opts: { jobId: joinJobId(p.key), attempts: ATTEMPTS, backoff: { type: 'exponential', delay: 5000 } },
          children: p.segments.map((s) => ({
            name: 'segment',
            queueName: QUEUE,
            data: s,
            opts: { jobId: segmentJobId(p.key, s.segment.index), attempts: ATTEMPTS, backoff: { type: 'exponential', delay: 5000 } },
          })),
        });
      } catch (e) {
        await conn.hdel(VIDEOS_KEY, p.key).catch(() => {});
        if (p.madeWork) fs.rmSync(p.work, { recursive: true, force: true });
        throw await explainWriteError(conn, e, o.redis, p.input);
      }
      log(`queued ${p.input} -> ${p.output}: ${p.join.frames} frames in ${p.segments.length} segment(s)`);
      results.push({ input: p.input, output: p.output, status: 'queued', segments: p.segments.length, frames: p.join.frames });
    }
  } catch (e) {
    // Work folders made for inputs that were not queued.
    for (const p of planned) if (p.madeWork && !results.some((r) => r.output === p.output)) fs.rmSync(p.work, { recursive: true, force: true });
    throw e;
  } finally {
    await flows.close();
    await queue.close();
    await closeQuietly(conn);
  }
  for (const r of results) if (r.message) log(r.message);
  return results;
}

export async function closeQuietly(conn: Redis): Promise<void> {
  try {
    await conn.quit();
  } catch {
    conn.disconnect();
  }
}

interface PlanArgs {
  input: string;
  output: string;
  key: string;
  chunk: number;
  overlap: number;
  halo: number;
  precision: 'f32' | 'f16';
  segmentFrames: number;
  tools: ReturnType<typeof findFfmpeg>;
  progress: Progress;
}

/** One input's checks, analysis and jobs (nothing in Redis yet). */
async function plan(o: QueueAddOptions, a: PlanArgs): Promise<Planned> {
  const input = path.resolve(a.input);
  const container = containerOf(a.output)!;
  const ctxOptions: UpscaleCommandOptions = {
    ...o,
    input,
    output: a.output,
    chunk: a.chunk,
    overlap: a.overlap,
    halo: a.halo,
    precision: a.precision,
    quiet: true,
  };
  const ctx: Ctx = { o: ctxOptions, overlap: a.overlap, progress: a.progress, t0: performance.now() };
  const info = probeVideo(a.tools, input);
  const job = videoJob(ctx, a.tools, info, container);
  const w = await loadWeights(ctx);
  const explicit = o.weights ?? (o.model ? undefined : (o.env?.MSVSR_WEIGHTS ?? process.env.MSVSR_WEIGHTS));
  const options: QueuedOptions = {
    weights: explicit ? path.resolve(explicit) : null,
    model: explicit ? null : (w.model ?? 'reds'),
    weightsSha256: w.sha256,
    chunk: a.chunk,
    overlap: a.overlap,
    halo: a.halo,
    maxMemory: o.maxMemory ?? null,
    precision: a.precision,
    tune: o.tune ?? 'cached',
    codec: job.codec,
    crf: o.crf ?? null,
    preset: o.preset ?? null,
    encoderArgs: o.encoderArgs ?? null,
    pixFmt: o.pixFmt ?? null,
    copyStreams: o.copyStreams !== false,
    drop: o.drop ?? [],
    deinterlace: o.deinterlace !== false,
    sceneCuts: o.sceneCuts !== false,
    sceneThreshold: o.sceneThreshold ?? null,
  };
  const work = workFolder(a.output);
  // A single-process run writing the same output would share the work folder: refused while it runs.
  const unlock = acquireLock(a.output);
  let madeWork = false;
  try {
    const description = canonicalJson({ identity: job.identity, options, segmentFrames: a.segmentFrames } satisfies VideoPlan);
    const descFile = path.join(work, PLAN_FILE);
    const same = fs.existsSync(descFile) && fs.readFileSync(descFile, 'utf8') === description;
    if (!same) {
      // Segments of other options (or an interrupted `msvsr upscale`): not ours to reuse.
      fs.rmSync(work, { recursive: true, force: true });
      try {
        fs.mkdirSync(work);
      } catch (e) {
        throw new CliError(`cannot write ${a.output}: ${why(e)}`);
      }
      madeWork = true;
    }
    const { pts, cuts } = await analyseVideo(job, work);
    writeFileAtomic(descFile, new TextEncoder().encode(description));
    const n = pts.length;
    const segs = planSegments(0, n, n, a.chunk, cuts, a.segmentFrames);
    const data = { version: JOB_VERSION, video: a.key, input, output: a.output, identity: identityHash(job.identity), options } as const;
    return {
      input,
      output: a.output,
      key: a.key,
      data,
      join: { ...data, kind: 'join', segments: segs, frames: n, overwrite: !!o.overwrite },
      segments: segs.map((segment) => ({ ...data, kind: 'segment', segment })),
      madeWork,
      work,
    };
  } catch (e) {
    if (madeWork) fs.rmSync(work, { recursive: true, force: true });
    throw e;
  } finally {
    unlock();
  }
}
