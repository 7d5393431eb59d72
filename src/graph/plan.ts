// The static plan. A Graph records ops over symbolic Values (shapes only). Plan.build then
//  1. runs a liveness analysis: each value lives from the op that writes it to the last op that reads it
//     (inputs from the start, outputs and constants to the end);
//  2. assigns every value a GPU buffer, reusing a buffer once its previous value is dead. A value owns its
//     whole buffer for its lifetime, because WebGPU forbids a buffer being read-only and writable in one
//     dispatch: an op's output therefore never shares a buffer with its inputs, whatever the sizes;
//  3. creates every pipeline and bind group once.
// Executing the plan is then only encoding the prepared dispatches.
import type { Gpu } from './device.js';
import { Tensor, storageUsage, type DType } from './tensor.js';
import type { Dispatch } from '../kernels/kernel.js';

export type ValueKind = 'temp' | 'input' | 'output' | 'zeros';

export class Value {
  constructor(
    readonly id: number,
    readonly h: number,
    readonly w: number,
    readonly c: number,
    readonly dtype: DType,
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
}

export class Graph {
  readonly values: Value[] = [];
  readonly ops: Op[] = [];
  /** Values kept alive to the end of the plan (debug taps). */
  readonly kept = new Set<Value>();

  value(h: number, w: number, c: number, dtype: DType, label: string, kind: ValueKind = 'temp'): Value {
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
    /** Bytes of every buffer the plan allocated (its peak GPU memory, weights excluded). */
    readonly bytes: number,
    private readonly buffers: GPUBuffer[],
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
      if (v.bytes > maxBinding) {
        throw new Error(`${v.label}: a ${v.h}x${v.w}x${v.c} ${v.dtype} tensor needs ${v.bytes} bytes, over this adapter's maxStorageBufferBindingSize of ${maxBinding} bytes`);
      }
      if (v.kind === 'input' || v.kind === 'zeros') first.set(v, -1);
      if (v.kind === 'output' || v.kind === 'zeros' || graph.kept.has(v)) last.set(v, n);
      if (!first.has(v) && last.has(v)) throw new Error(`plan: ${v.label} is read before anything writes it`);
    }
    // Values in order of birth; each takes the smallest free slot of its exact size, else a new slot.
    const live = graph.values.filter((v) => first.has(v)).sort((a, b) => first.get(a)! - first.get(b)! || a.id - b.id);
    const slotBytes: number[] = [];
    const freeAfter: number[] = [];
    const slotOf = new Map<Value, number>();
    for (const v of live) {
      const born = first.get(v)!;
      const dies = last.get(v) ?? born;
      let s = -1;
      for (let i = 0; i < slotBytes.length; i++) {
        if (slotBytes[i] === v.bytes && freeAfter[i] < born) {
          s = i;
          break;
        }
      }
      if (s < 0) {
        s = slotBytes.length;
        slotBytes.push(v.bytes);
        freeAfter.push(dies);
      } else {
        freeAfter[s] = dies;
      }
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
      await gpu.scoped(`allocating ${slotBytes.length} buffers (${total} bytes)`, () => {
        slotBytes.forEach((b, i) => buffers.push(gpu.createBuffer(`slot${i}`, b, storageUsage())));
      });
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
      await gpu.sync();
      return new Plan(gpu, graph, tensors, dispatches, total, buffers);
    } catch (e) {
      for (const b of buffers) b.destroy();
      throw e;
    }
  }

  tensor(v: Value): Tensor {
    const t = this.tensors.get(v);
    if (!t) throw new Error(`plan: no tensor for ${v.label}`);
    return t;
  }

  destroy(): void {
    for (const b of this.buffers) b.destroy();
  }
}
