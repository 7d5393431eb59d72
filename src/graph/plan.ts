// The static plan. A Graph records ops over symbolic Values (shapes only). Plan.build then
//  1. runs a liveness analysis: each value lives from the op that writes it to the last op that reads it
//     (inputs from the start, outputs and constants to the end);
//  2. assigns every value a GPU buffer, reusing a buffer once its previous value is dead. A value owns its
//     whole buffer for its lifetime, because WebGPU forbids a buffer being read-only and writable in one
//     dispatch: an op's output therefore never shares a buffer with its inputs, whatever the sizes;
//  3. creates every pipeline and bind group once.
// Executing the plan is then only encoding the prepared dispatches. Outputs are copied to their own
// readback buffers right after their last writer, so their GPU buffers are reused like any other.
import type { Gpu } from '../gpu/device.js';
import { BindingLimitError, OutOfMemoryError, PlanAllocationError } from '../gpu/errors.js';
import { Tensor, storageUsage } from '../gpu/tensor.js';
import type { Precision } from '../numeric/precision.js';
import { encodeDispatch, type Dispatch } from '../kernels/kernel.js';

export type ValueKind = 'temp' | 'input' | 'output' | 'zeros';

export class Value {
  constructor(
    readonly id: number,
    readonly h: number,
    readonly w: number,
    readonly c: number,
    readonly dtype: Precision,
    readonly label: string,
    readonly kind: ValueKind,
  ) {}
  get bytes(): number {
    return Tensor.bytesFor(this.h, this.w, this.c, this.dtype);
  }
}

export interface Op {
  label: string;
  /** Values read and written: the liveness analysis and the buffer assignment see only these. */
  reads: Value[];
  writes: Value[];
  make(gpu: Gpu, t: (v: Value) => Tensor): Promise<Dispatch>;
  /** Multiply-accumulates of the op's convolution (0 or absent for other ops): the planner's work count. */
  macs?: number;
}

export class Graph {
  readonly values: Value[] = [];
  readonly ops: Op[] = [];
  /** Values kept alive to the end of the plan (debug taps). */
  readonly kept = new Set<Value>();

  value(h: number, w: number, c: number, dtype: Precision, label: string, kind: ValueKind = 'temp'): Value {
    if (!(h >= 1 && w >= 1 && c >= 1)) throw new Error(`${label}: empty tensor ${h}x${w}x${c}`);
    const v = new Value(this.values.length, h, w, c, dtype, label, kind);
    this.values.push(v);
    return v;
  }

  add(op: Op): void {
    this.ops.push(op);
  }

  keep(v: Value): void {
    this.kept.add(v);
  }
}

export class Plan {
  private constructor(
    readonly gpu: Gpu,
    readonly graph: Graph,
    private readonly tensors: Map<Value, Tensor>,
    readonly dispatches: Dispatch[],
    /** Bytes of every storage buffer the plan allocated (its peak GPU memory, weights excluded). */
    readonly bytes: number,
    private readonly buffers: GPUBuffer[],
    /** Per output value, its readback buffer and the index of the dispatch after which it is copied. */
    private readonly readback: Map<Value, { buffer: GPUBuffer; after: number }>,
  ) {}

  /** The buffer assignment alone (no GPU): value -> slot index, and slot sizes. */
  static assign(graph: Graph, maxBinding = Infinity): { slotOf: Map<Value, number>; slotBytes: number[] } {
    const n = graph.ops.length;
    const first = new Map<Value, number>();
    const last = new Map<Value, number>();
    graph.ops.forEach((op, i) => {
      for (const v of op.writes) if (!first.has(v)) first.set(v, i);
      for (const v of [...op.reads, ...op.writes]) last.set(v, i);
    });
    for (const v of graph.values) {
      if (first.has(v) && v.bytes > maxBinding) {
        throw new BindingLimitError(
          `${v.label}: a ${v.h}x${v.w}x${v.c} ${v.dtype} tensor needs ${v.bytes} bytes, over this adapter's maxStorageBufferBindingSize of ${maxBinding} bytes`,
          v.label,
          v.bytes,
          maxBinding,
        );
      }
      if (v.kind === 'input' || v.kind === 'zeros') first.set(v, -1);
      if (v.kind === 'zeros' || graph.kept.has(v)) last.set(v, n);
      if (!first.has(v) && last.has(v)) throw new Error(`plan: ${v.label} is read before anything writes it`);
    }
    // Greedy by size: the largest values first, each into the smallest slot that is free for its whole
    // lifetime, else a new slot of its size. A slot is never smaller than its first (largest) value.
    const live = graph.values.filter((v) => first.has(v)).sort((a, b) => b.bytes - a.bytes || first.get(a)! - first.get(b)!);
    const slotBytes: number[] = [];
    const busy: [number, number][][] = [];
    const slotOf = new Map<Value, number>();
    for (const v of live) {
      const born = first.get(v)!;
      const dies = last.get(v) ?? born;
      let s = -1;
      for (let i = 0; i < slotBytes.length; i++) {
        if (s >= 0 && slotBytes[i] >= slotBytes[s]) continue;
        if (busy[i].every(([a, b]) => dies < a || born > b)) s = i;
      }
      if (s < 0) {
        s = slotBytes.length;
        slotBytes.push(v.bytes);
        busy.push([]);
      }
      busy[s].push([born, dies]);
      slotOf.set(v, s);
    }
    return { slotOf, slotBytes };
  }

  static async build(gpu: Gpu, graph: Graph): Promise<Plan> {
    const { slotOf, slotBytes } = Plan.assign(graph, gpu.limits.maxStorageBufferBindingSize);
    const total = slotBytes.reduce((a, b) => a + b, 0);
    const buffers: GPUBuffer[] = [];
    const tensors = new Map<Value, Tensor>();
    try {
      try {
        await gpu.scoped(`allocating ${slotBytes.length} buffers (${total} bytes)`, () => {
          slotBytes.forEach((b, i) => {
            buffers.push(gpu.createBuffer(`slot${i}`, b, storageUsage()));
          });
        });
      } catch (e) {
        if (e instanceof OutOfMemoryError) throw new PlanAllocationError(e.message, total);
        throw e;
      }
      for (const [v, s] of slotOf) tensors.set(v, new Tensor(gpu, v.h, v.w, v.c, v.dtype, buffers[s]));
      // Constant zeros (absent neighbours, the first recurrent state) are cleared once.
      const enc = gpu.device.createCommandEncoder();
      for (const v of graph.values) if (v.kind === 'zeros' && tensors.has(v)) enc.clearBuffer(tensors.get(v)!.buffer);
      gpu.device.queue.submit([enc.finish()]);
      const t = (v: Value) => {
        const x = tensors.get(v);
        if (!x) throw new Error(`plan: ${v.label} has no buffer (never used?)`);
        return x;
      };
      const dispatches = await Promise.all(graph.ops.map((op) => op.make(gpu, t)));
      const readback = new Map<Value, { buffer: GPUBuffer; after: number }>();
      graph.ops.forEach((op, i) => {
        for (const v of op.writes) {
          if (v.kind !== 'output') continue;
          const r = readback.get(v);
          if (r) r.after = i;
          else {
            const buffer = gpu.createBuffer(`readback ${v.label}`, v.bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
            buffers.push(buffer);
            readback.set(v, { buffer, after: i });
          }
        }
      });
      await gpu.sync();
      return new Plan(gpu, graph, tensors, dispatches, total, buffers, readback);
    } catch (e) {
      for (const b of buffers) gpu.release(b);
      throw e;
    }
  }

  /** What the last encode made: compute passes and command buffers (the bench reports them per frame). */
  encoded = { passes: 0, commandBuffers: 0 };

  /**
   * Encodes the whole plan: dispatches in compute passes of at most `perBuffer` (a command buffer each, so
   * the GPU starts while the rest is encoded), outputs copied out as soon as they are complete. A pass ends
   * only where a copy must follow or a command buffer ends, and none is begun without a dispatch in it.
   */
  encode(perBuffer = 512): GPUCommandBuffer[] {
    const copies = new Map<number, Value[]>();
    for (const [v, r] of this.readback) copies.set(r.after, [...(copies.get(r.after) ?? []), v]);
    const d = this.gpu.device;
    const out: GPUCommandBuffer[] = [];
    let enc = d.createCommandEncoder();
    let pass: GPUComputePassEncoder | undefined;
    let inBuffer = 0;
    let passes = 0;
    this.dispatches.forEach((x, i) => {
      if (!pass) {
        pass = enc.beginComputePass();
        passes++;
      }
      encodeDispatch(pass, x);
      inBuffer++;
      const copy = copies.get(i);
      if (copy || inBuffer >= perBuffer) {
        pass.end();
        pass = undefined;
        for (const v of copy ?? []) {
          const t = this.tensor(v);
          enc.copyBufferToBuffer(t.buffer, t.offset, this.readback.get(v)!.buffer, 0, t.bytes);
        }
        if (inBuffer >= perBuffer) {
          out.push(enc.finish());
          enc = d.createCommandEncoder();
          inBuffer = 0;
        }
      }
    });
    pass?.end();
    if (inBuffer > 0 || out.length === 0) out.push(enc.finish());
    this.encoded = { passes, commandBuffers: out.length };
    return out;
  }

  /** Bytes of the (host-visible) readback buffers of the outputs. */
  get readbackBytes(): number {
    let n = 0;
    for (const r of this.readback.values()) n += r.buffer.size;
    return n;
  }

  /** Maps an output's readback buffer once the submitted work is done; returns the raw bytes. */
  async readOutput(v: Value): Promise<ArrayBuffer> {
    const r = this.readback.get(v);
    if (!r) throw new Error(`plan: ${v.label} is not an output`);
    this.gpu.check();
    try {
      await r.buffer.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.gpu.check();
      throw e;
    }
    this.gpu.check();
    const data = r.buffer.getMappedRange().slice(0);
    r.buffer.unmap();
    return data;
  }

  tensor(v: Value): Tensor {
    const t = this.tensors.get(v);
    if (!t) throw new Error(`plan: no tensor for ${v.label}`);
    return t;
  }

  destroy(): void {
    for (const b of this.buffers) this.gpu.release(b);
  }
}
