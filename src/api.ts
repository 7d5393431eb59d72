// The public API: load weights, upscale frames (a list or a stream). Portable: files come through the
// platform (fs in Node, fetch in browsers).
import { Gpu, type DeviceOptions } from './gpu/device.js';
import type { Precision } from './numeric/precision.js';
import { MsvsrRunner } from './graph/msvsr-runner.js';
import { platform } from './platform/platform.js';
import { readWeights, type LoadedWeights } from './weights/load.js';
import { countParameters, type ConfigName, type MsvsrConfig } from './weights/manifest.js';
import type { NamedTensor } from './weights/named-tensor.js';
import { checkChunkSize, checkPrecision } from './options.js';

/** One video frame: interleaved RGB or RGBA (alpha dropped), row-major HWC. */
export interface Frame {
  width: number;
  height: number;
  /** 8-bit values (0..255) or floats (nominally 0..1). */
  data: Uint8Array | Uint8ClampedArray | Float32Array;
  /** Channels per pixel; inferred from the data length when absent. */
  channels?: 3 | 4;
}

export interface Model {
  readonly config: ConfigName;
  readonly cfg: MsvsrConfig;
  /** Trainable parameters (1,453,607 for PP-MSVSR). */
  readonly parameters: number;
  /** Precision the file stored. */
  readonly fileDtype: Precision;
  readonly format: 'pdparams' | 'safetensors';
  readonly tensors: ReadonlyMap<string, NamedTensor>;
}

export type { Precision } from './numeric/precision.js';

export interface UpscaleOptions {
  model?: Model;
  /** Path or URL of a .pdparams / .safetensors file, when no model is given. */
  weights?: string;
  /** Frames per independent forward pass (PaddleGAN's predictor: 10). */
  chunkSize?: number;
  precision?: Precision;
  /** A device to run on (not destroyed); otherwise one is opened and released. */
  device?: GPUDevice | Gpu;
  /** Adapter selection when no device is given. */
  adapter?: DeviceOptions;
  onProgress?: (done: number, total: number) => void;
}

export async function loadModel(source: string | URL | Uint8Array | ArrayBuffer, opts: { name?: string } = {}): Promise<Model> {
  let bytes: Uint8Array;
  let name = opts.name;
  if (source instanceof Uint8Array) bytes = source;
  else if (source instanceof ArrayBuffer) bytes = new Uint8Array(source);
  else {
    name ??= String(source);
    bytes = await platform().readFile(source);
  }
  return modelFrom(readWeights(bytes, name ?? 'weights'));
}

export function modelFrom(w: LoadedWeights): Model {
  return Object.freeze({
    config: w.config,
    cfg: w.cfg,
    parameters: countParameters(w.tensors, w.cfg),
    fileDtype: w.dtype,
    format: w.format,
    tensors: w.tensors,
  });
}

/** Network input for one frame: HWC RGB float32 in [0, 1]. 8-bit goes through float32(v / 255) exactly. */
const BYTE_TO_FLOAT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

interface FrameShape {
  width: number;
  height: number;
}

export function frameChannels(f: Frame, index: number): 3 | 4 {
  const px = f.width * f.height;
  if (!(Number.isInteger(f.width) && Number.isInteger(f.height) && f.width >= 1 && f.height >= 1)) {
    throw new Error(`frame ${index}: invalid size ${f.width}x${f.height}`);
  }
  if (f.channels !== undefined && f.channels !== 3 && f.channels !== 4) {
    throw new Error(`frame ${index}: ${f.channels} channels; only RGB (3) or RGBA (4) frames are accepted`);
  }
  const c = f.channels ?? (f.data.length === px * 3 ? 3 : f.data.length === px * 4 ? 4 : 0);
  if (c === 0 || f.data.length !== px * c) {
    throw new Error(
      `frame ${index}: data has ${f.data.length} values; a ${f.width}x${f.height} frame needs ${px * 3} (RGB) or ${px * 4} (RGBA)` +
        (f.channels ? ` — with channels ${f.channels}: ${px * f.channels}` : ''),
    );
  }
  return c;
}

export function toNetworkInput(f: Frame, index: number): Float32Array {
  const c = frameChannels(f, index);
  const px = f.width * f.height;
  const out = new Float32Array(px * 3);
  const d = f.data;
  if (d instanceof Float32Array) {
    if (c === 3) out.set(d);
    else for (let p = 0; p < px; p++) for (let k = 0; k < 3; k++) out[p * 3 + k] = d[p * 4 + k];
  } else {
    for (let p = 0; p < px; p++) for (let k = 0; k < 3; k++) out[p * 3 + k] = BYTE_TO_FLOAT[d[p * c + k]];
  }
  return out;
}

/** PaddleGAN's predictor: clip to [0, 1], x255 in float32, round half to even, uint8. */
export function toUint8(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    // biome-ignore lint/complexity/useMathMinMax: NaN must become 0, which Math.min / Math.max would propagate
    const p = Math.fround((v > 1 ? 1 : v > 0 ? v : 0) * 255);
    const r = Math.round(p);
    // Math.round rounds halves up; numpy rounds them to even.
    out[i] = r - p === 0.5 && r % 2 === 1 ? r - 1 : r;
  }
  return out;
}

function outputFrame(x: Float32Array, like: Frame, width: number, height: number): Frame {
  if (like.data instanceof Float32Array) return { width, height, data: x, channels: 3 };
  const u8 = toUint8(x);
  return { width, height, data: like.data instanceof Uint8ClampedArray ? new Uint8ClampedArray(u8.buffer) : u8, channels: 3 };
}

async function resolveModel(o: UpscaleOptions): Promise<Model> {
  if (o.model) return o.model;
  if (o.weights) return loadModel(o.weights);
  throw new Error('upscale: no weights — pass { model } (from loadModel) or { weights: <path or URL of a .pdparams / .safetensors> }');
}

/**
 * A model on a device with its plans: reuses the plan of a chunk shape for every chunk of that shape and
 * keeps at most one plan alive, so memory stays flat over any number of chunks.
 */
export class Upscaler {
  private runner: MsvsrRunner | undefined;

  private constructor(
    readonly gpu: Gpu,
    private readonly ownsGpu: boolean,
    readonly model: Model,
    readonly precision: Precision,
  ) {}

  static async create(model: Model, o: { precision?: Precision; device?: GPUDevice | Gpu; adapter?: DeviceOptions } = {}): Promise<Upscaler> {
    const precision = checkPrecision(o.precision);
    const gpu = o.device instanceof Gpu ? o.device : o.device ? Gpu.wrap(o.device) : await Gpu.create(o.adapter);
    const owns = !o.device;
    try {
      if (precision === 'f16') gpu.requireFeature('shader-f16', 'precision f16', 'use precision f32');
    } catch (e) {
      if (owns) gpu.destroy();
      throw e;
    }
    return new Upscaler(gpu, owns, model, precision);
  }

  /** The runner for a chunk shape (built on first use, replacing any other). */
  async runnerFor(T: number, h: number, w: number): Promise<MsvsrRunner> {
    const r = this.runner;
    if (r && r.T === T && r.h === h && r.w === w) return r;
    r?.destroy();
    this.runner = undefined;
    this.runner = await MsvsrRunner.create(this.gpu, this.model.cfg, this.model.tensors, T, h, w, this.precision);
    return this.runner;
  }

  /** One independent forward pass over frames of one size. */
  async run(frames: readonly Frame[], firstIndex = 0): Promise<Frame[]> {
    const { width, height } = frames[0];
    const inputs = frames.map((f, i) => toNetworkInput(f, firstIndex + i));
    const runner = await this.runnerFor(frames.length, height, width);
    const outs = await runner.run(inputs);
    return outs.map((x, i) => outputFrame(x, frames[i], 4 * width, 4 * height));
  }

  destroy(): void {
    this.runner?.destroy();
    this.runner = undefined;
    if (this.ownsGpu) this.gpu.destroy();
  }
}

function checkSameSize(f: Frame, first: FrameShape, index: number): void {
  frameChannels(f, index);
  if (f.width !== first.width || f.height !== first.height) {
    throw new Error(`frame ${index} is ${f.width}x${f.height}, but frame 0 is ${first.width}x${first.height}: all frames must have one size`);
  }
}

/** Upscales a sequence x4, in consecutive independent chunks (PaddleGAN's predictor: 10 frames). */
export async function upscaleFrames(frames: readonly Frame[], opts: UpscaleOptions = {}): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of upscaleStream(frames, opts)) out.push(f);
  return out;
}

/**
 * Upscales a stream of frames of one size: memory holds one chunk of input and output whatever the
 * length. The next chunk is read while the GPU works on the current one.
 */
export async function* upscaleStream(frames: AsyncIterable<Frame> | Iterable<Frame>, opts: UpscaleOptions = {}): AsyncGenerator<Frame> {
  const chunk = checkChunkSize(opts.chunkSize);
  const total = Array.isArray(frames) ? frames.length : NaN;
  const it = (Symbol.asyncIterator in frames ? (frames as AsyncIterable<Frame>)[Symbol.asyncIterator]() : (frames as Iterable<Frame>)[Symbol.iterator]()) as
    | AsyncIterator<Frame>
    | Iterator<Frame>;
  let index = 0;
  let first: FrameShape | undefined;
  const next = async (): Promise<Frame[]> => {
    const got: Frame[] = [];
    while (got.length < chunk) {
      const r = await it.next();
      if (r.done) break;
      const f = r.value;
      if (!first) {
        frameChannels(f, 0);
        first = { width: f.width, height: f.height };
      }
      checkSameSize(f, first, index++);
      got.push(f);
    }
    return got;
  };
  // Whatever ends this generator (completion, an error, the consumer stopping early), the source is
  // closed too, so a producer such as a decoder process does not linger.
  try {
    let current = await next();
    if (current.length === 0) throw new Error('upscale: no frames to upscale (zero frames)');
    const model = await resolveModel(opts);
    const up = await Upscaler.create(model, { precision: opts.precision, device: opts.device, adapter: opts.adapter });
    try {
      let done = 0;
      while (current.length) {
        const running = up.run(current, done);
        // Read the next chunk while the GPU works; surface a read error only after this chunk is out.
        const following = next().then(
          (v) => ({ v }),
          (e: unknown) => ({ e }),
        );
        const outs = await running;
        for (const o of outs) yield o;
        done += outs.length;
        opts.onProgress?.(done, total);
        const n = await following;
        if ('e' in n) throw n.e;
        current = n.v;
      }
    } finally {
      up.destroy();
    }
  } finally {
    await it.return?.();
  }
}
