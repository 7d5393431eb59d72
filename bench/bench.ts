// The PP-MSVSR benchmark: our engine end to end (first run apart from steady state, medians after
// warm-up), per-op GPU time from timestamp queries with analytic FLOPs and bytes, memory, and peers run in
// the same process or script on the same weights and frames (PyTorch reference, onnxruntime-node), with
// their outputs checked against ours.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getDevice, loadModel, loadTuneTable, type Gpu, type TuneMode, TUNE_STATE } from '../src/index.js';
import { Tuner } from '../src/graph/tuner.js';
import { platform } from '../src/platform/platform.js';
import { MsvsrRunner } from '../src/graph/msvsr-runner.js';
import { median, timeDispatches } from '../src/graph/profiler.js';
import { compileStats } from '../src/kernels/kernel.js';
import { CONFIGS, manifestOf, type ConfigName } from '../src/weights/manifest.js';
import { seededStateDict } from '../src/weights/seeded.js';
import type { NamedTensor } from '../src/weights/named-tensor.js';
import { PEER_CACHE, runOrtPeer } from './peers/ort.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type PeerName = 'torch' | 'ort-cpu' | 'ort-webgpu';

export interface BenchOptions {
  config: ConfigName;
  h: number;
  w: number;
  frames: number;
  precision: 'f32' | 'f16';
  /** A .pdparams/.safetensors file, else seeded random weights (tools/reference/seeded.py). */
  weights?: string;
  weightsSeed: number;
  warmup: number;
  reps: number;
  /** Per-op GPU times (one extra run, each dispatch in its own timed pass). */
  profile: boolean;
  peers: PeerName[];
  /** Python with PyTorch for the reference peer (Debian's is /usr/bin/python3). */
  python: string;
  torchDevice: 'cpu' | 'cuda';
  /** Threads for the CPU peers (default: all cores, as lavapipe uses). */
  threads?: number;
  /** Conv variants: 'off' (the direct conv, default), 'cached' (this adapter's kept choices), 'full' (measure). */
  tune?: TuneMode;
  log?: (s: string) => void;
}

export interface KernelRow {
  name: string;
  count: number;
  /** GPU milliseconds per frame */
  ms: number;
  share: number;
  gflop: number;
  gflops: number;
  gbps: number;
}

export interface PeerRow {
  name: string;
  secondsPerFrame?: number;
  /** our frames/s over the peer's (> 1: we are faster) */
  ratio?: number;
  /** max |ours - peer| over the chunk's output */
  maxAbsDiff?: number;
  firstRunSeconds?: number;
  notes: string[];
  error?: string;
}

export interface BenchResult {
  date: string;
  device: string;
  adapter: Gpu['adapter'];
  config: ConfigName;
  size: string;
  frames: number;
  precision: string;
  weights: string;
  fps: number;
  secondsPerFrame: number;
  secondsPerChunk: number;
  runs: number[];
  /** plan build (pipelines, buffers, bind groups) + the first chunk */
  firstRunSeconds: number;
  planSeconds: number;
  pipelines: number;
  dispatches: number;
  /** Dispatches of one chunk on subgroup matrices (convs and DCNs; --unsafe-apis, f16). */
  matrixDispatches: number;
  tune: TuneMode;
  /** Compute passes and command buffers of one chunk as the runner encodes it. */
  passes: number;
  commandBuffers: number;
  gflopPerFrame: number;
  gmacPerFrame: number;
  countingRule: string;
  gpuBytes: number;
  readbackBytes: number;
  rssPeakBytes: number;
  /** sum of per-dispatch GPU times over one chunk, per frame (profile run) */
  gpuMsPerFrame?: number;
  kernels: KernelRow[];
  families: KernelRow[];
  peers: PeerRow[];
}

export const COUNTING_RULE =
  "GMAC = multiply-accumulates of every convolution and of the deformable convolutions' GEMM (SPyNet included), " +
  'summed over one chunk and divided by its T frames; GFLOP = 2 x GMAC plus the analytic flops of the ' +
  'sampling, resize, pooling and element-wise ops (bilinear gathers counted as 2 flops per tap and channel).';

/** Deterministic moving test frames (gradients, moving blobs, texture) in [0, 1], HWC RGB. */
export function benchFrames(T: number, h: number, w: number): Float32Array[] {
  return Array.from({ length: T }, (_, t) => {
    const f = new Float32Array(h * w * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const bx = x - (0.3 * w + 1.5 * t);
        const by = y - (0.5 * h + 0.7 * t);
        const blob = Math.exp(-(bx * bx + by * by) / (0.02 * w * h + 4));
        for (let k = 0; k < 3; k++) {
          const v = 0.35 + 0.25 * Math.sin((x + 1.2 * t) * (0.11 + 0.03 * k) + y * 0.07) + 0.3 * blob + 0.05 * Math.sin(x * 1.3 + y * 2.1 + k);
          f[(y * w + x) * 3 + k] = Math.min(1, Math.max(0, v));
        }
      }
    }
    return f;
  });
}

function toTCHW(frames: Float32Array[], h: number, w: number): Float32Array {
  const out = new Float32Array(frames.length * 3 * h * w);
  frames.forEach((f, t) => {
    for (let k = 0; k < 3; k++) for (let p = 0; p < h * w; p++) out[(t * 3 + k) * h * w + p] = f[p * 3 + k];
  });
  return out;
}

function maxAbsDiffTCHW(ours: Float32Array[], peer: Float32Array, h: number, w: number): number {
  let m = 0;
  ours.forEach((o, t) => {
    for (let k = 0; k < 3; k++) for (let p = 0; p < h * w; p++) m = Math.max(m, Math.abs(o[p * 3 + k] - peer[(t * 3 + k) * h * w + p]));
  });
  return m;
}

function groupRows(entries: { key: string; ms: number; flops: number; bytes: number }[], T: number, total: number): KernelRow[] {
  const by = new Map<string, KernelRow & { flops: number; bytes: number }>();
  for (const e of entries) {
    const r = by.get(e.key) ?? { name: e.key, count: 0, ms: 0, share: 0, gflop: 0, gflops: 0, gbps: 0, flops: 0, bytes: 0 };
    r.count++;
    r.ms += e.ms;
    r.flops += e.flops;
    r.bytes += e.bytes;
    by.set(e.key, r);
  }
  return [...by.values()]
    .map(({ flops, bytes, ...r }) => ({
      ...r,
      ms: r.ms / T,
      share: r.ms / total,
      gflop: flops / T / 1e9,
      gflops: flops / (r.ms / 1e3) / 1e9,
      gbps: bytes / (r.ms / 1e3) / 1e9,
    }))
    .sort((a, b) => b.ms - a.ms);
}

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const log = o.log ?? (() => {});
  const cfg = CONFIGS[o.config];
  let weights: ReadonlyMap<string, NamedTensor>;
  let weightsDesc: string;
  if (o.weights) {
    const m = await loadModel(o.weights);
    if (m.config !== o.config) throw new Error(`${o.weights} holds ${m.config} weights, not ${o.config}`);
    weights = m.tensors;
    weightsDesc = o.weights;
  } else {
    weights = seededStateDict(
      o.weightsSeed,
      manifestOf(cfg).map((e) => [e.name, e.shape] as const),
    );
    weightsDesc = `seeded random (seed ${o.weightsSeed})`;
  }
  const { h, w, frames: T } = o;
  const frames = benchFrames(T, h, w);
  let rssPeak = process.memoryUsage().rss;
  const sampleRss = () => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss));

  const gpu = await getDevice();
  try {
    log(`${gpu.adapter.name}: ${o.config} ${o.precision} T=${T} ${h}x${w}`);
    const compiled0 = compileStats.pipelines;
    const t0 = performance.now();
    const tuner = o.tune && o.tune !== 'off' ? new Tuner(gpu, o.tune, loadTuneTable()) : undefined;
    const runner = await MsvsrRunner.create(gpu, cfg, weights, T, h, w, o.precision, { tuner });
    const planSeconds = (performance.now() - t0) / 1e3;
    if (tuner?.measured.length) {
      platform().saveState(TUNE_STATE, JSON.stringify({ ...loadTuneTable(), ...tuner.table }));
      log(`  tuner: measured ${tuner.measured.length} conv shape(s) in ${planSeconds.toFixed(1)} s (plan included)`);
    }
    let outs = await runner.run(frames);
    const firstRunSeconds = (performance.now() - t0) / 1e3;
    sampleRss();
    log(`  first run ${firstRunSeconds.toFixed(2)} s (plan ${planSeconds.toFixed(2)} s, ${compileStats.pipelines - compiled0} pipelines)`);
    for (let i = 0; i < o.warmup; i++) await runner.run(frames);
    const runs: number[] = [];
    for (let i = 0; i < o.reps; i++) {
      const t = performance.now();
      outs = await runner.run(frames);
      runs.push((performance.now() - t) / 1e3);
      sampleRss();
      log(`  run ${i + 1}/${o.reps}: ${runs[i].toFixed(3)} s`);
    }
    const secondsPerChunk = median(runs);
    const ds = runner.plan.dispatches;
    const flops = ds.reduce((a, d) => a + d.flops, 0);
    const macs = ds.reduce((a, d) => a + (d.macs ?? 0), 0);

    let kernels: KernelRow[] = [];
    let families: KernelRow[] = [];
    let gpuMsPerFrame: number | undefined;
    if (o.profile && gpu.timestamps) {
      const ms = await timeDispatches(gpu, ds);
      const total = ms.reduce((a, b) => a + b, 0);
      gpuMsPerFrame = total / T;
      const entries = ds.map((d, i) => ({ key: d.op, ms: ms[i], flops: d.flops, bytes: d.bytes }));
      kernels = groupRows(entries, T, total);
      families = groupRows(
        entries.map((e) => ({ ...e, key: e.key.split(/[ @]/)[0].replace(/^conv\d+x\d+$/, 'conv') })),
        T,
        total,
      );
    }
    const result: BenchResult = {
      date: new Date().toISOString(),
      device: gpu.adapter.name,
      adapter: gpu.adapter,
      config: o.config,
      size: `${h}x${w}`,
      frames: T,
      precision: o.precision,
      weights: weightsDesc,
      fps: T / secondsPerChunk,
      secondsPerFrame: secondsPerChunk / T,
      secondsPerChunk,
      runs,
      firstRunSeconds,
      planSeconds,
      pipelines: compileStats.pipelines - compiled0,
      dispatches: ds.length,
      matrixDispatches: ds.filter((d) => d.op.endsWith(' matrix')).length,
      tune: o.tune ?? 'off',
      passes: runner.plan.encoded.passes,
      commandBuffers: runner.plan.encoded.commandBuffers,
      gflopPerFrame: flops / T / 1e9,
      gmacPerFrame: macs / T / 1e9,
      countingRule: COUNTING_RULE,
      gpuBytes: runner.bytes,
      readbackBytes: runner.readbackBytes,
      rssPeakBytes: rssPeak,
      gpuMsPerFrame,
      kernels,
      families,
      peers: [],
    };
    runner.destroy();
    for (const p of o.peers) {
      log(`  peer ${p} ...`);
      const row = await runPeer(p, o, frames, outs);
      if (row.secondsPerFrame) row.ratio = row.secondsPerFrame / result.secondsPerFrame;
      result.peers.push(row);
      log(
        `  peer ${p}: ${row.error ?? `${row.secondsPerFrame!.toFixed(3)} s/frame, ratio ${row.ratio!.toFixed(2)}, max|diff| ${row.maxAbsDiff?.toExponential(2)}`}`,
      );
    }
    return result;
  } finally {
    gpu.destroy();
  }
}

const PEER_CONFIG: Record<ConfigName, string> = { 'PP-MSVSR': 'msvsr', 'PP-MSVSR-L': 'msvsr_l' };

async function runPeer(p: PeerName, o: BenchOptions, frames: Float32Array[], ours: Float32Array[]): Promise<PeerRow> {
  const { h, w, frames: T } = o;
  const dir = mkdtempSync(join(tmpdir(), 'msvsr-bench-'));
  const input = join(dir, 'input.f32');
  writeFileSync(input, toTCHW(frames, h, w));
  const weightArgs = o.weights ? ['--pdparams', o.weights] : ['--weights-seed', String(o.weightsSeed)];
  const threads = o.threads ?? cpus().length;
  try {
    if (p === 'torch') {
      const out = join(dir, 'out.f32');
      const args = [
        join(ROOT, 'tools/reference/bench_torch.py'),
        ...['--config', PEER_CONFIG[o.config], '--frames', String(T), '--size', `${h}x${w}`, ...weightArgs, '--input', input],
        ...['--warmup', String(o.warmup), '--reps', String(o.reps), '--device', o.torchDevice, '--threads', String(threads), '--output', out, '--json'],
      ];
      const r = spawnSync(o.python, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
      if (r.status !== 0)
        return {
          name: 'PyTorch reference',
          notes: [],
          error: `${o.python} exited ${r.status}: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' | ')}`,
        };
      const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        torch: string;
        device: string;
        threads: number;
        secondsPerFrame: number;
        firstRunSeconds: number;
      };
      const peerOut = new Float32Array(readFileSync(out).buffer.slice(0));
      return {
        name: `PyTorch ${j.torch} (${j.device}, ${j.threads} threads)`,
        secondsPerFrame: j.secondsPerFrame,
        firstRunSeconds: j.firstRunSeconds,
        maxAbsDiff: maxAbsDiffTCHW(ours, peerOut, 4 * h, 4 * w),
        notes: [],
      };
    }
    const ep = p === 'ort-cpu' ? 'cpu' : 'webgpu';
    const name = `onnxruntime-node (${ep} EP)`;
    if (!existsSync(join(PEER_CACHE, 'node_modules', 'onnxruntime-node'))) return { name, notes: [], error: 'not installed: run `npm run bench:peers`' };
    mkdirSync(PEER_CACHE, { recursive: true });
    const fix = ep === 'webgpu' ? '_webgpufix' : '';
    const tag = o.weights ? `file${readFileSync(o.weights).length}` : `seed${o.weightsSeed}`;
    const model = join(PEER_CACHE, `${PEER_CONFIG[o.config]}_t${T}_${h}x${w}_${tag}${fix}.onnx`);
    if (!existsSync(model)) {
      const args = [
        join(ROOT, 'tools/reference/export_onnx.py'),
        '--config',
        PEER_CONFIG[o.config],
        '--frames',
        String(T),
        '--size',
        `${h}x${w}`,
        ...weightArgs,
        '--out',
        model,
      ];
      if (fix) args.push('--webgpu-conv-fix');
      const r = spawnSync(o.python, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
      if (r.status !== 0 || !existsSync(model))
        return { name, notes: [], error: `ONNX export failed: ${(r.stderr || '').trim().split('\n').slice(-2).join(' | ')}` };
    }
    const r = await runOrtPeer({
      model,
      frames: toTCHW(frames, h, w),
      T,
      h,
      w,
      ep,
      warmup: o.warmup,
      reps: o.reps,
      threads: ep === 'cpu' ? threads : undefined,
    });
    return {
      name: r.name,
      secondsPerFrame: r.secondsPerFrame,
      firstRunSeconds: r.firstRunSeconds,
      maxAbsDiff: maxAbsDiffTCHW(ours, r.output, 4 * h, 4 * w),
      notes: [...r.notes, ...(ep === 'cpu' ? [`${threads} threads`] : [])],
    };
  } catch (e) {
    return { name: p, notes: [], error: (e as Error).message };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A human-readable report. */
export function formatBench(r: BenchResult, top = 12): string {
  const L: string[] = [];
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  L.push(`== ${variantLabel(r)}, T=${r.frames}, ${r.size} -> ${4 * Number(r.size.split('x')[0])}x${4 * Number(r.size.split('x')[1])}, ${r.device}`);
  L.push(
    `fps ${r.fps.toFixed(3)}  (${r.secondsPerFrame.toFixed(3)} s/frame; chunk median ${r.secondsPerChunk.toFixed(3)} s over ${r.runs.length} runs: ${r.runs.map((x) => x.toFixed(2)).join(', ')})`,
  );
  L.push(`first run ${r.firstRunSeconds.toFixed(2)} s (plan ${r.planSeconds.toFixed(2)} s, ${r.pipelines} pipelines compiled)`);
  L.push(
    `per frame: ${(r.dispatches / r.frames).toFixed(1)} dispatches, ${(r.passes / r.frames).toFixed(2)} compute passes, ${(r.commandBuffers / r.frames).toFixed(2)} command buffers (per chunk: ${r.dispatches}, ${r.passes}, ${r.commandBuffers})`,
  );
  L.push(
    `analytic ${r.gmacPerFrame.toFixed(2)} GMAC = ${r.gflopPerFrame.toFixed(2)} GFLOP per frame; GPU memory ${mib(r.gpuBytes)} (+ ${mib(r.readbackBytes)} readback), host RSS peak ${mib(r.rssPeakBytes)}`,
  );
  if (r.kernels.length) {
    L.push(`per-op GPU time (timestamp per dispatch, ${r.gpuMsPerFrame!.toFixed(1)} ms/frame in all):`);
    L.push(
      `  ${'op'.padEnd(58)} ${'n'.padStart(5)} ${'ms/frame'.padStart(9)} ${'share'.padStart(6)} ${'GFLOP'.padStart(7)} ${'GFLOP/s'.padStart(8)} ${'GB/s'.padStart(7)}`,
    );
    const row = (k: KernelRow) =>
      `  ${k.name.padEnd(58)} ${String(k.count).padStart(5)} ${k.ms.toFixed(2).padStart(9)} ${(100 * k.share).toFixed(1).padStart(5)}% ${k.gflop.toFixed(2).padStart(7)} ${k.gflops.toFixed(1).padStart(8)} ${k.gbps.toFixed(2).padStart(7)}`;
    for (const k of r.families) L.push(row(k));
    L.push('  --');
    for (const k of r.kernels.slice(0, top)) L.push(row(k));
  }
  for (const p of r.peers) {
    L.push(
      p.error
        ? `peer ${p.name}: ${p.error}`
        : `peer ${p.name}: ${p.secondsPerFrame!.toFixed(3)} s/frame -> ours/peer speed ${p.ratio!.toFixed(2)}x, max|ours - peer| ${p.maxAbsDiff!.toExponential(2)}${p.notes.length ? ` (${p.notes.join('; ')})` : ''}`,
    );
  }
  return L.join('\n');
}

/** One dated markdown row for bench/RESULTS.md. */
/** What ran: config, precision, how many dispatches ran on subgroup matrices (tensor cores), the tuner. */
function variantLabel(r: BenchResult): string {
  const matrix = r.matrixDispatches ? ` + subgroup matrix (${r.matrixDispatches} of ${r.dispatches} dispatches)` : '';
  return `${r.config} ${r.precision}${matrix}${r.tune !== 'off' ? ` tune ${r.tune}` : ''}`;
}

export function resultsRow(r: BenchResult): string {
  const peers =
    r.peers
      .filter((p) => !p.error)
      .map((p) => `${p.name}: ${p.secondsPerFrame!.toFixed(3)} s/f, ×${p.ratio!.toFixed(2)}`)
      .join('; ') || '—';
  const top =
    r.kernels
      .slice(0, 5)
      .map((k) => `${k.name} ${k.ms.toFixed(1)} ms ${k.gflops.toFixed(0)} GF/s`)
      .join('; ') || '—';
  return `| ${r.date.slice(0, 10)} | ${r.device} | ${variantLabel(r)} | ${r.size} | ${r.frames} | ${r.fps.toFixed(3)} | ${r.secondsPerFrame.toFixed(3)} | ${r.firstRunSeconds.toFixed(1)} | ${r.gflopPerFrame.toFixed(1)} | ${(r.gpuBytes / 2 ** 20).toFixed(0)} MiB | ${top} | ${peers} |`;
}
