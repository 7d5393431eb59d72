import { resize as source } from './wgsl.gen.js';
import { Kernel, type Dispatch } from './kernel.js';
import { placeholder } from './placeholder.js';
import type { Gpu } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { channelGroup, expectDisjoint, expectNonEmpty, expectShape, pixelWorkgroups, expectDtypesSupported } from './tensor-checks.js';

export type ResizeSpec = { S: string; C4: number; CG: number; ALIGN: boolean; WINDOW: boolean };

const kernel = new Kernel<ResizeSpec>('resize', source);

export interface ResizeOptions {
  /** Paddle/PyTorch align_corners (default false: half-pixel centres, align_mode 0). */
  alignCorners?: boolean;
  /**
   * Multiplier applied to the result, per channel (an array of length c, only for c <= 4) or one number
   * for all channels. SPyNet: [2, 2] for the ×2 flow upsampling, [w/w_up, h/h_up] for the final rescale.
   */
  scale?: number | readonly number[];
  /** Subtracted before scaling, per channel (length c, c <= 4). With scale = 1/std this is (x − mean)/std. */
  shift?: readonly number[];
  /** src and out are windows of larger images (see ResizeWindow). */
  window?: ResizeWindow;
}

/** Where src and out sit in the whole images they are windows of. */
export interface ResizeWindow {
  /** Sizes of the whole images (the ratios are theirs). */
  inSize: readonly [number, number];
  outSize: readonly [number, number];
  /** A 1x1x4 f32 tensor: [frame y, frame x, resized-grid y, resized-grid x] of the current tile. */
  origins: Tensor;
  /** Which origin pair each window has (0: frame, 2: resized grid) and its power-of-two divisor (pyramid level). */
  src: { lane: 0 | 2; shift: number };
  dst: { lane: 0 | 2; shift: number };
}

export interface ResizeBinding {
  src: Tensor;
  /** The output size is the out tensor's size; same channels and dtype as src. */
  out: Tensor;
}

export function resizeSpec(c: number, alignCorners: boolean, dtype: string, window = false): ResizeSpec {
  const c4 = Math.ceil(c / 4);
  return { S: dtype, C4: c4, CG: channelGroup(c4), ALIGN: alignCorners, WINDOW: window };
}

/**
 * Paddle's source/destination ratio for an output size (f32, as Paddle computes it): in/out for
 * align_corners=False (equal to 1/scale_factor for integer factors), (in−1)/(out−1) for align_corners=True
 * and 0 when out = 1.
 */
export function resizeRatio(inSize: number, outSize: number, alignCorners: boolean): number {
  if (alignCorners) return outSize > 1 ? Math.fround((inSize - 1) / (outSize - 1)) : 0;
  return Math.fround(inSize / outSize);
}

function lanes(label: string, what: string, v: number | readonly number[] | undefined, c: number, dflt: number): number[] {
  const out = [0, 0, 0, 0];
  if (v === undefined || typeof v === 'number') {
    const x = v ?? dflt;
    for (let i = 0; i < Math.min(c, 4); i++) out[i] = x;
    return out;
  }
  if (c > 4) throw new Error(`${label}: a per-channel ${what} needs at most 4 channels, the tensor has ${c}; pass one number instead`);
  if (v.length !== c) throw new Error(`${label}: ${what} has ${v.length} values, expected ${c} (one per channel)`);
  for (let i = 0; i < v.length; i++) out[i] = v[i];
  return out;
}

/** Bilinear resize of `src` to `out`'s size, then out = (v − shift)·scale per channel. */
export async function resize(gpu: Gpu, b: ResizeBinding, opts: ResizeOptions = {}, label = 'resize'): Promise<Dispatch> {
  const { src, out } = b;
  const align = opts.alignCorners ?? false;
  expectNonEmpty(label, 'src', src);
  expectNonEmpty(label, 'out', out);
  expectShape(label, 'out', out, undefined, undefined, src.c, src.dtype);
  expectDisjoint(label, src, 'src', out, 'out');
  expectDtypesSupported(gpu, label, src, out);
  const scale = lanes(label, 'scale', opts.scale, src.c, 1);
  const shift = lanes(label, 'shift', opts.shift, src.c, 0);
  // A scalar scale on a >4-channel tensor fills all 4 lanes (every group of 4 channels gets it); the
  // padding channels of the last vec4 then stay zero because the source's padding is zero and the shift 0.
  const win = opts.window;
  if (win) {
    expectShape(label, 'origins', win.origins, 1, 1, 4, 'f32');
    for (const e of [win.src, win.dst]) if (e.lane !== 0 && e.lane !== 2) throw new Error(`${label}: window lane ${e.lane} is not 0 or 2`);
  }
  const [inH, inW] = win?.inSize ?? [src.h, src.w];
  const [outH, outW] = win?.outSize ?? [out.h, out.w];
  const spec = resizeSpec(src.c, align, src.dtype, !!win);
  const pipeline = await kernel.pipeline(gpu, spec);
  const bindGroup = kernel.bindGroup(
    gpu,
    { src: src.binding, dst: out.binding, origins: win ? win.origins.binding : placeholder(gpu) },
    {
      inH: src.h,
      inW: src.w,
      outH: out.h,
      outW: out.w,
      ratioY: resizeRatio(inH, outH, align),
      ratioX: resizeRatio(inW, outW, align),
      shift,
      scale,
      srcLane: win?.src.lane ?? 0,
      srcShift: win?.src.shift ?? 0,
      dstLane: win?.dst.lane ?? 0,
      dstShift: win?.dst.shift ?? 0,
    },
  );
  return {
    label,
    op: `resize${align ? ' ac' : ''} c${src.c} ${src.h}x${src.w}->${out.h}x${out.w}`,
    pipeline,
    bindGroup,
    workgroups: pixelWorkgroups(out.h, out.w, Math.ceil(spec.C4 / spec.CG)),
    // per output pixel ~12 flops of coordinate math; per channel 6 mul + 3 add + 2 for the affine epilogue
    flops: out.h * out.w * (12 + 11 * src.c),
    bytes: src.bytes + out.bytes,
  };
}

/**
 * SPyNet's input preparation in one dispatch: bilinear resize (align_corners=False) of an RGB frame to
 * `out`'s size followed by (x − mean)/std per channel (computed as (x − mean)·(1/std)).
 */
export function resizeNormalize(
  gpu: Gpu,
  b: ResizeBinding,
  mean: readonly number[],
  std: readonly number[],
  label = 'resize_normalize',
  window?: ResizeWindow,
): Promise<Dispatch> {
  if (mean.length !== b.src.c || std.length !== b.src.c) {
    throw new Error(`${label}: mean/std have ${mean.length}/${std.length} values, expected ${b.src.c} (one per channel)`);
  }
  return resize(gpu, b, { alignCorners: false, shift: mean, scale: std.map((s) => 1 / s), window }, label);
}
