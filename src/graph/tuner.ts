// The autotuner. Which conv variant is fastest (direct with one tiling or another, Winograd with one blocking
// or another) depends on the adapter and the shape, so it is measured: each candidate runs the conv once to
// warm up and then `reps` times in timestamped passes on synthetic data of the conv's size (at most 64 rows
// of it: enough to be representative, bounded in time), and the median decides. Results are kept per
// adapter and shape in a TuneTable that the caller persists (the cache folder in Node, localStorage in a
// browser). Every candidate is a tested variant; the tuner only chooses among them.
import type { Gpu } from '../gpu/device.js';
import { ParamBuffer } from '../gpu/params.js';
import { Tensor } from '../gpu/tensor.js';
import { conv2d, type Conv2dShape, type Conv2dTiling, conv2dTilings, packConvWeights, variantMisfit } from '../kernels/conv2d.js';
import { FeatureError } from '../gpu/errors.js';
import { type WinogradTiling, winogradApplies, winogradTilings } from '../kernels/conv2d_winograd.js';
import { type MatrixTiling, matrixInapplicable, matrixTilings } from '../kernels/conv2d_matrix.js';
import { median, timeDispatches } from './profiler.js';

export type TuneMode = 'off' | 'cached' | 'full';

/** What the tuner chooses for a conv: the algorithm and its tiling. */
export interface ConvVariant {
  variant: 'direct' | 'winograd' | 'matrix';
  tiling?: Partial<Conv2dTiling>;
  winograd?: Partial<WinogradTiling>;
  matrix?: Partial<MatrixTiling>;
  /** The direct conv computing in f16 (f16 storage only). */
  math?: 'f16';
}

/** Measured choices by key: `${adapter} | ${shape key}` -> variant and its median milliseconds. */
export type TuneTable = Record<string, { choice: ConvVariant; ms: number; candidates: number }>;

/** Rows timed per candidate: enough to fill a real GPU, bounded on a slow one. */
const TUNE_ROWS = 64;

/** The adapter part of a table key: vendor, architecture and driver description. */
export function adapterKey(gpu: Gpu): string {
  const a = gpu.adapter;
  return [a.vendor, a.architecture, a.description || a.name].filter(Boolean).join(' / ');
}

/** The shape part of a table key: what changes which variant wins (not the epilogue, which all share). */
export function shapeKey(s: Conv2dShape, rows: number, cols: number): string {
  const size = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n))); // sizes bucketed to powers of two
  return `conv${s.k}x${s.k}s${s.stride ?? 1} [${s.sources.join(',')}]->${s.cout}${s.shuffle ? ' shuffle' : ''} ${s.dtype ?? 'f32'} @${size(Math.min(rows, TUNE_ROWS))}x${size(cols)}`;
}

/**
 * Every variant that can run a shape, the direct conv's first. The subgroup-matrix ones only on a device that
 * has subgroup matrices (the experimental APIs opted in).
 */
export function convCandidates(s: Conv2dShape, gpu?: Gpu): ConvVariant[] {
  const tilings = conv2dTilings({ ...s, tiling: undefined });
  const out: ConvVariant[] = tilings.map((t) => ({ variant: 'direct', tiling: t }));
  if (s.dtype === 'f16') for (const t of tilings) out.push({ variant: 'direct', tiling: t, math: 'f16' });
  if (winogradApplies(s)) for (const t of winogradTilings(s)) out.push({ variant: 'winograd', winograd: t });
  const m = gpu?.matrix;
  if (gpu && m && !matrixInapplicable(gpu, s)) for (const t of matrixTilings(s, m)) out.push({ variant: 'matrix', matrix: t });
  return out;
}

/**
 * The variant without measurements: the subgroup-matrix conv where the device has subgroup matrices (the user
 * opted in to them) and the conv can use them, else the direct conv's preferred tiling.
 */
export function defaultVariant(gpu: Gpu, s: Conv2dShape): ConvVariant {
  return gpu.matrix && !matrixInapplicable(gpu, s) ? { variant: 'matrix' } : DEFAULT_VARIANT;
}

/** A variant in words, for reports: `winograd rows=2` or `direct tile=8x8`. */
export function describeVariant(v: ConvVariant): string {
  const t = v.variant === 'winograd' ? v.winograd : v.variant === 'matrix' ? v.matrix : v.tiling;
  const parts = t ? Object.entries(t).map(([k, x]) => `${k}=${x}`) : [];
  return [v.variant, ...(v.math ? [`math=${v.math}`] : []), ...parts].join(' ');
}

/** A JSON text of a value with object keys sorted, so that equal values compare equal as text. */
function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (x && typeof x === 'object') {
    const o = x as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(x) ?? 'undefined';
}

/** The direct conv's preferred tiling: the default without measurements or subgroup matrices. */
export const DEFAULT_VARIANT: ConvVariant = { variant: 'direct' };

export interface TuneResult {
  choice: ConvVariant;
  ms: number;
  /** Every candidate's median (undefined for one the device could not run). */
  times: { variant: ConvVariant; ms?: number; error?: string }[];
}

/** Times every candidate of a conv on `rows` x `cols` outputs (synthetic data) and returns the fastest. */
export async function tuneConv(gpu: Gpu, s: Conv2dShape, rows: number, cols: number, reps = 3, maxRows = TUNE_ROWS): Promise<TuneResult> {
  const h = Math.max(1, Math.min(rows, maxRows));
  const w = Math.max(1, cols);
  const shape: Conv2dShape = { ...s, residuals: 0, head: undefined, upres: false, tiling: undefined, winograd: undefined, matrix: undefined, math: undefined };
  const cin = shape.sources.reduce((a, b) => a + b, 0);
  let seed = 7;
  const rnd = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  // rows x cols are the conv's outputs: a strided conv reads `stride` times as many (same padding rule).
  const stride = shape.stride ?? 1;
  const pad = shape.pad ?? shape.k >> 1;
  const inH = Math.max(1, (h - 1) * stride + shape.k - 2 * pad);
  const inW = Math.max(1, (w - 1) * stride + shape.k - 2 * pad);
  const sources = shape.sources.map((c) =>
    Tensor.upload(gpu, Float32Array.from({ length: inH * inW * c }, rnd), inH, inW, c, shape.dtype ?? 'f32', 'tune src'),
  );
  const f = shape.shuffle ? 2 : 1;
  const out = Tensor.alloc(gpu, f * h, f * w, shape.shuffle ? shape.cout / 4 : shape.cout, shape.dtype ?? 'f32', 'tune out');
  const weight = Float32Array.from({ length: shape.cout * cin * 9 }, () => rnd() / Math.sqrt(cin * 9));
  const times: TuneResult['times'] = [];
  const buffers: GPUBuffer[] = [];
  try {
    for (const v of convCandidates(shape, gpu)) {
      const vs: Conv2dShape = { ...shape, ...v };
      const misfit = variantMisfit(gpu, vs);
      if (misfit) {
        times.push({ variant: v, error: misfit }); // would run as a fallback tiling: not this candidate
        continue;
      }
      try {
        const params = new ParamBuffer();
        const p = packConvWeights(weight, undefined, vs);
        const wOff = params.add(p.w);
        const bOff = params.add(p.b);
        const weights = params.upload(gpu, 'tune weights');
        buffers.push(weights);
        const d = await conv2d(gpu, vs, { weights, wOff, bOff, sources, out }, 'tune');
        await timeDispatches(gpu, [d]); // warm-up (and pipeline compilation)
        const ms: number[] = [];
        for (let r = 0; r < reps; r++) ms.push(...(await timeDispatches(gpu, [d])));
        times.push({ variant: v, ms: median(ms) });
      } catch (e) {
        times.push({ variant: v, error: (e as Error).message.split('\n')[0] });
      }
    }
  } finally {
    for (const t of [...sources, out]) t.destroy();
    for (const b of buffers) gpu.release(b);
  }
  const ok = times.filter((t) => t.ms !== undefined) as { variant: ConvVariant; ms: number }[];
  if (!ok.length) throw new Error(`tuner: no variant of ${shapeKey(s, rows, cols)} runs on this device: ${times.map((t) => t.error).join('; ')}`);
  const best = ok.reduce((a, b) => (b.ms < a.ms ? b : a));
  return { choice: best.variant, ms: best.ms, times };
}

/** Chooses variants from a table (and measures what is missing when the mode is 'full'). */
export class Tuner {
  /** Shapes measured by this tuner, with their keys (for reports). */
  readonly measured: { key: string; result: TuneResult }[] = [];

  constructor(
    readonly gpu: Gpu,
    readonly mode: TuneMode,
    readonly table: TuneTable,
  ) {}

  private key(s: Conv2dShape, rows: number, cols: number): string {
    return `${adapterKey(this.gpu)} | ${shapeKey(s, rows, cols)}`;
  }

  /**
   * The variant the table has for a conv, or the default. A table comes from a file anyone could have
   * written: only an entry that is exactly one of this shape's candidates and fits this device is used.
   */
  choose(s: Conv2dShape, rows: number, cols: number): ConvVariant {
    if (this.mode === 'off') return defaultVariant(this.gpu, s);
    return this.valid(s, this.table[this.key(s, rows, cols)]?.choice) ?? defaultVariant(this.gpu, s);
  }

  private valid(s: Conv2dShape, choice: unknown): ConvVariant | undefined {
    if (!choice || typeof choice !== 'object') return undefined;
    const want = canonical(choice);
    const v = convCandidates(s, this.gpu).find((c) => canonical(c) === want);
    return v && !variantMisfit(this.gpu, { ...s, ...v }) ? v : undefined;
  }

  /** Measures every listed conv the table lacks (or holds no usable entry for); 'full' mode only. */
  async tune(convs: readonly { shape: Conv2dShape; rows: number; cols: number }[]): Promise<number> {
    if (this.mode !== 'full') return 0;
    if (!this.gpu.timestamps)
      throw new FeatureError(
        `tune 'full' times convs with timestamp queries, which adapter ${this.gpu.adapter.name} lacks; use tune 'cached' or 'off'`,
        'timestamp-query',
      );
    let n = 0;
    for (const c of convs) {
      const key = this.key(c.shape, c.rows, c.cols);
      if (this.valid(c.shape, this.table[key]?.choice)) continue;
      const result = await tuneConv(this.gpu, c.shape, c.rows, c.cols);
      this.table[key] = { choice: result.choice, ms: result.ms, candidates: result.times.length };
      this.measured.push({ key, result });
      n++;
    }
    return n;
  }
}
