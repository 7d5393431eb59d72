// What the pickle VM (pickle.ts) builds: plain Python data, numpy objects (numpy.ts) and inert markers for
// the allow-listed globals, plus the limits the VM enforces on them (see the resource model in pickle.ts).
import type { NdArray, NpDType, NpScalar } from './numpy.js';

export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyList | PyTuple | PyDict | PySet | NdArray | NpDType | NpScalar | PyGlobal;

export class PyList {
  depth = 1;
  constructor(readonly items: PyValue[] = []) {}
  get pyType(): string {
    return 'list';
  }
}
export class PyTuple {
  depth = 1;
  constructor(readonly items: readonly PyValue[]) {}
  get pyType(): string {
    return 'tuple';
  }
}
export class PyDict {
  depth = 1;
  readonly map = new Map<PyValue, PyValue>();
  get(key: string): PyValue | undefined {
    return this.map.get(key);
  }
  get pyType(): string {
    return 'dict';
  }
}
export class PySet {
  depth = 1;
  constructor(
    readonly items: PyValue[] = [],
    readonly frozen = false,
  ) {}
  get pyType(): string {
    return this.frozen ? 'frozenset' : 'set';
  }
}

/** The allow-listed globals, by what they stand for. */
export type GlobalKind =
  | 'reconstruct'
  | 'frombuffer'
  | 'ndarray'
  | 'dtype'
  | 'scalar'
  | 'encode'
  | 'bytes'
  | 'bytearray'
  | 'tuple'
  | 'set'
  | 'frozenset'
  | 'ordereddict';

/** An inert reference to an allow-listed global. It is a marker, never something that can be called. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly kind: GlobalKind,
  ) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
  get pyType(): string {
    return this.qualname;
  }
}

/** The Python type of a value, for error messages ('int', 'dict', 'numpy.ndarray', 'builtins.tuple', …). */
export function describe(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'string':
      return 'str';
  }
  if (v instanceof Uint8Array) return 'bytes';
  return v.pyType ?? 'unknown';
}

/** True for the containers whose nesting depth the VM tracks. */
export function isContainer(v: PyValue): v is PyList | PyTuple | PyDict | PySet {
  return v instanceof PyList || v instanceof PyTuple || v instanceof PyDict || v instanceof PySet;
}

export const PICKLE_LIMITS = {
  /** Nesting of containers and of MARKs. */
  maxDepth: 1000,
  /** Entries on the VM stack (a real file needs a few thousand at most). */
  maxStack: 1 << 20,
  /** Memo entries. */
  maxMemo: 1 << 22,
  /** Bytes of a LONG1/LONG4 integer. */
  maxLongBytes: 256,
  /** Dimensions of an array. */
  maxNdim: 32,
  /** Length of a text line (protocol-0 ints, floats, globals, memo keys). */
  maxLine: 4096,
};
