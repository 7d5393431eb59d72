import { conv2d as conv2dSource, conv2d_common as commonSource } from './wgsl.gen.js';
import { Kernel, preferring, type Dispatch } from './kernel.js';
import type { Gpu } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Precision } from '../numeric/precision.js';
import { placeholder } from './placeholder.js';
import { packWinograd, type WinogradTiling, winogradApplies, winogradKernel, winogradSpec, winogradSpecs, winogradWorkgroups } from './conv2d_winograd.js';
import { type MatrixTiling, matrixInapplicable, matrixKernel, matrixSpec, matrixSpecs, matrixWorkgroups } from './conv2d_matrix.js';

/** conv2d.wgsl's template parameters. */
export type Conv2dSpec = {
  S: Precision;
  /** Arithmetic: f16 (only with f16 storage) sums each kernel row in f16, those sums in f32; MATH16 says M is f16. */
  M: Precision;
  MATH16: boolean;
  K: number;
  STRIDE: number;
  PAD: number;
  NIN: number;
  NRES: number;
  C0: number;
  C1: number;
  C2: number;
  C3: number;
  C4: number;
  C5: number;
  COUT4: number;
  ACT: number;
  SHUFFLE: boolean;
  UPRES: boolean;
  HEAD: number;
  OFF4: number;
  MAX_RESIDUE: number;
} & Conv2dTiling;

/** The register/workgroup tiling: the only tuning knobs. */
export type Conv2dTiling = { PX: number; OVN: number; TPX: number; TPY: number; TPO: number; CK: number };

const kernel = new Kernel<Conv2dSpec>('conv2d', `${conv2dSource}\n${commonSource}`);

export type Activation = 'none' | 'lrelu' | 'relu';

export interface Conv2dShape {
  /** Scalar channel count of each concat source, in order (sum = the weight's input channels). */
  sources: readonly number[];
  cout: number;
  k: number;
  stride?: number;
  pad?: number;
  act?: Activation;
  /** PixelShuffle(2) on store: the output has cout/4 channels at twice the resolution. */
  shuffle?: boolean;
  /** Residual tensors added after the activation (same shape as the output). */
  residuals?: number;
  /**
   * MSVSR offset head on the output (cout = 27·G): 'align' adds the tiled, flipped flow to
   * maxResidue·tanh of the offsets and takes sigmoid of the masks; 're-align' adds the stage-2 offsets and
   * averages the masks. The extra input (flow, or the stage-2 offsets|masks tensor) is bound as `head` in
   * Conv2dBinding.
   */
  head?: 'align' | 'realign';
  /** The offset head's bound on the predicted residue (PaddleGAN's max_residue_magnitude, 10). */
  maxResidue?: number;
  /** The last residual is a low-resolution image (output size / 4), added upsampled x4 (bilinear). */
  upres?: boolean;
  dtype?: Precision;
  /**
   * The direct conv's arithmetic: f32 (default), or f16 with f16 storage (products of one kernel row summed
   * in f16, those sums accumulated in f32; see conv2d.wgsl). A tuner choice: faster where f16 runs at twice
   * the f32 rate, slower where it is emulated (lavapipe), and about twice the error either way.
   */
  math?: Precision;
  /** Override of the register/workgroup tiling (tuning experiments; default: conv2dTilings). */
  tiling?: Partial<Conv2dTiling>;
  /**
   * The algorithm: 'direct' (default), 'winograd' (F(4x4, 3x3), 3x3 stride-1 convs only; its weights are
   * packed with packWinograd) or 'matrix' (an implicit GEMM on subgroup matrices: f16 storage and a device
   * that has them, see conv2d_matrix.wgsl), with an optional blocking override.
   */
  variant?: 'direct' | 'winograd' | 'matrix';
  winograd?: Partial<WinogradTiling>;
  matrix?: Partial<MatrixTiling>;
}

const MAX_SLOTS = 6;
const ACT_CODE: Record<Activation, number> = { none: 0, lrelu: 1, relu: 2 };

export function convOutSize(n: number, k: number, stride: number, pad: number): number {
  return Math.floor((n + 2 * pad - k) / stride) + 1;
}

/**
 * Tilings for a conv shape, in order of preference: 64 invocations accumulating 4 pixels x OVN output vec4s
 * each, then the same with half the rows per workgroup (half the workgroup memory) for devices with less
 * than the pixel-shuffle conv's ~21 KiB, then a minimal tile.
 */
export function conv2dTilings(s: Conv2dShape): Conv2dTiling[] {
  const cout4 = Math.ceil(s.cout / 4);
  const OVN = s.shuffle ? 4 : cout4 >= 2 ? 2 : 1;
  const TPO = Math.min(4, Math.ceil(cout4 / OVN));
  const TPY = Math.max(1, 64 / (TPO * 4));
  const out: Conv2dTiling[] = [{ PX: 4, OVN, TPX: 4, TPY, TPO, CK: 2 }];
  if (TPY > 1) out.push({ PX: 4, OVN, TPX: 4, TPY: Math.max(1, TPY / 2), TPO, CK: 2 });
  out.push({ PX: 4, OVN, TPX: 4, TPY: 1, TPO: 1, CK: 1 });
  return preferring(out, s.tiling);
}

/** The specializations of a conv shape, one per tiling of conv2dTilings (in order of preference). */
export function conv2dSpecs(s: Conv2dShape): Conv2dSpec[] {
  return conv2dTilings(s).map((t) => ({ ...conv2dBase(s), ...t }));
}

/** The specialization values that do not depend on the algorithm's tiling (the shape and the epilogue). */
function conv2dBase(s: Conv2dShape): Omit<Conv2dSpec, keyof Conv2dTiling> {
  const nres = s.residuals ?? 0;
  if (s.sources.length < 1 || s.sources.length + nres > MAX_SLOTS) {
    throw new Error(`conv2d: ${s.sources.length} sources + ${nres} residuals exceed ${MAX_SLOTS} slots`);
  }
  if (s.shuffle && (s.cout % 16 !== 0 || nres || s.head)) throw new Error('conv2d: pixel shuffle needs cout % 16 == 0, no residual and no head');
  if (s.head && (s.cout % 108 !== 0 || nres || (s.act ?? 'none') !== 'none')) {
    throw new Error(`conv2d: an offset head needs cout = 27·G with G a multiple of 4 (got ${s.cout}), no residual and no activation`);
  }
  if (s.head && s.sources.length + 1 > MAX_SLOTS) throw new Error('conv2d: an offset head needs a free slot');
  if (s.upres && (!nres || s.shuffle || s.head)) throw new Error('conv2d: upres needs a residual slot for the image and no shuffle or head');
  if (s.math === 'f16' && (s.dtype !== 'f16' || (s.variant ?? 'direct') !== 'direct'))
    throw new Error('conv2d: f16 arithmetic needs f16 storage and the direct conv');
  const c4 = (i: number) => (i < s.sources.length ? Math.ceil(s.sources[i] / 4) : 0);
  const base = {
    S: s.dtype ?? 'f32',
    M: s.math ?? 'f32',
    MATH16: s.math === 'f16',
    K: s.k,
    STRIDE: s.stride ?? 1,
    PAD: s.pad ?? s.k >> 1,
    NIN: s.sources.length,
    NRES: nres,
    C0: c4(0),
    C1: c4(1),
    C2: c4(2),
    C3: c4(3),
    C4: c4(4),
    C5: c4(5),
    COUT4: Math.ceil(s.cout / 4),
    ACT: ACT_CODE[s.act ?? 'none'],
    SHUFFLE: !!s.shuffle,
    UPRES: !!s.upres,
    HEAD: s.head === 'align' ? 1 : s.head === 'realign' ? 2 : 0,
    OFF4: s.head ? (s.cout * 2) / 3 / 4 : 0,
    MAX_RESIDUE: s.maxResidue ?? 10,
  } satisfies Omit<Conv2dSpec, keyof Conv2dTiling>;
  return base;
}

/** Packs a conv's weights for its variant (see packConv2d, packWinograd). */
export function packConvWeights(weight: Float32Array, bias: Float32Array | undefined, s: Conv2dShape): { w: Float32Array; b: Float32Array } {
  return s.variant === 'winograd' ? packWinograd(weight, bias, s) : packConv2d(weight, bias, s);
}

/** Floats of a packed weight and bias for the conv's variant. */
export function packedConvSize(s: Conv2dShape): { w: number; b: number } {
  const d = packedConv2dSize(s);
  return s.variant === 'winograd' ? { w: (d.w / 9) * 36, b: d.b } : d;
}

/** The specialization conv2d runs for a shape on a device: the preferred tiling that fits its limits. */
export function conv2dSpec(gpu: Gpu, s: Conv2dShape): Conv2dSpec {
  return kernel.fit(gpu, conv2dSpecs(s));
}

/**
 * Why a conv's variant and tiling cannot run on this device as asked (undefined: it can): Winograd on a conv
 * it does not apply to, or a preferred tiling over the device's workgroup limits (the run would fall back).
 */
export function variantMisfit(gpu: Gpu, s: Conv2dShape): string | undefined {
  if (s.variant === 'winograd') {
    if (!winogradApplies(s)) return 'Winograd F(4x4, 3x3) needs a 3x3 stride-1 pad-1 conv';
    const { K: _k, STRIDE: _s, PAD: _p, M: _m, MATH16: _m16, ...base } = conv2dBase(s);
    return winogradKernel.misfit(gpu, winogradSpecs(base, s, s.winograd)[0]);
  }
  if (s.variant === 'matrix') {
    const why = matrixInapplicable(gpu, s);
    if (why) return why;
    const { M: _m, MATH16: _m16, ...base } = conv2dBase(s);
    return matrixKernel.misfit(gpu, matrixSpecs(gpu, base, s, s.matrix)[0]);
  }
  return kernel.misfit(gpu, conv2dSpecs(s)[0]);
}

/** Workgroup memory and invocations of a specialization (for tests and the benchmark). */
export const conv2dResources = (spec: Conv2dSpec) => kernel.resources(spec);

/** Floats of a packed weight and bias (see packConv2d). */
export function packedConv2dSize(s: Conv2dShape): { w: number; b: number } {
  const wrow = s.sources.reduce((a, c) => a + Math.ceil(c / 4) * 4, 0);
  const cout4 = Math.ceil(s.cout / 4);
  return { w: cout4 * s.k * s.k * wrow * 4, b: cout4 * 4 };
}

/**
 * Packs an OIHW weight and its bias into the kernel's layout: weights [cout4][k*k][cin padded per source]
 * as vec4s over 4 output channels, bias [cout4] vec4. Padding lanes are zero, which keeps padding
 * channels of the output at zero.
 */
export function packConv2d(weight: Float32Array, bias: Float32Array | undefined, s: Conv2dShape): { w: Float32Array; b: Float32Array } {
  const cin = s.sources.reduce((a, b) => a + b, 0);
  const kk = s.k * s.k;
  const cout4 = Math.ceil(s.cout / 4);
  if (weight.length !== s.cout * cin * kk) {
    throw new Error(`conv2d weight: expected ${s.cout}x${cin}x${s.k}x${s.k} = ${s.cout * cin * kk} values, got ${weight.length}`);
  }
  const wrow = s.sources.reduce((a, c) => a + Math.ceil(c / 4) * 4, 0);
  const w = new Float32Array(cout4 * kk * wrow * 4);
  for (let o = 0; o < s.cout; o++) {
    const ov = o >> 2;
    const lane = o & 3;
    let cinOff = 0;
    let base = 0;
    for (const cs of s.sources) {
      for (let c = 0; c < cs; c++) {
        for (let t = 0; t < kk; t++) {
          w[((ov * kk + t) * wrow + base + c) * 4 + lane] = weight[(o * cin + cinOff + c) * kk + t];
        }
      }
      cinOff += cs;
      base += Math.ceil(cs / 4) * 4;
    }
  }
  const b = new Float32Array(cout4 * 4);
  if (bias) {
    if (bias.length !== s.cout) throw new Error(`conv2d bias: expected ${s.cout} values, got ${bias.length}`);
    b.set(bias);
  }
  return { w, b };
}

/**
 * A row band: the dispatch computes conv-grid rows [rowStart, rowStart + rows) of an image with inH input
 * rows; source buffers hold input rows from inY0 on, dst/residual/head buffers grid rows from outY0 on.
 */
export interface RowBand {
  inH: number;
  inY0: number;
  rowStart: number;
  rows: number;
  outY0: number;
}

export interface Conv2dBinding {
  weights: GPUBuffer;
  /** vec4 offsets of the packed weight and bias in `weights`. */
  wOff: number;
  bOff: number;
  sources: Tensor[];
  residuals?: Tensor[];
  /** The offset head's extra input: the flow (align) or the stage-2 offsets|masks (re-align). */
  head?: Tensor;
  out: Tensor;
  /** Compute a band of rows (default: the whole image). */
  band?: RowBand;
}

/** Input rows [lo, hi) a conv reads to compute grid rows [a, b), clipped to the image. */
export function inputRows(a: number, b: number, inH: number, k = 3, stride = 1, pad = k >> 1): [number, number] {
  return [Math.max(0, a * stride - pad), Math.min(inH, (b - 1) * stride - pad + k)];
}

export async function conv2d(gpu: Gpu, s: Conv2dShape, b: Conv2dBinding, label = 'conv2d'): Promise<Dispatch> {
  const stride = s.stride ?? 1;
  const pad = s.pad ?? s.k >> 1;
  const dtype = s.dtype ?? 'f32';
  const [src0] = b.sources;
  const res = b.residuals ?? [];
  const shape = (t: Tensor) => `${t.h}x${t.w}x${t.c} ${t.dtype}`;
  if (b.sources.length !== s.sources.length) throw new Error(`${label}: ${b.sources.length} source tensors for ${s.sources.length} sources`);
  if (res.length !== (s.residuals ?? 0)) throw new Error(`${label}: ${res.length} residual tensors for ${s.residuals ?? 0}`);
  b.sources.forEach((t, i) => {
    if (t.c !== s.sources[i] || t.h !== src0.h || t.w !== src0.w || t.dtype !== dtype) {
      throw new Error(`${label}: source ${i} is ${shape(t)}, expected ${src0.h}x${src0.w}x${s.sources[i]} ${dtype}`);
    }
  });
  const band = b.band ?? { inH: src0.h, inY0: 0, rowStart: 0, rows: convOutSize(src0.h, s.k, stride, pad), outY0: 0 };
  const gridH = convOutSize(band.inH, s.k, stride, pad);
  const outW = convOutSize(src0.w, s.k, stride, pad);
  const [lo, hi] = inputRows(band.rowStart, band.rowStart + band.rows, band.inH, s.k, stride, pad);
  if (!(band.rows >= 1 && band.rowStart + band.rows <= gridH && band.inY0 <= lo && hi <= band.inY0 + src0.h && band.outY0 <= band.rowStart)) {
    throw new Error(
      `${label}: band rows [${band.rowStart}, ${band.rowStart + band.rows}) of ${gridH} need input rows [${lo}, ${hi}); sources hold [${band.inY0}, ${band.inY0 + src0.h}), output starts at row ${band.outY0}`,
    );
  }
  const f = s.shuffle ? 2 : 1;
  const [ew, ec] = [f * outW, s.shuffle ? s.cout / 4 : s.cout];
  const minRows = f * (band.rowStart + band.rows - band.outY0);
  const img = s.upres ? res[res.length - 1] : undefined;
  for (const t of [b.out, ...res.filter((r) => r !== img), ...(s.head === 'realign' && b.head ? [b.head] : [])]) {
    if ((b.band ? t.h < minRows : t.h !== minRows) || t.w !== ew || t.c !== ec || t.dtype !== dtype) {
      throw new Error(`${label}: output/residual is ${shape(t)}, expected ${b.band ? 'at least ' : ''}${minRows}x${ew}x${ec} ${dtype}`);
    }
  }
  if (res.some((r) => r !== img && r.h !== b.out.h) || (s.head === 'realign' && b.head && b.head.h !== b.out.h)) {
    throw new Error(`${label}: residual and head buffers must hold the same rows as the output (${b.out.h})`);
  }
  if (img && (4 * img.h !== gridH || 4 * img.w !== outW || img.c !== s.cout || img.dtype !== dtype)) {
    throw new Error(`${label}: upsampled residual is ${shape(img)}, expected ${gridH / 4}x${outW / 4}x${s.cout} ${dtype}`);
  }
  if (!!s.head !== !!b.head) throw new Error(`${label}: offset head ${s.head ? 'input missing' : 'input given without a head'}`);
  if (b.head && s.head === 'align' && (b.head.h !== b.out.h || b.head.w !== outW || b.head.c !== 2 || b.head.dtype !== dtype)) {
    throw new Error(`${label}: flow is ${shape(b.head)}, expected ${b.out.h}x${outW}x2 ${dtype}`);
  }
  const slots: Record<string, GPUBufferBinding | GPUBuffer> = { weights: b.weights, dst: b.out.binding };
  const bound = [...b.sources, ...res, ...(b.head ? [b.head] : [])];
  for (let i = 0; i < MAX_SLOTS; i++) slots[`src${i}`] = i < bound.length ? bound[i].binding : placeholder(gpu);
  const uniforms = {
    inH: band.inH,
    inW: src0.w,
    inY0: band.inY0,
    outW,
    rowStart: band.rowStart,
    rows: band.rows,
    outY0: band.outY0,
    wOff: b.wOff,
    bOff: b.bOff,
    upH: img?.h ?? 0,
    upW: img?.w ?? 0,
  };
  let pipeline: GPUComputePipeline;
  let bindGroup: GPUBindGroup;
  let workgroups: [number, number, number];
  let algo = '';
  if (s.variant === 'winograd') {
    if (!winogradApplies(s)) throw new Error(`${label}: Winograd F(4x4, 3x3) needs a 3x3 stride-1 pad-1 conv`);
    const { K: _k, STRIDE: _s, PAD: _p, M: _m, MATH16: _m16, ...base } = conv2dBase(s);
    const spec = winogradSpec(gpu, winogradSpecs(base, s, s.winograd));
    pipeline = await winogradKernel.pipeline(gpu, spec);
    bindGroup = winogradKernel.bindGroup(gpu, slots, uniforms);
    workgroups = winogradWorkgroups(spec, outW, band.rows, Math.ceil(s.cout / 4));
    algo = ' winograd';
  } else if (s.variant === 'matrix') {
    const why = matrixInapplicable(gpu, s);
    if (why) throw new Error(`${label}: subgroup-matrix conv: ${why}`);
    const { M: _m, MATH16: _m16, ...base } = conv2dBase(s);
    const spec = matrixSpec(gpu, matrixSpecs(gpu, base, s, s.matrix));
    pipeline = await matrixKernel.pipeline(gpu, spec);
    bindGroup = matrixKernel.bindGroup(gpu, slots, uniforms);
    workgroups = matrixWorkgroups(spec, outW, band.rows, Math.ceil(s.cout / 4));
    algo = ' matrix';
  } else {
    const spec = conv2dSpec(gpu, s);
    pipeline = await kernel.pipeline(gpu, spec);
    bindGroup = kernel.bindGroup(gpu, slots, uniforms);
    workgroups = [Math.ceil(outW / (spec.TPX * spec.PX)), Math.ceil(band.rows / spec.TPY), Math.ceil(Math.ceil(s.cout / 4) / (spec.TPO * spec.OVN))];
  }
  const cin = s.sources.reduce((a, c) => a + c, 0);
  const epi = [
    s.act && s.act !== 'none' ? s.act : '',
    s.shuffle ? 'shuffle' : '',
    s.head ? `${s.head} head` : '',
    s.upres ? 'x4 skip' : '',
    res.length - (img ? 1 : 0) > 0 ? 'residual' : '',
  ]
    .filter(Boolean)
    .join('+');
  const macs = band.rows * outW * s.cout * cin * s.k * s.k;
  return {
    label,
    op: `conv${s.k}x${s.k}${stride > 1 ? ` s${stride}` : ''} ${cin}->${s.cout}${epi ? ` ${epi}` : ''} @${gridH}x${outW}${algo}`,
    pipeline,
    bindGroup,
    workgroups,
    macs,
    flops: 2 * macs,
    bytes: [...b.sources, ...res, b.out].reduce((a, t) => a + t.bytes, 0) + (s.cout * cin * s.k * s.k + s.cout) * 4,
  };
}
