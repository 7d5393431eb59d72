// A model on a device with its plan. The planner picks the window length and the tile grid for the frame
// size and the memory budget; the Upscaler runs each window tile by tile on one plan (one runner, reused for
// every window and tile of one shape, at most one alive) and pastes each tile's core into the output frames.
//
// Recovery: a window whose allocation fails is retried once as is (everything of the failed plan released),
// then re-planned at half the memory; a window whose device is lost is redone on a reopened device. Output
// frames are handed out only when their whole window succeeded, so nothing is dropped or given twice.
import { Gpu, GpuError, type DeviceOptions } from './gpu/device.js';
import { OutOfMemoryError, PlanAllocationError } from './gpu/errors.js';
import { MsvsrRunner } from './graph/msvsr-runner.js';
import { hrBandBytesFor, UPSCALE } from './graph/msvsr.js';
import { type ChooseVariant, defaultBudget, planChunk, type ChunkPlan, type MemoryLimits } from './graph/planner.js';
import { isWhole, type TileGrid } from './graph/tiles.js';
import { cropRgb, outputLike, pasteRgb, toNetworkInput, type Frame } from './frames.js';
import type { Model } from './model.js';
import type { Precision } from './numeric/precision.js';
import type { MsvsrConfig } from './weights/manifest.js';
import { platform } from './platform/platform.js';
import { defaultVariant, Tuner, type TuneMode, type TuneTable } from './graph/tuner.js';
import { checkHalo, checkPrecision, checkTune } from './options.js';

export interface UpscalerOptions {
  precision?: Precision;
  /** A device to run on (not destroyed, and not reopened if lost); otherwise one is opened and released. */
  device?: GPUDevice | Gpu;
  /** Adapter selection when no device is given. */
  adapter?: DeviceOptions;
  /** GPU bytes a plan may use: activations, weights and readback (default: see defaultBudget). */
  maxMemory?: number;
  /** Context around each tile's core, in low-resolution pixels (default DEFAULT_HALO). */
  halo?: number;
  /** 'off': refuse frames that do not fit whole, instead of tiling them (PaddleGAN-identical numbers). */
  tiling?: 'auto' | 'off';
  /** Tile cores of this many low-resolution pixels (square): kept or refused (default: planned). */
  tileSize?: number;
  /** Lower caps on the device's limits as the planner sees them (tests use small ones to force tiling). */
  limits?: Partial<Pick<MemoryLimits, 'maxBinding' | 'maxBuffer'>>;
  /** Attempts after a failure before giving up (default 3). */
  retries?: number;
  /** Told what went wrong and what is tried next, for each recovery. */
  onRecover?: (message: string) => void;
  /**
   * Conv variants: 'off' (the direct conv everywhere), 'cached' (default: what earlier measurements on this
   * adapter chose), 'full' (measure the shapes not measured yet, then use and keep the results).
   */
  tune?: TuneMode;
}

/** Where the tuner's measurements are kept (see Platform.loadState). */
export const TUNE_STATE = 'tune.json';

/**
 * The tuner's table as kept (an empty one when there is none or it is unreadable). Entries that are not
 * objects with a choice and a time are dropped; what a choice says is checked when it is used (Tuner.choose).
 */
export function loadTuneTable(): TuneTable {
  let t: unknown;
  try {
    t = JSON.parse(platform().loadState(TUNE_STATE) ?? '{}');
  } catch {
    return {};
  }
  const out: TuneTable = {};
  if (!t || typeof t !== 'object' || Array.isArray(t)) return out;
  for (const [k, v] of Object.entries(t as Record<string, unknown>)) {
    const e = v as Partial<TuneTable[string]> | null;
    if (e && typeof e === 'object' && e.choice && typeof e.choice === 'object' && Number.isFinite(e.ms)) {
      out[k] = { choice: e.choice, ms: e.ms as number, candidates: Number(e.candidates) || 0 };
    }
  }
  return out;
}

export interface WindowRequest {
  width: number;
  height: number;
  chunk: number;
  overlap: number;
  /** Frames in the video when known. */
  frames?: number;
  chunkExplicit?: boolean;
}

/** What the planner may use on a device, under the caller's caps and a budget. */
export function plannerLimits(
  gpu: Gpu,
  o: Pick<UpscalerOptions, 'limits' | 'maxMemory'>,
  budget = o.maxMemory ?? defaultBudget(gpu.limits.maxBufferSize),
): MemoryLimits {
  const l = gpu.limits;
  return {
    maxBinding: Math.min(l.maxStorageBufferBindingSize, o.limits?.maxBinding ?? Number.POSITIVE_INFINITY),
    maxBuffer: Math.min(l.maxBufferSize, o.limits?.maxBuffer ?? Number.POSITIVE_INFINITY),
    budget,
  };
}

/** The plan an Upscaler with these options would make on this device (the CLI plans before it resumes). */
export function planUpscale(gpu: Gpu, cfg: MsvsrConfig, r: WindowRequest, o: UpscalerOptions, budget?: number, choose?: ChooseVariant): ChunkPlan {
  return planChunk({
    cfg,
    precision: checkPrecision(o.precision),
    width: r.width,
    height: r.height,
    chunk: r.chunk,
    chunkExplicit: r.chunkExplicit,
    overlap: r.overlap,
    frames: r.frames,
    halo: checkHalo(o.halo),
    tiling: o.tiling,
    tileSize: o.tileSize,
    limits: plannerLimits(gpu, o, budget),
    choose,
  });
}

export class Upscaler {
  private runner: MsvsrRunner | undefined;
  private budget: number;
  /** The conv variants in use (the tuner's table); undefined with tune 'off'. */
  tuner: Tuner | undefined;
  /** The plan in use (the last one made: a recovery may replace it with a smaller one). */
  plan: ChunkPlan | undefined;
  private request: WindowRequest | undefined;

  private constructor(
    readonly gpu: Gpu,
    private readonly ownsGpu: boolean,
    readonly model: Model,
    readonly precision: Precision,
    private readonly o: UpscalerOptions,
  ) {
    this.budget = o.maxMemory ?? defaultBudget(gpu.limits.maxBufferSize);
  }

  static async create(model: Model, o: UpscalerOptions = {}): Promise<Upscaler> {
    const precision = checkPrecision(o.precision);
    checkHalo(o.halo);
    checkTune(o.tune);
    if (o.maxMemory !== undefined && !(Number.isFinite(o.maxMemory) && o.maxMemory > 0))
      throw new Error(`maxMemory ${o.maxMemory}: must be a positive number of bytes`);
    const gpu = o.device instanceof Gpu ? o.device : o.device ? Gpu.wrap(o.device) : await Gpu.create(o.adapter);
    const owns = !o.device;
    try {
      if (precision === 'f16') gpu.requireFeature('shader-f16', 'precision f16', 'use precision f32');
    } catch (e) {
      if (owns) gpu.destroy();
      throw e;
    }
    return new Upscaler(gpu, owns, model, precision, o);
  }

  /** What the planner may use on this device. */
  get limits(): MemoryLimits {
    return plannerLimits(this.gpu, this.o, this.budget);
  }

  /** Plans (and keeps) the chunk, window and tiles for frames of one size; see planChunk. */
  planFor(r: WindowRequest): ChunkPlan {
    this.request = r;
    const t = this.tunerOf();
    this.plan = planUpscale(this.gpu, this.model.cfg, r, { ...this.o, precision: this.precision }, this.budget, (s, rows, cols) =>
      t ? t.choose(s, rows, cols) : defaultVariant(this.gpu, s),
    );
    return this.plan;
  }

  /** The tuner (made on first use from the kept table); undefined with tune 'off'. */
  private tunerOf(): Tuner | undefined {
    const mode = checkTune(this.o.tune);
    if (mode !== 'off') this.tuner ??= new Tuner(this.gpu, mode, loadTuneTable());
    return this.tuner;
  }

  /** The runner for a window shape (built on first use, replacing any other). */
  private async runnerFor(T: number, grid: TileGrid): Promise<MsvsrRunner> {
    const r = this.runner;
    const frame = { h: grid.frame.h, w: grid.frame.w };
    if (r && r.T === T && r.h === grid.th && r.w === grid.tw && r.frame.h === frame.h && r.frame.w === frame.w) return r;
    this.dropRunner();
    this.tunerOf();
    const measured = this.tuner?.measured.length ?? 0;
    this.runner = await MsvsrRunner.create(this.gpu, this.model.cfg, this.model.tensors, T, grid.th, grid.tw, this.precision, {
      hrBandBytes: hrBandBytesFor(this.limits.maxBinding),
      frame,
      tuner: this.tuner,
    });
    if (this.tuner && this.tuner.measured.length > measured) {
      // Merge with what other processes may have measured meanwhile, then keep.
      platform().saveState(TUNE_STATE, JSON.stringify({ ...loadTuneTable(), ...this.tuner.table }));
    }
    return this.runner;
  }

  private dropRunner(): void {
    this.runner?.destroy();
    this.runner = undefined;
  }

  /**
   * One forward pass over `frames` (a window), tile by tile on the current plan's grid; returns the x4
   * outputs of frames [emitFrom, emitTo). `firstIndex` numbers the frames in error messages.
   */
  async runWindow(frames: readonly Frame[], emitFrom = 0, emitTo = frames.length, firstIndex = 0): Promise<Frame[]> {
    const { width, height } = frames[0];
    if (!this.plan || this.plan.width !== width || this.plan.height !== height || frames.length > this.plan.window) {
      this.planFor({ width, height, chunk: frames.length, overlap: 0, chunkExplicit: true });
    }
    const inputs = frames.map((f, i) => toNetworkInput(f, firstIndex + i));
    const retries = this.o.retries ?? 3;
    const tried: string[] = [];
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.runTiles(frames, inputs, this.plan!.grid, emitFrom, emitTo);
      } catch (e) {
        const next = attempt < retries ? await this.recover(e, attempt) : undefined;
        tried.push(`${(e as Error).message.split('\n')[0]}${next ? ` -> ${next}` : ''}`);
        if (!next) {
          if (attempt === 0) throw e;
          throw new GpuError(`frames ${firstIndex}..${firstIndex + frames.length - 1}: gave up after ${attempt + 1} attempts:\n  ${tried.join('\n  ')}`);
        }
        this.o.onRecover?.(`msvsr: ${tried[tried.length - 1]}`);
      }
    }
  }

  /** What to do after a failed attempt (undefined: give up and rethrow). */
  private async recover(e: unknown, attempt: number): Promise<string | undefined> {
    if (e instanceof PlanAllocationError || e instanceof OutOfMemoryError) {
      this.dropRunner();
      if (attempt === 0) return 'retrying the same plan with its buffers released';
      // Half the activations of the plan that failed (weights and readback are what they are).
      const plan = this.plan!;
      this.budget = Math.floor(Math.min(this.budget, plan.bytes.total) - plan.bytes.activations / 2);
      if (this.o.tileSize !== undefined) return undefined; // an explicit tile size is not changed
      const p = this.planFor({ ...this.request!, chunkExplicit: true });
      return `re-planned within ${(this.budget / 2 ** 20).toFixed(0)} MiB: ${p.tile.count} tile(s) of ${p.tile.width}x${p.tile.height}`;
    }
    if (this.gpu.reopenable && (await this.gpu.isLost())) {
      this.dropRunner();
      await this.gpu.reopen();
      return 'reopened the GPU device and redoing the window';
    }
    return undefined;
  }

  private async runTiles(frames: readonly Frame[], inputs: Float32Array[], grid: TileGrid, emitFrom: number, emitTo: number): Promise<Frame[]> {
    const { width, height } = frames[0];
    const runner = await this.runnerFor(frames.length, grid);
    const outs = frames.slice(emitFrom, emitTo).map((f) => outputLike(f, UPSCALE * width, UPSCALE * height));
    const S = UPSCALE;
    for (const { y, x } of grid.tiles) {
      const crops = inputs.map((d) => cropRgb(d, width, y.start, x.start, grid.th, grid.tw));
      const tiles = await runner.run(crops, isWhole(grid) ? undefined : [y.start, x.start, y.up, x.up]);
      for (let t = emitFrom; t < emitTo; t++) {
        pasteRgb(outs[t - emitFrom], tiles[t], S * y.start, S * x.start, S * grid.tw, S * y.coreStart, S * y.coreEnd, S * x.coreStart, S * x.coreEnd);
      }
    }
    return outs;
  }

  /** One forward pass over frames of one size, all of them emitted (PaddleGAN's chunk). */
  run(frames: readonly Frame[], firstIndex = 0): Promise<Frame[]> {
    return this.runWindow(frames, 0, frames.length, firstIndex);
  }

  destroy(): void {
    this.dropRunner();
    if (this.ownsGpu) this.gpu.destroy();
  }
}
