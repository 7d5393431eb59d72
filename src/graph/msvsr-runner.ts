// Runs PP-MSVSR on chunks of T frames of one size. The plan (buffers, pipelines, bind groups) is built once
// per (config, T, h, w, precision) and reused for every chunk of that shape; a chunk is then a few
// writeBuffer calls, the prepared dispatches encoded into a few command buffers, and the readback of the
// outputs (copied out by the GPU as soon as each is complete).
import type { Gpu } from '../gpu/device.js';
import { BindingLimitError, PlanAllocationError } from '../gpu/errors.js';
import { unpackChannels } from '../gpu/tensor.js';
import type { Precision } from '../numeric/precision.js';
import { Builder } from './builder.js';
import { Plan } from './plan.js';
import { buildMsvsr, hrBandBytesFor, type MsvsrGraph, type BuildOptions } from './msvsr.js';
import { DEFAULT_VARIANT, defaultVariant, shapeKey, type Tuner } from './tuner.js';
import type { Conv2dShape } from '../kernels/conv2d.js';
import type { MsvsrConfig } from '../weights/manifest.js';
import type { NamedTensor } from '../weights/named-tensor.js';

export class MsvsrRunner {
  private constructor(
    readonly gpu: Gpu,
    readonly cfg: MsvsrConfig,
    readonly T: number,
    readonly h: number,
    readonly w: number,
    readonly dtype: Precision,
    /** The frames this plan's tiles come from (the plan's own size when it runs whole frames). */
    readonly frame: { h: number; w: number },
    private readonly builder: Builder,
    readonly net: MsvsrGraph,
    readonly plan: Plan,
  ) {}

  static async create(
    gpu: Gpu,
    cfg: MsvsrConfig,
    weights: ReadonlyMap<string, NamedTensor>,
    T: number,
    h: number,
    w: number,
    dtype: Precision = 'f32',
    opts: BuildOptions & { tuner?: Tuner } = {},
  ): Promise<MsvsrRunner> {
    if (dtype === 'f16') gpu.requireFeature('shader-f16', 'precision f16', 'use precision f32');
    const hrBandBytes = opts.hrBandBytes ?? hrBandBytesFor(gpu.limits.maxStorageBufferBindingSize);
    const tuner = opts.tuner;
    if (tuner?.mode === 'full') {
      // The convs of this plan, from its graph recorded with shapes only, measured where the table lacks them.
      const convs: { shape: Conv2dShape; rows: number; cols: number }[] = [];
      const seen = new Set<string>();
      const rec = new Builder('shapes-only', dtype, (shape, rows, cols) => {
        const k = shapeKey(shape, rows, cols);
        if (!seen.has(k)) {
          seen.add(k);
          convs.push({ shape, rows, cols });
        }
        return DEFAULT_VARIANT;
      });
      buildMsvsr(rec, cfg, T, h, w, { ...opts, hrBandBytes, taps: false });
      await tuner.tune(convs);
    }
    const b = new Builder(weights, dtype, (s, rows, cols) => (tuner ? tuner.choose(s, rows, cols) : defaultVariant(gpu, s)));
    const net = buildMsvsr(b, cfg, T, h, w, { ...opts, hrBandBytes });
    b.uploadWeights(gpu);
    try {
      const plan = await Plan.build(gpu, b.graph);
      return new MsvsrRunner(gpu, cfg, T, h, w, dtype, opts.frame ?? { h, w }, b, net, plan);
    } catch (e) {
      b.destroy();
      // The same errors, with what to change added to the message.
      if (e instanceof BindingLimitError) {
        const hint = `Frames of ${w}x${h} are too large for this adapter in ${dtype}${dtype === 'f32' ? '; precision f16 halves every tensor' : ''}.`;
        throw new BindingLimitError(`${e.message}\n${hint}`, e.label, e.bytes, e.limit);
      }
      if (e instanceof PlanAllocationError) {
        const f16 = dtype === 'f32' ? ' or precision f16 (half the memory)' : '';
        const mib = (e.bytes / 2 ** 20).toFixed(0);
        throw new PlanAllocationError(
          `${e.message}\nA chunk of ${T} frames at ${w}x${h} (${dtype}) needs ${mib} MiB of GPU memory: use fewer frames per chunk (chunkSize, --chunk)${f16}.`,
          e.bytes,
        );
      }
      throw e;
    }
  }

  /** Planned GPU bytes: every activation buffer plus the packed weights (readback buffers apart). */
  get bytes(): number {
    return this.plan.bytes + this.builder.params.bytes;
  }

  /** Host-visible readback buffers for the outputs. */
  get readbackBytes(): number {
    return this.plan.readbackBytes;
  }

  get dispatchCount(): number {
    return this.plan.dispatches.length;
  }

  /** Encodes and submits the whole chunk (inputs must have been written). */
  submit(): void {
    for (const cb of this.plan.encode()) this.gpu.submit([cb]);
  }

  /**
   * frames: T frames, HWC RGB float in [0, 1]; returns T frames of 4h x 4w x 3 (not clamped). A tile plan
   * (built with `frame`) also takes the tile's origins: [frame y, frame x, resized-grid y, resized-grid x].
   */
  async run(frames: readonly Float32Array[], origins?: readonly [number, number, number, number]): Promise<Float32Array[]> {
    this.writeInputs(frames);
    const o = this.net.origins;
    if (!!o !== !!origins) throw new Error(`runner: ${o ? "a tile plan needs the tile's origins" : 'origins given to a whole-frame plan'}`);
    if (o && origins) this.plan.tensor(o).write(origins);
    this.submit();
    return Promise.all(this.net.outputs.map(async (v) => unpackChannels(await this.plan.readOutput(v), v.h * v.w, v.c, v.dtype)));
  }

  writeInputs(frames: readonly Float32Array[]): void {
    if (frames.length !== this.T) throw new Error(`runner: ${frames.length} frames for a plan of ${this.T}`);
    frames.forEach((f, t) => {
      this.plan.tensor(this.net.inputs[t]).write(f);
    });
  }

  /** A debug intermediate kept with `taps` (HWC). */
  async tap(name: string): Promise<Float32Array> {
    const v = this.net.taps.get(name);
    if (!v) throw new Error(`runner: no tap '${name}' (built with taps: ${[...this.net.taps.keys()].join(', ') || 'none'})`);
    return this.plan.tensor(v).download();
  }

  destroy(): void {
    this.plan.destroy();
    this.builder.destroy();
  }
}
