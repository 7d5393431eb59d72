// A GPU tensor: one frame (batch 1) in NHWC, channels padded to a multiple of 4 so every kernel works on
// vec4s (ncnn's pack4). The padding channels are kept at zero by every kernel that writes a tensor.
import type { Gpu } from './device.js';
import { fromHalf, toHalf } from '../numeric/half.js';
import { bytesPerScalar, type Precision } from '../numeric/precision.js';
import { BindingLimitError } from './errors.js';

export { bytesPerScalar, type Precision };

// A function, not a constant: in Node, GPUBufferUsage becomes a global only once dawn.node is loaded.
export function storageUsage(): GPUBufferUsageFlags {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

export class Tensor {
  constructor(
    readonly gpu: Gpu,
    readonly h: number,
    readonly w: number,
    readonly c: number,
    readonly dtype: Precision,
    readonly buffer: GPUBuffer,
    readonly offset = 0,
  ) {}

  /** Channel count in vec4s: the pixel stride of the buffer. */
  get c4(): number {
    return Math.ceil(this.c / 4);
  }
  get bytes(): number {
    return Tensor.bytesFor(this.h, this.w, this.c, this.dtype);
  }
  static bytesFor(h: number, w: number, c: number, dtype: Precision): number {
    return h * w * Math.ceil(c / 4) * 4 * bytesPerScalar(dtype);
  }
  get binding(): GPUBufferBinding {
    return { buffer: this.buffer, offset: this.offset, size: this.bytes };
  }
  get shape(): [number, number, number] {
    return [this.h, this.w, this.c];
  }

  static alloc(gpu: Gpu, h: number, w: number, c: number, dtype: Precision = 'f32', label = 'tensor'): Tensor {
    const bytes = Tensor.bytesFor(h, w, c, dtype);
    const max = gpu.limits.maxStorageBufferBindingSize;
    if (bytes > max) {
      throw new BindingLimitError(
        `${label}: a ${h}x${w}x${c} ${dtype} tensor needs ${bytes} bytes, over this adapter's maxStorageBufferBindingSize of ${max} bytes`,
        label,
        bytes,
        max,
      );
    }
    return new Tensor(gpu, h, w, c, dtype, gpu.createBuffer(label, bytes, storageUsage()));
  }

  /** Uploads HWC data with `c` channels per pixel (padded on the way). */
  static upload(gpu: Gpu, data: ArrayLike<number>, h: number, w: number, c: number, dtype: Precision = 'f32', label = 'tensor'): Tensor {
    const t = Tensor.alloc(gpu, h, w, c, dtype, label);
    t.write(data);
    return t;
  }

  write(data: ArrayLike<number>): void {
    const { h, w, c } = this;
    if (data.length !== h * w * c) throw new Error(`tensor write: expected ${h * w * c} values (${h}x${w}x${c}), got ${data.length}`);
    this.gpu.device.queue.writeBuffer(this.buffer, this.offset, packChannels(data, h * w, c, this.dtype));
  }

  /** Reads back as HWC float32 with `c` channels per pixel. */
  async download(): Promise<Float32Array> {
    const raw = await this.gpu.read(this.buffer, this.offset, this.bytes);
    return unpackChannels(raw, this.h * this.w, this.c, this.dtype);
  }

  /** Reads back including the padding channels (tests check they stay zero). */
  async downloadPadded(): Promise<Float32Array> {
    const raw = await this.gpu.read(this.buffer, this.offset, this.bytes);
    return unpackChannels(raw, this.h * this.w, this.c4 * 4, this.dtype);
  }

  destroy(): void {
    this.gpu.release(this.buffer);
  }
}

export function packChannels(data: ArrayLike<number>, pixels: number, c: number, dtype: Precision): ArrayBuffer {
  const cp = Math.ceil(c / 4) * 4;
  if (dtype === 'f32') {
    const out = new Float32Array(pixels * cp);
    if (cp === c) out.set(data as ArrayLike<number>);
    else for (let p = 0; p < pixels; p++) for (let k = 0; k < c; k++) out[p * cp + k] = data[p * c + k];
    return out.buffer;
  }
  const out = new Uint16Array(pixels * cp);
  for (let p = 0; p < pixels; p++) for (let k = 0; k < c; k++) out[p * cp + k] = toHalf(data[p * c + k]);
  return out.buffer;
}

export function unpackChannels(raw: ArrayBuffer, pixels: number, c: number, dtype: Precision): Float32Array {
  const cp = Math.ceil(c / 4) * 4;
  const out = new Float32Array(pixels * c);
  if (dtype === 'f32') {
    const src = new Float32Array(raw);
    if (cp === c) return src;
    for (let p = 0; p < pixels; p++) for (let k = 0; k < c; k++) out[p * c + k] = src[p * cp + k];
    return out;
  }
  const src = new Uint16Array(raw);
  for (let p = 0; p < pixels; p++) for (let k = 0; k < c; k++) out[p * c + k] = fromHalf(src[p * cp + k]);
  return out;
}
