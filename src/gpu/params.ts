// All weights of a model live in one GPU buffer; each op addresses its slice by vec4 offset. One upload, one
// binding, and no per-op buffers.
import type { Gpu } from './device.js';

export class ParamBuffer {
  private chunks: Float32Array[] = [];
  private length = 0; // in floats, always a multiple of 4
  private reserved = false;

  /** Appends data (padded to a vec4 boundary) and returns its vec4 offset. */
  add(data: Float32Array): number {
    const off = this.length / 4;
    const padded = Math.ceil(data.length / 4) * 4;
    if (padded !== data.length) {
      const p = new Float32Array(padded);
      p.set(data);
      data = p;
    }
    this.chunks.push(data);
    this.length += padded;
    return off;
  }

  /** Reserves room for n floats without data (planning only: such a buffer cannot be uploaded). */
  reserve(n: number): number {
    const off = this.length / 4;
    this.length += Math.ceil(n / 4) * 4;
    this.reserved = true;
    return off;
  }

  get bytes(): number {
    return this.length * 4;
  }

  upload(gpu: Gpu, label = 'weights'): GPUBuffer {
    if (this.reserved) throw new Error('weights: a planning-only parameter buffer has no data to upload');
    const buf = gpu.createBuffer(label, Math.max(16, this.bytes), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
    let off = 0;
    for (const c of this.chunks) {
      gpu.device.queue.writeBuffer(buf, off, c.buffer, c.byteOffset, c.byteLength);
      off += c.byteLength;
    }
    return buf;
  }
}
