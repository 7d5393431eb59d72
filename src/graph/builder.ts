// Records the network as ops over symbolic values, addressing weights by their PaddleGAN names. Each
// weight is packed once into the model's single parameter buffer, however often its layer runs, and every
// name read is recorded with the shape the network needs (a test holds that record against the manifest).
import { Graph, type Value } from './plan.js';
import { ParamBuffer } from '../gpu/params.js';
import type { Gpu } from '../gpu/device.js';
import type { Precision } from '../numeric/precision.js';
import type { NamedTensor } from '../weights/named-tensor.js';
import type { ConvVariant } from './tuner.js';
import { conv2d, convOutSize, packConvWeights, packedConvSize, type Activation, type Conv2dShape, type RowBand } from '../kernels/conv2d.js';
import { deformConv } from '../kernels/deform_conv.js';
import { flowWarp, type WarpPadding } from '../kernels/flow_warp.js';
import { type ResizeOptions, type ResizeWindow, resize, resizeNormalize } from '../kernels/resize.js';
import { avgPool2 } from '../kernels/avgpool2.js';

export interface ConvOptions {
  act?: Activation;
  stride?: number;
  shuffle?: boolean;
  residuals?: Value[];
  /** The last residual is a low-resolution image added upsampled x4. */
  upres?: boolean;
  head?: { kind: 'align' | 'realign'; input: Value; maxResidue: number };
  /** Compute a band of rows (see RowBand); the new output value then holds rows from band.outY0 on. */
  band?: RowBand;
  /** Rows of the new output value (default: just what the band or the image needs). */
  outRows?: number;
  /** Write into this value instead of a new one (e.g. a plan output). */
  out?: Value;
  label?: string;
}

/** A resize window whose origins are a value of the graph (a per-tile input). */
export type GraphWindow = Omit<ResizeWindow, 'origins'> & { origins: Value };

interface Packed {
  wOff: number;
  bOff: number;
}

export class Builder {
  readonly graph = new Graph();
  readonly params = new ParamBuffer();
  private readonly packed = new Map<string, Packed>();
  /** Every weight tensor the network read, with the shape it needed. */
  readonly used = new Map<string, readonly number[]>();
  private weightBuffer: GPUBuffer | undefined;
  private gpu: Gpu | undefined;

  /**
   * `weights` by PaddleGAN name, or 'shapes-only' to record the graph for planning: every weight then has
   * the shape the network asks for and no data, and nothing can be uploaded.
   */
  constructor(
    private readonly weights: ReadonlyMap<string, NamedTensor> | 'shapes-only',
    /** Storage type of activations. */
    readonly dtype: Precision,
    /** Which variant computes a conv of this shape on `rows` x `cols` outputs (the tuner's choice); default direct. */
    private readonly choose?: (shape: Conv2dShape, rows: number, cols: number) => ConvVariant,
  ) {}

  /** The tensor `name`, which must have shape `want`. */
  tensor(name: string, want: readonly number[]): NamedTensor {
    if (this.weights === 'shapes-only') {
      this.used.set(name, want);
      return { shape: [...want], data: new Float32Array(0) };
    }
    const t = this.weights.get(name);
    if (!t) throw new Error(`weights: missing tensor '${name}'`);
    if (t.shape.join() !== want.join()) throw new Error(`weights: '${name}' is [${t.shape}], the network needs [${want}]`);
    this.used.set(name, want);
    return t;
  }

  /**
   * Packs a conv whose input channels are the concatenation of `parts` (each part: a PaddleGAN conv name
   * and the channel counts of its sources). Several parts sum their convolutions: conv_last(x) +
   * hybrid_conv_last(lh) is one conv over concat[x, lh] with both weights side by side and the biases added.
   */
  private pack(parts: { name: string; sources: number[] }[], shape: Conv2dShape): Packed {
    const key = JSON.stringify([parts, shape.variant === 'winograd' ? 'winograd' : 'direct']); // the weight layouts
    const hit = this.packed.get(key);
    if (hit) return hit;
    const k = shape.k;
    const cin = parts.reduce((a, p) => a + p.sources.reduce((x, y) => x + y, 0), 0);
    if (this.weights === 'shapes-only') {
      for (const p of parts) {
        const pin = p.sources.reduce((x, y) => x + y, 0);
        this.tensor(`${p.name}.weight`, [shape.cout, pin, k, k]);
        this.tensor(`${p.name}.bias`, [shape.cout]);
      }
      const size = packedConvSize(shape);
      const reserved = { wOff: this.params.reserve(size.w), bOff: this.params.reserve(size.b) };
      this.packed.set(key, reserved);
      return reserved;
    }
    const weight = new Float32Array(shape.cout * cin * k * k);
    const bias = new Float32Array(shape.cout);
    let c0 = 0;
    for (const p of parts) {
      const pin = p.sources.reduce((x, y) => x + y, 0);
      const w = this.tensor(`${p.name}.weight`, [shape.cout, pin, k, k]);
      const b = this.tensor(`${p.name}.bias`, [shape.cout]);
      for (let o = 0; o < shape.cout; o++) {
        weight.set(w.data.subarray(o * pin * k * k, (o + 1) * pin * k * k), (o * cin + c0) * k * k);
        bias[o] += b.data[o];
      }
      c0 += pin;
    }
    const { w, b } = packConvWeights(weight, bias, shape);
    const p = { wOff: this.params.add(w), bOff: this.params.add(b) };
    this.packed.set(key, p);
    return p;
  }

  private get wbuf(): GPUBuffer {
    if (!this.weightBuffer) throw new Error('builder: weights not uploaded');
    return this.weightBuffer;
  }

  uploadWeights(gpu: Gpu): GPUBuffer {
    this.gpu?.release(this.weightBuffer);
    this.gpu = gpu;
    this.weightBuffer = this.params.upload(gpu);
    return this.weightBuffer;
  }

  destroy(): void {
    this.gpu?.release(this.weightBuffer);
    this.weightBuffer = undefined;
  }

  value(h: number, w: number, c: number, label: string, dtype: Precision = this.dtype): Value {
    return this.graph.value(h, w, c, dtype, label);
  }

  zeros(h: number, w: number, c: number, label = 'zeros', dtype: Precision = this.dtype): Value {
    return this.graph.value(h, w, c, dtype, label, 'zeros');
  }

  /** The 3x3 conv `name` (PaddleGAN's nn.Conv2D, padding 1) over the concatenation of `srcs`. */
  conv(name: string, srcs: Value[], cout: number, o: ConvOptions = {}): Value {
    return this.convParts([{ name, srcs }], cout, o);
  }

  /**
   * Several 3x3 convs, each over its own sources, summed into one output: one conv over the concatenation of
   * all sources with the weights side by side and the biases added (see pack).
   */
  convSum(parts: { name: string; srcs: Value[] }[], cout: number, o: ConvOptions = {}): Value {
    return this.convParts(parts, cout, o);
  }

  private convParts(parts: { name: string; srcs: Value[] }[], cout: number, o: ConvOptions): Value {
    const all = parts.flatMap((p) => p.srcs);
    const k = 3;
    const stride = o.stride ?? 1;
    const [x] = all;
    const band = o.band;
    const oh = band ? (o.outRows ?? band.rowStart + band.rows - band.outY0) : convOutSize(x.h, k, stride, 1);
    const ow = convOutSize(x.w, k, stride, 1);
    const base: Conv2dShape = {
      sources: all.map((v) => v.c),
      cout,
      k,
      stride,
      act: o.act,
      shuffle: o.shuffle,
      residuals: o.residuals?.length ?? 0,
      upres: o.upres,
      head: o.head?.kind,
      maxResidue: o.head?.maxResidue,
      dtype: this.dtype,
    };
    const shape: Conv2dShape = { ...base, ...this.choose?.(base, band ? band.rows : oh, ow) };
    const label = o.label ?? parts.map((p) => p.name).join('+');
    const p = this.pack(
      parts.map((q) => ({ name: q.name, sources: q.srcs.map((v) => v.c) })),
      shape,
    );
    const out = o.out ?? (o.shuffle ? this.value(2 * oh, 2 * ow, cout / 4, label) : this.value(oh, ow, cout, label));
    const res = o.residuals ?? [];
    const head = o.head?.input;
    const cin = all.reduce((a, v) => a + v.c, 0);
    this.graph.add({
      label,
      reads: [...all, ...res, ...(head ? [head] : [])],
      writes: [out],
      macs: (band ? band.rows : oh) * ow * cout * cin * k * k,
      make: (gpu, t) =>
        conv2d(gpu, shape, { weights: this.wbuf, ...p, sources: all.map(t), residuals: res.map(t), head: head && t(head), out: t(out), band }, label),
    });
    return out;
  }

  /** Paddle DeformConv2D `name` (3x3, pad 1) on x with the [offsets | masks] tensor om. */
  dcn(name: string, x: Value, om: Value, groups: number, label = name): Value {
    const shape = { cin: x.c, cout: x.c, groups, dtype: this.dtype, omDtype: om.dtype };
    const p = this.pack([{ name, sources: [x.c] }], { sources: [x.c], cout: x.c, k: 3 });
    const out = this.value(x.h, x.w, x.c, label);
    this.graph.add({
      label,
      reads: [x, om],
      writes: [out],
      macs: x.h * x.w * x.c * x.c * 9,
      make: (gpu, t) => deformConv(gpu, shape, { weights: this.wbuf, ...p, x: t(x), om: t(om), out: t(out) }, label),
    });
    return out;
  }

  warp(src: Value, flow: Value, padding: WarpPadding, label = 'flow_warp'): Value {
    const out = this.value(src.h, src.w, src.c, label, src.dtype);
    this.graph.add({ label, reads: [src, flow], writes: [out], make: (gpu, t) => flowWarp(gpu, { src: t(src), flow: t(flow), out: t(out) }, padding, label) });
    return out;
  }

  resize(src: Value, h: number, w: number, o: Omit<ResizeOptions, 'window'> & { out?: Value; label?: string; window?: GraphWindow } = {}): Value {
    const label = o.label ?? 'resize';
    const out = o.out ?? this.value(h, w, src.c, label, src.dtype);
    const win = o.window;
    this.graph.add({
      label,
      reads: win ? [src, win.origins] : [src],
      writes: [out],
      make: (gpu, t) => resize(gpu, { src: t(src), out: t(out) }, { ...o, window: win && { ...win, origins: t(win.origins) } }, label),
    });
    return out;
  }

  /** SPyNet's input: bilinear resize to (h, w) (align_corners=False), then (x − mean)/std. */
  resizeNormalize(src: Value, h: number, w: number, mean: readonly number[], std: readonly number[], label = 'spynet_input', win?: GraphWindow): Value {
    const out = this.value(h, w, src.c, label, src.dtype);
    this.graph.add({
      label,
      reads: win ? [src, win.origins] : [src],
      writes: [out],
      make: (gpu, t) => resizeNormalize(gpu, { src: t(src), out: t(out) }, mean, std, label, win && { ...win, origins: t(win.origins) }),
    });
    return out;
  }

  avgPool2(src: Value, label = 'avgpool2'): Value {
    const out = this.value(Math.floor(src.h / 2), Math.floor(src.w / 2), src.c, label, src.dtype);
    this.graph.add({ label, reads: [src], writes: [out], make: (gpu, t) => avgPool2(gpu, { src: t(src), out: t(out) }, label) });
    return out;
  }
}
