// The public API: upscale frames, a list or a stream. A video runs as consecutive chunks of output frames,
// each one forward pass over a window that may add context frames on both sides (windows.ts), planned
// into tiles when a frame does not fit the memory budget (graph/planner.ts), on an Upscaler (upscaler.ts).
import type { Gpu, DeviceOptions } from './gpu/device.js';
import type { ChunkPlan, MemoryLimits } from './graph/planner.js';
import { checkSameSize, frameChannels, type Frame } from './frames.js';
import { loadModel, type Model } from './model.js';
import type { Precision } from './numeric/precision.js';
import { checkChunkSize, checkOverlap, DEFAULT_CHUNK } from './options.js';
import { Upscaler } from './upscaler.js';
import { checkCuts, framesNeeded, isChunkStart, streamStart, windowAt, windowLength } from './windows.js';

export type { Frame } from './frames.js';
export { toUint8 } from './frames.js';
export type { Model } from './model.js';
export { loadModel, modelFrom } from './model.js';
export type { Precision } from './numeric/precision.js';
export { planUpscale, Upscaler, type UpscalerOptions } from './upscaler.js';

export interface UpscaleOptions {
  model?: Model;
  /** Path or URL of a .pdparams / .safetensors file, when no model is given. */
  weights?: string;
  /**
   * Output frames per forward pass (default 10, PaddleGAN's predictor). Given explicitly it is kept or the
   * run is refused; by default the planner may shorten it when memory is short.
   */
  chunkSize?: number;
  /**
   * Context frames run before and after each chunk, their outputs discarded, so that the recurrence does not
   * restart at chunk boundaries (default DEFAULT_OVERLAP; 0 is PaddleGAN's predictor, bit for bit).
   */
  overlap?: number;
  precision?: Precision;
  /** A device to run on (not destroyed); otherwise one is opened and released. */
  device?: GPUDevice | Gpu;
  /** Adapter selection when no device is given. */
  adapter?: DeviceOptions;
  /** GPU bytes a plan may use (default: the adapter's maxBufferSize clamped to [1, 4] GiB). */
  maxMemory?: number;
  /** Context around each tile's core in low-resolution pixels, when frames are tiled. */
  halo?: number;
  /** 'off' refuses frames too large to run whole instead of tiling them. */
  tiling?: 'auto' | 'off';
  /** Tile cores of this many low-resolution pixels, square (default: the largest the budget allows). */
  tileSize?: number;
  /** Lower caps on the device's binding and buffer limits (tests use small ones to force tiling). */
  limits?: Partial<Pick<MemoryLimits, 'maxBinding' | 'maxBuffer'>>;
  /** Attempts after an allocation failure or a lost device before giving up (default 3). */
  retries?: number;
  /** Frames in all, for progress, when the source does not say (an array does). */
  totalFrames?: number;
  /**
   * Scene cuts: frame indices (ascending) where a new scene starts. Chunks restart at each cut and no window
   * reaches across one, so the recurrence never carries features from one scene into the next (windows.ts).
   */
  cuts?: readonly number[];
  /**
   * Start at output frame `from` (a chunk start: a multiple of the chunk from the start of its scene):
   * earlier chunks are neither computed nor yielded,
   * but the source still starts at frame 0, so every window and its context are those of a run from the
   * start (a resumed run gives the frames an uninterrupted one would).
   */
  from?: number;
  /**
   * The source's first frame is frame `sourceStart` of the video (default 0), so a resumed run need not
   * re-read what no window needs: at most streamStart(from, chunk, overlap, cuts).
   */
  sourceStart?: number;
  /** Output frames done so far, after each chunk. */
  onProgress?: (done: number, total: number) => void;
  /** The plan, once made (and again if a recovery replaces it). */
  onPlan?: (plan: ChunkPlan) => void;
  /** Each recovery: what failed and what is tried next. */
  onRecover?: (message: string) => void;
  /** Conv variants: 'off', 'cached' (default) or 'full' (measure what is not measured yet); see UpscalerOptions. */
  tune?: 'off' | 'cached' | 'full';
}

async function resolveModel(o: UpscaleOptions): Promise<Model> {
  if (o.model) return o.model;
  if (o.weights) return loadModel(o.weights);
  throw new Error('upscale: no weights — pass { model } (from loadModel) or { weights: <path or URL of a .pdparams / .safetensors> }');
}

/** Upscales a sequence x4 (see UpscaleOptions for chunks, overlap and tiles). */
export async function upscaleFrames(frames: readonly Frame[], opts: UpscaleOptions = {}): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of upscaleStream(frames, opts)) out.push(f);
  return out;
}

/**
 * Upscales a stream of frames of one size: memory holds one window of input and one chunk of output whatever
 * the length. The frames of the next window are read while the GPU works on the current one.
 */
export async function* upscaleStream(frames: AsyncIterable<Frame> | Iterable<Frame>, opts: UpscaleOptions = {}): AsyncGenerator<Frame> {
  let chunk = checkChunkSize(opts.chunkSize);
  const overlap = checkOverlap(opts.overlap);
  const cuts = checkCuts(opts.cuts);
  const total = Array.isArray(frames) ? frames.length : (opts.totalFrames ?? Number.NaN);
  const it = (Symbol.asyncIterator in frames ? (frames as AsyncIterable<Frame>)[Symbol.asyncIterator]() : (frames as Iterable<Frame>)[Symbol.iterator]()) as
    | AsyncIterator<Frame>
    | Iterator<Frame>;
  // buffer[i] is frame base + i; `read` frames were taken from the source so far; frames before keepFrom
  // are not needed by any window still to run.
  const buffer: Frame[] = [];
  let base = opts.sourceStart ?? 0;
  let read = base;
  let keepFrom = base;
  let ended = false;
  let first: Frame | undefined;
  const fill = async (upTo: number): Promise<void> => {
    while (!ended && read < upTo) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      const f = r.value;
      if (first) checkSameSize(f, first, read);
      else {
        frameChannels(f, 0);
        first = f;
      }
      buffer.push(f);
      read++;
      while (base < keepFrom && buffer.length) {
        buffer.shift();
        base++;
      }
    }
  };
  // Whatever ends this generator (completion, an error, the consumer stopping early), the source is
  // closed too, so a producer such as a decoder process does not linger.
  let up: Upscaler | undefined;
  try {
    await fill(framesNeeded(base, chunk, overlap, cuts));
    if (!first) throw new Error('upscale: no frames to upscale (zero frames)');
    const { width, height } = first!;
    const model = await resolveModel(opts);
    up = await Upscaler.create(model, opts);
    const plan = up.planFor({ width, height, chunk, overlap, chunkExplicit: opts.chunkSize !== undefined, frames: Number.isNaN(total) ? undefined : total });
    opts.onPlan?.(plan);
    chunk = plan.chunk;
    let reported = plan;
    let done = 0;
    const from = opts.from ?? 0;
    if (!isChunkStart(from, chunk, cuts)) throw new Error(`from ${from}: must be a chunk start (a multiple of the chunk, ${chunk}, from its scene's start)`);
    const needFrom = streamStart(from, chunk, overlap, cuts);
    if ((opts.sourceStart ?? 0) > needFrom) throw new Error(`sourceStart ${opts.sourceStart}: the window of frame ${from} needs frames from ${needFrom} on`);
    keepFrom = Math.max(keepFrom, needFrom);
    await fill(framesNeeded(from, chunk, overlap, cuts));
    for (let c = from; c < read; ) {
      const w = windowAt(c, chunk, overlap, read, cuts);
      const running = up.runWindow(buffer.slice(w.start - base, w.end - base), w.emitStart - w.start, w.emitEnd - w.start, w.start);
      // Read the next window's frames while the GPU works; surface a read error only after this chunk is out.
      const following = fill(framesNeeded(w.emitEnd, chunk, overlap, cuts)).then(
        () => undefined,
        (e: unknown) => ({ e }),
      );
      const outs = await running;
      if (up.plan && up.plan !== reported) {
        reported = up.plan;
        opts.onPlan?.(reported);
      }
      for (const o of outs) yield o;
      done += outs.length;
      opts.onProgress?.(done, total - from);
      const failed = await following;
      if (failed) throw failed.e;
      c = w.emitEnd;
      // Frames before the earliest start a later window can have are no longer needed.
      keepFrom = Math.max(base, c - windowLength(chunk, overlap));
      buffer.splice(0, keepFrom - base);
      base = keepFrom;
    }
  } finally {
    up?.destroy();
    await it.return?.();
  }
}

export { DEFAULT_CHUNK };
