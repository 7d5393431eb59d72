// The memory planner: from a frame size, the user's choices and the device's limits, the chunk plan that a
// run will use — window length, tile size and halo, planned GPU bytes, the largest binding — computed
// without a GPU by recording the network's graph (shapes only) and assigning its buffers (Plan.assign), so
// the numbers are those of the plan that will be built, not an estimate.
import { Builder } from './builder.js';
import { Plan } from './plan.js';
import { buildMsvsr, hrBandBytesFor, UPSCALE } from './msvsr.js';
import { tileGrid, tileOverhead, wholeFrame, type TileGrid } from './tiles.js';
import { BindingLimitError } from '../gpu/errors.js';
import type { Precision } from '../numeric/precision.js';
import type { MsvsrConfig } from '../weights/manifest.js';
import type { Conv2dShape } from '../kernels/conv2d.js';
import type { ConvVariant } from './tuner.js';

export interface MemoryLimits {
  /** The largest storage binding (the adapter's maxStorageBufferBindingSize). */
  maxBinding: number;
  /** The largest buffer (maxBufferSize). */
  maxBuffer: number;
  /** GPU bytes the plan may use in all: activations, weights and output readback buffers. */
  budget: number;
}

const GiB = 2 ** 30;

/**
 * WebGPU reports no memory size, so the default budget is a rule: the adapter's maxBufferSize (what it
 * says one allocation may be), clamped to [1 GiB, 4 GiB]. An allocation that fails anyway is re-planned
 * at half the budget (see the Upscaler).
 */
export function defaultBudget(maxBuffer: number): number {
  return Math.min(4 * GiB, Math.max(1 * GiB, maxBuffer));
}

export interface PlanRequest {
  cfg: MsvsrConfig;
  precision: Precision;
  width: number;
  height: number;
  /** Output frames per forward pass. */
  chunk: number;
  /** An explicit chunk is kept or refused, never shortened. */
  chunkExplicit?: boolean;
  /** Context frames on each side of a chunk. */
  overlap: number;
  /** Frames in the video, when known (a window is never longer). */
  frames?: number;
  /** Context around each tile's core, in low-resolution pixels. */
  halo: number;
  /** 'off' refuses to tile (PaddleGAN-identical numbers, e.g. eval); 'auto' tiles when the frame does not fit. */
  tiling?: 'auto' | 'off';
  /** Tile cores of this size (low-resolution pixels, square), kept or refused; default: the largest that fits. */
  tileSize?: number;
  limits: MemoryLimits;
  /** The conv variants the run will use (Tuner.choose); default the direct conv. */
  choose?: ChooseVariant;
}

/** Which variant computes a conv (the tuner's choice). */
export type ChooseVariant = (shape: Conv2dShape, rows: number, cols: number) => ConvVariant;

export interface PlanBytes {
  activations: number;
  weights: number;
  readback: number;
  total: number;
}

export interface ChunkPlan {
  config: string;
  precision: Precision;
  width: number;
  height: number;
  chunk: number;
  overlap: number;
  /** Frames per forward pass: the chunk with its context. */
  window: number;
  tiled: boolean;
  tile: { width: number; height: number; halo: number; count: number; columns: number; rows: number };
  /** Low-resolution pixels computed per frame pixel (1 untiled; more with halos). */
  tileOverhead: number;
  bytes: PlanBytes;
  /** The largest single storage binding of the plan. */
  largestBinding: number;
  limits: MemoryLimits;
  /** Convolution multiply-accumulates per output frame, halos and temporal context included. */
  gmacPerFrame: number;
  /** The grid itself (not printed). */
  grid: TileGrid;
}

/** The plan's chunk, window and tile could not fit the limits; the message says what was tried. */
export class PlanLimitError extends Error {
  override name = 'PlanLimitError';
}

interface Evaluation {
  bytes: PlanBytes;
  largestBinding: number;
  macs: number;
  /** Why it does not fit (undefined when it does). */
  misfit?: string;
}

/** Records the graph of one window of T frames of a th x tw tile (of `frame`) and measures its plan. */
export function evaluateTile(
  cfg: MsvsrConfig,
  precision: Precision,
  T: number,
  th: number,
  tw: number,
  limits: MemoryLimits,
  frame: { h: number; w: number } = { h: th, w: tw },
  choose?: ChooseVariant,
): Evaluation {
  // With the tuner's choices, so that Winograd's larger packed weights (36 instead of 9 per tap) are counted.
  const b = new Builder('shapes-only', precision, choose);
  const net = buildMsvsr(b, cfg, T, th, tw, { hrBandBytes: hrBandBytesFor(limits.maxBinding), frame });
  let slotBytes: number[];
  try {
    slotBytes = Plan.assign(b.graph, limits.maxBinding).slotBytes;
  } catch (e) {
    if (!(e instanceof BindingLimitError)) throw e;
    return { bytes: { activations: 0, weights: 0, readback: 0, total: Infinity }, largestBinding: e.bytes, macs: 0, misfit: e.message };
  }
  const activations = slotBytes.reduce((a, x) => a + x, 0);
  const weights = b.params.bytes;
  const readback = net.outputs.reduce((a, v) => a + v.bytes, 0);
  const bytes = { activations, weights, readback, total: activations + weights + readback };
  const largestBinding = Math.max(weights, ...slotBytes);
  const largestBuffer = Math.max(largestBinding, ...net.outputs.map((v) => v.bytes));
  const macs = b.graph.ops.reduce((a, op) => a + (op.macs ?? 0), 0);
  let misfit: string | undefined;
  if (largestBinding > limits.maxBinding) misfit = `a binding of ${mib(largestBinding)} is over the ${mib(limits.maxBinding)} binding limit`;
  else if (largestBuffer > limits.maxBuffer) misfit = `a buffer of ${mib(largestBuffer)} is over the ${mib(limits.maxBuffer)} buffer limit`;
  else if (bytes.total > limits.budget) misfit = `${mib(bytes.total)} is over the ${mib(limits.budget)} budget`;
  return { bytes, largestBinding, macs, misfit };
}

export const mib = (n: number) => `${(n / 2 ** 20).toFixed(n < 10 * 2 ** 20 ? 1 : 0)} MiB`;

/** The smallest tile core tried; below it the halo dominates the work. */
export const MIN_CORE = 16;

export function planChunk(r: PlanRequest): ChunkPlan {
  const { cfg, precision, width: W, height: H, overlap, halo, limits } = r;
  if (!(Number.isInteger(W) && Number.isInteger(H) && W >= 1 && H >= 1)) throw new Error(`plan: frame size ${W}x${H} must be positive integers`);
  const tried: string[] = [];
  for (let chunk = r.chunk; chunk >= 1; chunk = Math.floor(chunk / 2)) {
    const T = Math.max(1, Math.min(r.frames ?? Infinity, overlap ? chunk + 2 * overlap : chunk));
    const plan = (grid: TileGrid, e: Evaluation): ChunkPlan => ({
      config: cfg.name,
      precision,
      width: W,
      height: H,
      chunk,
      overlap,
      window: T,
      tiled: grid.tiles.length > 1 || grid.th < H || grid.tw < W,
      tile: { width: grid.tw, height: grid.th, halo: grid.halo, count: grid.tiles.length, columns: grid.nx, rows: grid.ny },
      tileOverhead: tileOverhead(grid, H, W),
      bytes: e.bytes,
      largestBinding: e.largestBinding,
      limits,
      gmacPerFrame: (e.macs * grid.tiles.length) / Math.min(T, chunk) / 1e9,
      grid,
    });
    if (r.tileSize !== undefined && r.tiling !== 'off') {
      const g = tileGrid(H, W, r.tileSize, r.tileSize, halo, cfg.spynetLevels);
      const e = evaluateTile(cfg, precision, T, g.th, g.tw, limits, { h: H, w: W }, r.choose);
      if (!e.misfit) return plan(g, e);
      tried.push(`chunk ${chunk} (window ${T}): ${g.tiles.length} tiles of ${g.tw}x${g.th} (core ${r.tileSize}, halo ${halo}): ${e.misfit}`);
      if (r.chunkExplicit || T === 1) break;
      continue;
    }
    const whole = wholeFrame(H, W, cfg.spynetLevels);
    const e = evaluateTile(cfg, precision, T, H, W, limits, undefined, r.choose);
    if (!e.misfit) return plan(whole, e);
    tried.push(`chunk ${chunk} (window ${T}) on whole ${W}x${H} frames: ${e.misfit}`);
    if (r.tiling !== 'off') {
      // The largest square core that fits (the tile's work and memory grow with the core).
      const fits = (s: number) => {
        const g = tileGrid(H, W, s, s, halo, cfg.spynetLevels);
        return { g, e: evaluateTile(cfg, precision, T, g.th, g.tw, limits, { h: H, w: W }, r.choose) };
      };
      let lo = MIN_CORE;
      let hi = Math.max(H, W);
      const first = fits(lo);
      if (!first.e.misfit) {
        let best = first;
        while (hi - lo > 1) {
          const mid = (lo + hi) >> 1;
          const f = fits(mid);
          if (f.e.misfit) hi = mid;
          else {
            lo = mid;
            best = f;
          }
        }
        return plan(best.g, best.e);
      }
      tried.push(`chunk ${chunk}: even ${first.g.tw}x${first.g.th} tiles (core ${MIN_CORE}, halo ${halo}): ${first.e.misfit}`);
    }
    if (r.chunkExplicit || T === 1) break;
  }
  throw new PlanLimitError(
    `cannot plan ${W}x${H} frames in ${precision} (${cfg.name}) within ${mib(limits.budget)}:\n  ${tried.join('\n  ')}\n` +
      `Give more memory (maxMemory, --max-memory)${precision === 'f32' ? ', use precision f16 (half the memory)' : ''}` +
      `${r.chunkExplicit ? ', use a shorter chunk' : ''}${r.tileSize !== undefined ? ', use smaller tiles' : ''}${r.tiling === 'off' ? ', or allow tiling' : ''}.`,
  );
}

/** Output frame size of a plan. */
export function outputSize(p: Pick<ChunkPlan, 'width' | 'height'>): { width: number; height: number } {
  return { width: UPSCALE * p.width, height: UPSCALE * p.height };
}
