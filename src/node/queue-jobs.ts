// The messages of the job queue (queue-add.ts puts them, queue-worker.ts takes them) and their check. A job
// message is input from the network: anyone who can write to Redis can write one. So a worker believes
// nothing in it: every field is checked for type and range, every path must lie inside the folders the worker
// was told to serve (after following symbolic links), and options that would hand ffmpeg arbitrary arguments
// are refused unless the worker allows them.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENCODER_NAMES, VIDEO_EXTENSIONS } from './codecs.js';
import type { Segment } from './segments.js';
import { DROPPABLE, type Droppable } from './streams.js';
import { MODEL_NAMES, type ModelName } from './weights.js';

/** The BullMQ queue of segment and join jobs. */
export const QUEUE = 'msvsr';
/** A Redis hash: video key -> the VideoEntry of each video added. */
export const VIDEOS_KEY = 'msvsr:videos';
export const JOB_VERSION = 1;
/** The file in a video's work folder that says how `queue add` cut it (see VideoPlan). */
export const PLAN_FILE = 'queue.json';

/** What `queue add` decided for a video, kept beside its segments: a worker checks each job against it. */
export interface VideoPlan {
  identity: Record<string, unknown>;
  options: QueuedOptions;
  segmentFrames: number;
}

/** What every job of a video runs with: the upscale options, fixed when the video was added. */
export interface QueuedOptions {
  /** An absolute weights file, or null for `model` (resolved, and downloaded if need be, by each worker). */
  weights: string | null;
  model: ModelName | null;
  /** The weights' SHA-256 when added: a worker whose file differs refuses the job. */
  weightsSha256: string;
  chunk: number;
  overlap: number;
  halo: number;
  maxMemory: number | null;
  precision: 'f32' | 'f16';
  tune: 'off' | 'cached' | 'full';
  codec: string;
  crf: number | null;
  preset: string | null;
  encoderArgs: string | null;
  pixFmt: string | null;
  copyStreams: boolean;
  drop: Droppable[];
  deinterlace: boolean;
  sceneCuts: boolean;
  sceneThreshold: number | null;
}

interface VideoRef {
  version: typeof JOB_VERSION;
  /** videoKey(output). */
  video: string;
  input: string;
  output: string;
  /** SHA-256 of the video job's identity (input file, size, time, encoder options): a changed input is refused. */
  identity: string;
  options: QueuedOptions;
}

export interface SegmentJobData extends VideoRef {
  kind: 'segment';
  segment: Segment;
}

export interface JoinJobData extends VideoRef {
  kind: 'join';
  segments: Segment[];
  /** Frames of the input (all of them are written). */
  frames: number;
  /** Replace an output that exists when the join runs. */
  overwrite: boolean;
}

export type JobData = SegmentJobData | JoinJobData;

/** What the videos hash holds for each video: enough for `queue status` without reading every job. */
export interface VideoEntry {
  input: string;
  output: string;
  segments: number;
  frames: number;
  added: number;
}

/** A video's key: its output path, hashed (BullMQ job ids may not hold ':' or '/'). */
export function videoKey(output: string): string {
  return createHash('sha256').update(path.resolve(output)).digest('hex').slice(0, 16);
}

export const joinJobId = (video: string) => `${video}-join`;
export const segmentJobId = (video: string, index: number) => `${video}-seg-${index}`;

export function identityHash(identity: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

/** JSON with object keys sorted: the same value gives the same text whatever order it was built in. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    isObj(x)
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .map((k) => [k, (x as Obj)[k]]),
        )
      : x,
  );
}

export class JobDataError extends Error {
  override name = 'JobDataError';
}

export interface JobPolicy {
  /** Folders the worker serves: every input, output and weights file must lie inside one of them. */
  roots: readonly string[];
  /** Accept --encoder-args (free ffmpeg arguments); off by default. */
  allowEncoderArgs: boolean;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(field: string, want: string, got: unknown): never {
  const shown = typeof got === 'string' ? JSON.stringify(got.length > 80 ? `${got.slice(0, 80)}…` : got) : JSON.stringify(got)?.slice(0, 80);
  throw new JobDataError(`${field}: expected ${want}, found ${shown ?? typeof got}`);
}

function int(o: Obj, k: string, min: number, max: number, field = k): number {
  const v = o[k];
  if (!(Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max)) fail(field, `an integer in [${min}, ${max}]`, v);
  return v as number;
}

function str(o: Obj, k: string, re: RegExp, want: string, field = k): string {
  const v = o[k];
  if (typeof v !== 'string' || !re.test(v)) fail(field, want, v);
  return v as string;
}

function nullable<T>(o: Obj, k: string, read: (o: Obj, k: string) => T): T | null {
  return o[k] === null ? null : read(o, k);
}

function bool(o: Obj, k: string, field = k): boolean {
  if (typeof o[k] !== 'boolean') fail(field, 'true or false', o[k]);
  return o[k] as boolean;
}

function oneOf<T extends string>(o: Obj, k: string, values: readonly T[], field = k): T {
  const v = o[k];
  if (!values.includes(v as T)) fail(field, `one of ${values.join(', ')}`, v);
  return v as T;
}

/** The real path of `p`, or of its nearest existing parent joined with the rest (an output not written yet). */
function realish(p: string): string {
  let head = p;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(head), ...rest.reverse());
    } catch {
      const up = path.dirname(head);
      if (up === head) return p;
      rest.push(path.basename(head));
      head = up;
    }
  }
}

/** Whether `p` is `root` or inside it (both absolute, already real). */
export function isInside(p: string, root: string): boolean {
  const r = path.relative(root, p);
  return r === '' || (!r.startsWith('..') && !path.isAbsolute(r));
}

function servedPath(o: Obj, k: string, policy: JobPolicy, field = k): string {
  const v = str(o, k, /^\/[^\0]*$/, 'an absolute path', field);
  if (path.normalize(v) !== v) fail(field, 'a normalised path (no . or .. parts)', v);
  const real = realish(v);
  const roots = policy.roots.map((r) => realish(path.resolve(r)));
  if (!roots.some((r) => isInside(real, r)))
    throw new JobDataError(`${field} ${v}: outside the folders this worker serves (${policy.roots.join(', ')}); refused`);
  return v;
}

function segment(v: unknown, field: string, frames: number): Segment {
  if (!isObj(v)) fail(field, 'an object', v);
  const index = int(v, 'index', 0, 10_000_000, `${field}.index`);
  const from = int(v, 'from', 0, frames, `${field}.from`);
  const start = int(v, 'start', from, frames, `${field}.start`);
  const end = int(v, 'end', start + 1, frames, `${field}.end`);
  return { index, from, start, end };
}

const MAX_FRAMES = 100_000_000;

function options(v: unknown, policy: JobPolicy): QueuedOptions {
  if (!isObj(v)) fail('options', 'an object', v);
  const f = (k: string) => `options.${k}`;
  const weights = v.weights === null ? null : servedPath(v, 'weights', policy, f('weights'));
  const model = v.model === null ? null : oneOf(v, 'model', MODEL_NAMES, f('model'));
  if ((weights === null) === (model === null)) throw new JobDataError('options: give exactly one of weights and model');
  const encoderArgs = nullable(v, 'encoderArgs', (o, k) => str(o, k, /^[^\0]{0,4000}$/, 'a string', f(k)));
  if (encoderArgs !== null && !policy.allowEncoderArgs)
    throw new JobDataError('options.encoderArgs: free encoder arguments are refused by this worker (start it with --allow-encoder-args to accept them)');
  const drop = v.drop;
  if (!Array.isArray(drop) || drop.some((d) => !(DROPPABLE as readonly unknown[]).includes(d))) fail(f('drop'), `a list of ${DROPPABLE.join(', ')}`, drop);
  return {
    weights,
    model,
    weightsSha256: str(v, 'weightsSha256', /^[0-9a-f]{64}$/, 'a SHA-256 in hex', f('weightsSha256')),
    chunk: int(v, 'chunk', 1, 1000, f('chunk')),
    overlap: int(v, 'overlap', 0, 1000, f('overlap')),
    halo: int(v, 'halo', 0, 4096, f('halo')),
    maxMemory: nullable(v, 'maxMemory', (o, k) => int(o, k, 1, 2 ** 50, f(k))),
    precision: oneOf(v, 'precision', ['f32', 'f16'] as const, f('precision')),
    tune: oneOf(v, 'tune', ['off', 'cached', 'full'] as const, f('tune')),
    codec: oneOf(v, 'codec', ENCODER_NAMES, f('codec')),
    crf: nullable(v, 'crf', (o, k) => int(o, k, 0, 255, f(k))),
    preset: nullable(v, 'preset', (o, k) => str(o, k, /^[A-Za-z0-9_-]{1,32}$/, 'a preset name', f(k))),
    encoderArgs,
    pixFmt: nullable(v, 'pixFmt', (o, k) => str(o, k, /^[a-z0-9_]{1,32}$/, 'a pixel format name', f(k))),
    copyStreams: bool(v, 'copyStreams', f('copyStreams')),
    drop: drop as Droppable[],
    deinterlace: bool(v, 'deinterlace', f('deinterlace')),
    sceneCuts: bool(v, 'sceneCuts', f('sceneCuts')),
    sceneThreshold: nullable(v, 'sceneThreshold', (o, k) => {
      const x = o[k];
      if (!(typeof x === 'number' && x > 0 && x <= 1)) fail(f(k), 'a number in (0, 1]', x);
      return x as number;
    }),
  };
}

/** The job's data, checked against `policy`; throws a JobDataError naming the first field that is wrong. */
export function parseJobData(raw: unknown, policy: JobPolicy): JobData {
  if (!isObj(raw)) fail('job data', 'an object', raw);
  if (raw.version !== JOB_VERSION) fail('version', String(JOB_VERSION), raw.version);
  const kind = oneOf(raw, 'kind', ['segment', 'join'] as const);
  const output = servedPath(raw, 'output', policy);
  if (!VIDEO_EXTENSIONS.includes(path.extname(output).toLowerCase())) fail('output', `a video file (${VIDEO_EXTENSIONS.join(' ')})`, output);
  const video = str(raw, 'video', /^[0-9a-f]{16}$/, 'a video key');
  if (video !== videoKey(output)) throw new JobDataError(`video ${video}: not the key of output ${output}`);
  const ref: VideoRef = {
    version: JOB_VERSION,
    video,
    input: servedPath(raw, 'input', policy),
    output,
    identity: str(raw, 'identity', /^[0-9a-f]{64}$/, 'a SHA-256 in hex'),
    options: options(raw.options, policy),
  };
  if (kind === 'segment') return { ...ref, kind, segment: segment(raw.segment, 'segment', MAX_FRAMES) };
  const frames = int(raw, 'frames', 1, MAX_FRAMES);
  if (!Array.isArray(raw.segments) || raw.segments.length === 0) fail('segments', 'a non-empty list', raw.segments);
  const segments = raw.segments.map((s, k) => segment(s, `segments[${k}]`, frames));
  segments.forEach((s, k) => {
    if (s.index !== k) fail(`segments[${k}].index`, String(k), s.index);
    if (k > 0 && s.start !== segments[k - 1].end) fail(`segments[${k}].start`, `${segments[k - 1].end} (the previous segment's end)`, s.start);
  });
  if (segments[0].start !== 0 || segments[segments.length - 1].end !== frames) fail('segments', `frames 0 to ${frames} covered`, raw.segments.length);
  return { ...ref, kind, segments, frames, overwrite: bool(raw, 'overwrite') };
}
