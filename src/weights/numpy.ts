// numpy objects as a .pdparams pickles them, rebuilt as plain data: the dtype, the array (shape, dtype, raw
// bytes), numpy scalars; what numpy's pickling functions (_reconstruct, _frombuffer, dtype, scalar) and
// BUILD (ndarray.__setstate__, dtype.__setstate__) do to them, with every check on shapes and sizes; and
// the conversion of a float32/float16 array into a C-order Float32Array.
import type { Precision } from '../numeric/precision.js';
import { WeightsError, clip } from './errors.js';
import { decodeF16, decodeF32 } from './float-data.js';
import { PICKLE_LIMITS, PyGlobal, PyList, PyTuple, describe, type GlobalKind, type PyValue } from './pickle-values.js';

/** numpy dtype: only the parts a weights reader needs. */
export class NpDType {
  /** '<' little, '>' big, '|' not applicable, '=' native (treated as little-endian). */
  byteorder: '<' | '>' | '|' | '=' = '=';
  structured = false;
  readonly kind: string;
  readonly itemsize: number;
  constructor(readonly str: string) {
    const m = /^[<>|=]?([a-zA-Z?])(\d{1,4})?$/.exec(str);
    this.kind = m ? m[1] : '?';
    this.itemsize = m && m[2] !== undefined ? Number(m[2]) : m && (m[1] === '?' || m[1] === 'b') ? 1 : 0;
    if (str[0] === '<' || str[0] === '>' || str[0] === '|' || str[0] === '=') this.byteorder = str[0];
  }
  /** numpy's dtype.str, e.g. '<f4', '>f2', '|b1'. */
  get descr(): string {
    return `${this.byteorder === '=' ? '<' : this.byteorder}${this.kind}${this.itemsize}`;
  }
  get littleEndian(): boolean {
    return this.byteorder !== '>';
  }
  get pyType(): string {
    return 'numpy.dtype';
  }
}

/** A numpy array as pickled: shape, dtype and the raw bytes (a view into the file where possible). */
export class NdArray {
  shape: number[] = [0];
  dtype: NpDType | null = null;
  data: Uint8Array | null = null;
  /** True when `data` is in Fortran (column-major) order. */
  fortran = false;
  /** Object arrays pickle a list instead of bytes; kept only to be refused by name later. */
  objectArray = false;
  built = false;
  get size(): number {
    let n = 1;
    for (const d of this.shape) n *= d;
    return n;
  }
  get pyType(): string {
    return 'numpy.ndarray';
  }
}

/** A numpy scalar (numpy.core.multiarray.scalar(dtype, bytes)); kept as data, never interpreted further. */
export class NpScalar {
  constructor(
    readonly dtype: NpDType,
    readonly data: Uint8Array,
  ) {}
  get pyType(): string {
    return 'numpy scalar';
  }
}

// ---------------------------------------------------------------------------------------------------------
// REDUCE and BUILD on numpy objects

/** What the numpy handlers need from the VM. */
export interface NumpyContext {
  /** Throws the VM's WeightsError (naming the file and the opcode). */
  fail(msg: string): never;
  /** Size of the pickle file: no array may have more elements than this. */
  readonly fileBytes: number;
  /** A latin-1 str as bytes, paid for from the VM's budget of bytes it may create. */
  latin1Bytes(s: string, what: string): Uint8Array;
}

export type NumpyGlobalKind = Extract<GlobalKind, 'reconstruct' | 'frombuffer' | 'ndarray' | 'dtype' | 'scalar'>;

/** REDUCE of an allow-listed numpy global on `args`; `bad` refuses the arguments. */
export function reduceNumpy(ctx: NumpyContext, kind: NumpyGlobalKind, args: readonly PyValue[], bad: () => never): PyValue {
  switch (kind) {
    case 'reconstruct': {
      // _reconstruct(ndarray, (0,), b'b'): an empty array that BUILD fills in
      const cls = args[0];
      if (args.length !== 3 || !(cls instanceof PyGlobal) || cls.kind !== 'ndarray') bad();
      return new NdArray();
    }
    case 'frombuffer': {
      // protocol 5: _frombuffer(buffer, dtype, shape, order)
      const [buf, dtype, shape, order] = args;
      if (args.length !== 4 || !(buf instanceof Uint8Array) || !(dtype instanceof NpDType) || !(shape instanceof PyTuple) || (order !== 'C' && order !== 'F'))
        bad();
      const a = new NdArray();
      fillArray(ctx, a, shape as PyTuple, dtype as NpDType, order === 'F', buf as Uint8Array);
      return a;
    }
    case 'dtype': {
      // dtype('f4', False, True)
      const s = args[0];
      if (args.length < 1 || args.length > 3 || typeof s !== 'string' || s.length > 64) bad();
      return new NpDType(s as string);
    }
    case 'scalar': {
      const [dtype, raw] = args;
      if (args.length !== 2 || !(dtype instanceof NpDType)) bad();
      let data: Uint8Array;
      if (raw instanceof Uint8Array) data = raw;
      else if (typeof raw === 'string') data = ctx.latin1Bytes(raw, 'numpy scalar data');
      else return bad();
      return new NpScalar(dtype as NpDType, data);
    }
    case 'ndarray':
      return bad();
  }
}

/** ndarray.__setstate__((version, shape, dtype, is_fortran, rawdata)), or the 4-tuple without version. */
export function buildArray(ctx: NumpyContext, obj: NdArray, state: PyValue): void {
  if (!(state instanceof PyTuple) || (state.items.length !== 5 && state.items.length !== 4))
    ctx.fail(`numpy array state is a ${describe(state)}${state instanceof PyTuple ? ` of ${state.items.length}` : ''}, not a 4- or 5-tuple`);
  const it = state.items.length === 5 ? state.items.slice(1) : state.items;
  const [shape, dtype, fortran, raw] = it;
  if (!(shape instanceof PyTuple)) ctx.fail(`numpy array shape is a ${describe(shape)}, not a tuple`);
  if (!(dtype instanceof NpDType)) ctx.fail(`numpy array dtype is a ${describe(dtype)}, not a numpy.dtype`);
  if (typeof fortran !== 'boolean' && fortran !== 0 && fortran !== 1) ctx.fail(`numpy array is_fortran flag is a ${describe(fortran)}`);
  if (raw instanceof PyList) {
    // object array: numpy pickles the Python objects; such an array can never be a weight
    fillShape(ctx, obj, shape);
    obj.dtype = dtype;
    obj.objectArray = true;
    obj.built = true;
    return;
  }
  let data: Uint8Array;
  if (raw instanceof Uint8Array) data = raw;
  else if (typeof raw === 'string') data = ctx.latin1Bytes(raw, 'numpy array data');
  else ctx.fail(`numpy array data is a ${describe(raw)}, not bytes`);
  fillArray(ctx, obj, shape, dtype, fortran === true || fortran === 1, data);
}

/** dtype.__setstate__((version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])). */
export function buildDType(ctx: NumpyContext, obj: NpDType, state: PyValue): void {
  if (!(state instanceof PyTuple) || state.items.length < 8 || state.items.length > 9)
    ctx.fail(`numpy dtype state is a ${describe(state)}, not an 8- or 9-tuple`);
  const [, order, sub, names, fields] = state.items;
  if (order !== '<' && order !== '>' && order !== '|' && order !== '=')
    ctx.fail(`numpy dtype byte order ${typeof order === 'string' ? `'${clip(order, 10)}'` : describe(order)} is not one of < > | =`);
  obj.byteorder = order;
  if (sub !== null || names !== null || fields !== null) obj.structured = true;
}

/** Sets `a.shape` from a shape tuple after checking it; returns the element count. */
function fillShape(ctx: NumpyContext, a: NdArray, shape: PyTuple): number {
  if (shape.items.length > PICKLE_LIMITS.maxNdim) ctx.fail(`numpy array has ${shape.items.length} dimensions (at most ${PICKLE_LIMITS.maxNdim})`);
  const dims: number[] = [];
  let count = 1;
  for (const d of shape.items) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
      ctx.fail(`numpy array dimension ${typeof d === 'bigint' || typeof d === 'number' ? String(d) : describe(d)} is not a valid size`);
    if (d > ctx.fileBytes) ctx.fail(`numpy array dimension ${d} is larger than the ${ctx.fileBytes}-byte file`);
    dims.push(d);
    count *= d; // a float: stays finite and monotone for <= 32 dims of < 2^53, so the check below is sound
  }
  // No array in this file can hold more elements than the file has bytes.
  if (count > ctx.fileBytes) ctx.fail(`numpy array shape (${dims.join(', ')}) has ${count} elements, more than the ${ctx.fileBytes}-byte file can hold`);
  a.shape = dims;
  return count;
}

/** Fills `a` from (shape, dtype, fortran, bytes): the bytes must be exactly what the shape and dtype need. */
function fillArray(ctx: NumpyContext, a: NdArray, shape: PyTuple, dtype: NpDType, fortran: boolean, data: Uint8Array): void {
  const count = fillShape(ctx, a, shape);
  if (count * dtype.itemsize !== data.length) {
    ctx.fail(
      `numpy array shape (${a.shape.join(', ')}) of dtype '${clip(dtype.descr, 20)}' needs ${count * dtype.itemsize} bytes, but its data has ${data.length}`,
    );
  }
  a.dtype = dtype;
  a.fortran = fortran;
  a.data = data;
  a.built = true;
}

// ---------------------------------------------------------------------------------------------------------
// Array data → Float32Array

/** Reorders Fortran-order (column-major) data of `shape` into C order. */
export function fortranToC(src: Float32Array, shape: readonly number[]): Float32Array {
  const nd = shape.length;
  const count = src.length;
  if (nd < 2 || count === 0) return src;
  const fstride: number[] = [];
  let s = 1;
  for (let d = 0; d < nd; d++) {
    fstride.push(s);
    s *= shape[d];
  }
  const out = new Float32Array(count);
  const idx = new Array<number>(nd).fill(0);
  let off = 0;
  for (let i = 0; i < count; i++) {
    out[i] = src[off];
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      off += fstride[d];
      if (idx[d] < shape[d]) break;
      off -= shape[d] * fstride[d];
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * The float32 contents of a float32 or float16 array, in C order. `what` names the array in errors (e.g.
 * "file: tensor 'conv.weight'").
 */
export function ndarrayToFloat32(a: NdArray, what: string): { data: Float32Array; dtype: Precision } {
  const dt = a.dtype;
  if (!a.built || !dt) throw new WeightsError(`${what} is a numpy array that was never filled in`);
  if (a.objectArray || dt.structured || dt.kind !== 'f' || (dt.itemsize !== 4 && dt.itemsize !== 2) || !a.data) {
    const name = a.objectArray ? 'object' : dt.structured ? 'structured' : (DTYPE_NAMES[`${dt.kind}${dt.itemsize}`] ?? `'${clip(dt.str, 20)}'`);
    throw new WeightsError(`${what} has dtype ${name}; only float32 and float16 weights are supported`);
  }
  let data = dt.itemsize === 4 ? decodeF32(a.data, dt.littleEndian) : decodeF16(a.data, dt.littleEndian);
  if (a.fortran) data = fortranToC(data, a.shape);
  return { data, dtype: dt.itemsize === 4 ? 'f32' : 'f16' };
}

/** numpy's names of the dtypes a weights file might hold, by kind and item size. */
export const DTYPE_NAMES: Readonly<Record<string, string>> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  f16: 'float128',
  i1: 'int8',
  i2: 'int16',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  u2: 'uint16',
  u4: 'uint32',
  u8: 'uint64',
  b1: 'bool',
  c8: 'complex64',
  c16: 'complex128',
};
