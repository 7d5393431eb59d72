// onnxruntime-node peer for the PP-MSVSR benchmark: runs an ONNX export of the PyTorch reference
// (tools/reference/export_onnx.py: input `lq` [1,T,3,H,W] float32, output `out` [1,T,3,4H,4W]) with the
// CPU or the native WebGPU execution provider, in this process, and times it.
//
//   import { runOrtPeer } from './peers/ort.js';
//   const r = await runOrtPeer({ model: 'bench/.cache/msvsr_t2_64x64_s1.onnx', frames, T: 2, h: 64, w: 64,
//                                ep: 'cpu', warmup: 1, reps: 3 });
//
// Timing: one chunk = one session.run() on all T frames, from the call to the resolved promise, input
// upload and output download included (for the webgpu EP the output comes back to the CPU; that is the
// only place ORT puts it by default). Input tensor creation is outside the timed region.
//
// Op placement: by default a separate profiling session runs the model once first (`placementProbe`),
// and the notes say which ops ran on which provider (ORT's profile JSON has one event per node with
// `args.provider`). With the webgpu EP, ORT 1.30 has no WebGPU DeformConv: those nodes run on the CPU EP,
// with MemcpyToHost / MemcpyFromHost around them; the notes state it from the profile.
//
// onnxruntime-node (288 MB with its binaries) is not a dependency of the project: it is only a benchmark
// peer. `npm run bench:peers` installs it into bench/.cache (git-ignored), and it is loaded from there on
// first use; importing this module needs nothing.
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The part of onnxruntime-node's API used here.
interface Tensor {
  readonly data: unknown;
  dispose(): void;
}
interface InferenceSession {
  readonly outputNames: readonly string[];
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  endProfiling(): void;
  release(): Promise<void>;
}
declare namespace InferenceSession {
  type SessionOptions = Record<string, unknown> & { executionProviders?: unknown[] };
}
interface Ort {
  InferenceSession: { create(path: string, options: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => Tensor;
  env: { versions?: { node?: string; common?: string } };
}

/** Where `npm run bench:peers` installs the peers' npm packages. */
export const PEER_CACHE = fileURLToPath(new URL('../../../bench/.cache/', import.meta.url));

export type OrtEp = 'cpu' | 'webgpu';

export interface OrtPeerOptions {
  /** path to the .onnx model (fixed T, h, w) */
  model: string;
  /** [T,3,h,w] float32, values in [0,1] */
  frames: Float32Array;
  T: number;
  h: number;
  w: number;
  ep: OrtEp;
  warmup: number;
  reps: number;
  /** intra-op threads of the CPU EP (also used by CPU-fallback nodes under webgpu); default: ORT's (all cores) */
  threads?: number;
  /** run a separate profiling session once first to learn where every op ran (default: true for webgpu, false
   *  for cpu). It costs one extra run, outside the timings. */
  placementProbe?: boolean;
  /** webgpu EP only: ORT's preferredLayout (default: ORT's default) */
  webgpuLayout?: 'NCHW' | 'NHWC';
  /** ORT log severity, 0 verbose .. 4 fatal (default 3: errors only; ORT's warnings go to stderr) */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

export interface OrtPlacement {
  /** `${provider}/${op}` -> number of node executions in one run */
  counts: Record<string, number>;
  /** ops with float outputs that ran on the CPU EP although another EP was requested (ORT's own CPU placement of
   *  int64 shape arithmetic is not counted) */
  cpuFallbackOps: string[];
  /** total kernel time per provider in the probe run, seconds (profiling overhead included) */
  secondsByProvider: Record<string, number>;
}

export interface OrtPeerResult {
  name: string;
  ep: OrtEp;
  /** median seconds of one session.run over `reps` timed runs */
  secondsPerChunk: number;
  secondsPerFrame: number;
  /** the first run of the timed session, seconds (after the placement probe, if any, which ran the model once
   *  in another session of the same process: for webgpu, ORT's process-wide device may then have warm caches) */
  firstRunSeconds: number;
  sessionCreateSeconds: number;
  /** every timed run, seconds */
  runs: number[];
  /** [T,3,4h,4w] float32 from the last run */
  output: Float32Array;
  notes: string[];
  placement?: OrtPlacement;
  /** export_onnx.py's metadata from the model's doc_string, when present */
  exportInfo?: Record<string, unknown>;
  ortVersion: string;
}

/** export_onnx.py's JSON doc_string (ModelProto field 6, written before the graph, so near the file start) */
export function readExportInfo(model: string): Record<string, unknown> | undefined {
  const fd = openSync(model, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString('latin1');
    const i = text.indexOf('{"config":');
    if (i < 0) return undefined;
    const j = text.indexOf('}', i);
    return j < 0 ? undefined : (JSON.parse(text.slice(i, j + 1)) as Record<string, unknown>);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

async function loadOrt(): Promise<Ort> {
  let path: string;
  try {
    path = createRequire(join(PEER_CACHE, 'package.json')).resolve('onnxruntime-node');
  } catch {
    throw new Error(`onnxruntime-node is not installed for the benchmark: run \`npm run bench:peers\` (installs it into ${PEER_CACHE})`);
  }
  const mod = (await import(pathToFileURL(path).href)) as { default?: Ort } & Ort;
  return mod.default ?? mod;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

type ExecutionProviders = unknown[];

function sessionOptions(o: OrtPeerOptions, extra: Record<string, unknown>): InferenceSession.SessionOptions {
  const eps: ExecutionProviders = o.ep === 'webgpu' ? [o.webgpuLayout ? { name: 'webgpu', preferredLayout: o.webgpuLayout } : 'webgpu'] : ['cpu'];
  return {
    executionProviders: eps,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    logSeverityLevel: o.logSeverityLevel ?? 3,
    ...(o.threads ? { intraOpNumThreads: o.threads, interOpNumThreads: 1 } : {}),
    ...extra,
  };
}

interface ProfileEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { provider?: string; op_name?: string; output_type_shape?: Array<Record<string, unknown>> };
}

/** Runs the model once under a profiling session and reads back ORT's per-node provider assignment. */
async function probePlacement(ort: Ort, o: OrtPeerOptions, feeds: Record<string, Tensor>): Promise<OrtPlacement> {
  const dir = mkdtempSync(join(tmpdir(), 'ort-peer-prof-'));
  try {
    const s = await ort.InferenceSession.create(o.model, sessionOptions(o, { enableProfiling: true, profileFilePrefix: join(dir, 'p') }));
    await s.run(feeds);
    s.endProfiling();
    await s.release();
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('ORT wrote no profile');
    const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as ProfileEvent[];
    const counts: Record<string, number> = {};
    const secondsByProvider: Record<string, number> = {};
    const fallback = new Set<string>();
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || !e.args?.provider) continue;
      const prov = e.args.provider.replace(/ExecutionProvider$/, '');
      const op = e.args.op_name ?? '?';
      counts[`${prov}/${op}`] = (counts[`${prov}/${op}`] ?? 0) + 1;
      secondsByProvider[prov] = (secondsByProvider[prov] ?? 0) + (e.dur ?? 0) * 1e-6;
      // ORT keeps int64 shape arithmetic on the CPU on purpose; a CPU node with a float output is real work
      const floatOut = (e.args.output_type_shape ?? []).some((t) => 'float' in t || 'float16' in t);
      if (o.ep !== 'cpu' && prov === 'CPU' && floatOut) fallback.add(op);
    }
    return { counts, cpuFallbackOps: [...fallback].sort(), secondsByProvider };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runOrtPeer(o: OrtPeerOptions): Promise<OrtPeerResult> {
  const { T, h, w } = o;
  if (o.frames.length !== T * 3 * h * w) throw new Error(`frames: ${o.frames.length} floats, expected T*3*h*w = ${T * 3 * h * w}`);
  if (o.reps < 1) throw new Error('reps >= 1');
  if (!existsSync(o.model)) throw new Error(`ONNX model not found: ${o.model} (make it with tools/reference/export_onnx.py)`);
  const ort = await loadOrt();
  const ortVersion = ort.env.versions?.node ?? ort.env.versions?.common ?? '?';
  const notes: string[] = [];
  const feeds = { lq: new ort.Tensor('float32', o.frames, [1, T, 3, h, w]) };

  let placement: OrtPlacement | undefined;
  if (o.placementProbe ?? o.ep !== 'cpu') {
    try {
      placement = await probePlacement(ort, o, feeds);
      if (o.ep !== 'cpu') {
        const fb = placement.cpuFallbackOps;
        if (fb.length) {
          const n = fb.map((op) => `${op} x${placement!.counts[`CPU/${op}`]}`).join(', ');
          notes.push(`ops without a ${o.ep} kernel ran on the CPU EP: ${n}`);
        } else notes.push(`every compute op ran on the ${o.ep} EP`);
        const copies = Object.entries(placement.counts).filter(([k]) => /Memcpy(To|From)Host$/.test(k));
        if (copies.length) notes.push(`device<->host copies per run: ${copies.map(([k, v]) => `${k.split('/')[1]} x${v}`).join(', ')}`);
      }
    } catch (e) {
      notes.push(`placement probe failed: ${(e as Error).message}`);
    }
  }
  if (!placement && o.ep === 'webgpu') {
    notes.push('not probed; known for ORT 1.30: DeformConv has no WebGPU kernel and falls back to the CPU EP');
  }
  const info = readExportInfo(o.model);
  if (o.ep === 'webgpu') {
    const risk = info?.webgpuConvRisk;
    if (typeof risk !== 'number' || risk > 0) {
      notes.push(
        `${typeof risk === 'number' ? `${risk} Conv node(s) have` : 'the model may have'} input-channel counts ` +
          "that ORT 1.30's WebGPU EP computes wrongly (multiples of 3 but not of 12; PP-MSVSR conv_offset.0 has 66): " +
          'output will be wrong; export with --webgpu-conv-fix',
      );
    } else if (info?.webgpuConvFix) {
      notes.push('model exported with --webgpu-conv-fix (66-channel convs zero-padded to 68 inputs)');
    }
  }

  let session: InferenceSession | undefined;
  try {
    const t0 = performance.now();
    session = await ort.InferenceSession.create(o.model, sessionOptions(o, {}));
    const sessionCreateSeconds = (performance.now() - t0) / 1000;
    if (!session.outputNames.includes('out')) throw new Error(`model has no output 'out' (${session.outputNames.join(', ')})`);

    let firstRunSeconds = NaN;
    let last: Float32Array | undefined;
    const runOnce = async (): Promise<number> => {
      const t = performance.now();
      const r = await session!.run(feeds);
      const dt = (performance.now() - t) / 1000;
      const out = r.out;
      last = out.data as Float32Array;
      for (const k of Object.keys(r)) if (k !== 'out') r[k].dispose();
      return dt;
    };
    for (let i = 0; i < o.warmup; i++) {
      const dt = await runOnce();
      if (i === 0) firstRunSeconds = dt;
    }
    const runs: number[] = [];
    for (let i = 0; i < o.reps; i++) {
      const dt = await runOnce();
      if (o.warmup === 0 && i === 0) firstRunSeconds = dt;
      runs.push(dt);
    }
    const output = last!;
    const expected = T * 3 * 16 * h * w;
    if (output.length !== expected) throw new Error(`output has ${output.length} floats, expected ${expected}`);
    if (o.threads) notes.push(`intraOpNumThreads ${o.threads}`);
    const secondsPerChunk = median(runs);
    return {
      name: `onnxruntime-node ${ortVersion} (${o.ep} EP)`,
      ep: o.ep,
      secondsPerChunk,
      secondsPerFrame: secondsPerChunk / T,
      firstRunSeconds,
      sessionCreateSeconds,
      runs,
      output: Float32Array.from(output),
      notes,
      placement,
      exportInfo: info,
      ortVersion,
    };
  } finally {
    await session?.release();
  }
}
