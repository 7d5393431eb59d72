// A pickle reader for what paddle.save writes (a dict of numpy arrays), protocols 2–5 plus the text opcodes
// of protocols 0/1.
//
// Safety model: nothing is ever executed. GLOBAL / STACK_GLOBAL resolve only a fixed allow-list of names to
// inert markers (`PyGlobal`). Any other global is refused the moment it is named. REDUCE works only on those
// markers, with their arguments checked, and its result is plain data (an `NdArray`, a dtype, bytes, a
// tuple, a dict). BUILD applies only to arrays and dtypes. INST / OBJ / NEWOBJ / NEWOBJ_EX, persistent ids,
// the extension registry and out-of-band buffers are always refused.
//
// Resource model: the VM is a loop with no recursion. Every length the file declares is checked against
// the bytes that are actually left before anything is allocated. The stack, the memo, the MARK depth and
// the nesting depth of containers are capped. Bytes made by the VM itself (protocol-2 `_codecs.encode`,
// latin-1 strings turned into array data) come out of a budget the size of the file, so memo references
// cannot multiply memory. Array shapes must match their data exactly, so an array never needs more memory
// than the file holds. All failures are `WeightsError`s that name the file.
import { fromHalf } from '../numeric/half.js';
import { WeightsError, clip } from './errors.js';

// ---------------------------------------------------------------------------------------------------------
// Values

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyList
  | PyTuple
  | PyDict
  | PySet
  | NdArray
  | NpDType
  | NpScalar
  | PyGlobal;

export class PyList {
  depth = 1;
  constructor(readonly items: PyValue[] = []) {}
}
export class PyTuple {
  depth = 1;
  constructor(readonly items: readonly PyValue[]) {}
}
export class PyDict {
  depth = 1;
  readonly map = new Map<PyValue, PyValue>();
  get(key: string): PyValue | undefined {
    return this.map.get(key);
  }
}
export class PySet {
  depth = 1;
  constructor(readonly items: PyValue[] = [], readonly frozen = false) {}
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
}

const ALLOWED_GLOBALS = new Map<string, GlobalKind>([
  ['numpy.core.multiarray._reconstruct', 'reconstruct'],
  ['numpy._core.multiarray._reconstruct', 'reconstruct'], // numpy >= 2
  ['numpy.core.numeric._frombuffer', 'frombuffer'], // protocol 5
  ['numpy._core.numeric._frombuffer', 'frombuffer'],
  ['numpy.ndarray', 'ndarray'],
  ['numpy.dtype', 'dtype'],
  ['numpy.core.multiarray.scalar', 'scalar'], // numpy scalars (e.g. in optimizer state)
  ['numpy._core.multiarray.scalar', 'scalar'],
  ['_codecs.encode', 'encode'], // protocol 2 bytes: _codecs.encode(str, 'latin1')
  ['builtins.bytes', 'bytes'], // protocol 2 empty bytes: bytes()
  ['__builtin__.bytes', 'bytes'],
  ['builtins.bytearray', 'bytearray'],
  ['__builtin__.bytearray', 'bytearray'],
  ['builtins.tuple', 'tuple'], // paddle's _pickle_save reduces a Tensor to tuple(((name, ndarray),))
  ['__builtin__.tuple', 'tuple'],
  ['builtins.set', 'set'], // protocol 2 sets: set([items])
  ['__builtin__.set', 'set'],
  ['builtins.frozenset', 'frozenset'],
  ['__builtin__.frozenset', 'frozenset'],
  ['collections.OrderedDict', 'ordereddict'],
]);

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
}

/** A numpy scalar (numpy.core.multiarray.scalar(dtype, bytes)); kept as data, never interpreted further. */
export class NpScalar {
  constructor(
    readonly dtype: NpDType,
    readonly data: Uint8Array,
  ) {}
}

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
  if (v instanceof PyList) return 'list';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyDict) return 'dict';
  if (v instanceof PySet) return v.frozen ? 'frozenset' : 'set';
  if (v instanceof NdArray) return 'numpy.ndarray';
  if (v instanceof NpDType) return 'numpy.dtype';
  if (v instanceof NpScalar) return 'numpy scalar';
  if (v instanceof PyGlobal) return v.qualname;
  return 'unknown';
}

// ---------------------------------------------------------------------------------------------------------
// Limits

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

// ---------------------------------------------------------------------------------------------------------
// Opcodes

const OPNAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID',
  0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT',
  0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET',
  0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT',
  0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT', 0x80: 'PROTO',
  0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3',
  0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS',
  0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface UnpickleResult {
  value: PyValue;
  /** The protocol from the PROTO opcode (0 when there is none). */
  protocol: number;
}

/** Unpickles `bytes`. Throws WeightsError (naming `file`) on anything unsafe, malformed or truncated. */
export function unpickle(bytes: Uint8Array, file: string): UnpickleResult {
  return new Unpickler(bytes, file).run();
}

class Unpickler {
  private pos = 0;
  private op = 0;
  private opPos = 0;
  private readonly dv: DataView;
  private readonly stack: PyValue[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PyValue>();
  private protocol = 0;
  /** Bytes the VM may still create itself (see the resource model above). */
  private budget: number;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.budget = bytes.length + 1024;
  }

  private fail(msg: string): never {
    const name = OPNAMES[this.op] ?? `0x${this.op.toString(16).padStart(2, '0')}`;
    throw new WeightsError(`${this.file}: ${msg} (pickle opcode ${name} at byte ${this.opPos})`);
  }

  // ---- input

  private need(n: number, what: string): void {
    const left = this.bytes.length - this.pos;
    if (n > left) this.fail(`truncated or corrupt: ${what} needs ${n} bytes, only ${left} are left in the ${this.bytes.length}-byte file`);
  }
  private u8(): number {
    this.need(1, 'the argument');
    return this.bytes[this.pos++];
  }
  private u16(): number {
    this.need(2, 'the argument');
    const v = this.dv.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  private u32(): number {
    this.need(4, 'the argument');
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private i32(): number {
    this.need(4, 'the argument');
    const v = this.dv.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  /** u64 as a float: exact below 2^53, and any larger value fails the length checks anyway. */
  private u64(): number {
    this.need(8, 'the argument');
    const lo = this.dv.getUint32(this.pos, true);
    const hi = this.dv.getUint32(this.pos + 4, true);
    this.pos += 8;
    return hi * 4294967296 + lo;
  }
  private take(n: number, what: string): Uint8Array {
    this.need(n, `a ${what}`);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  private line(maxLen: number): Uint8Array {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('truncated: text argument has no end of line');
    if (end - this.pos > maxLen) this.fail(`text argument longer than ${maxLen} bytes`);
    const v = this.bytes.subarray(this.pos, end);
    this.pos = end + 1;
    return v;
  }
  private text(b: Uint8Array, what: string): string {
    try {
      return utf8.decode(b);
    } catch {
      return this.fail(`${what} is not valid UTF-8`);
    }
  }
  private asciiLine(maxLen = PICKLE_LIMITS.maxLine): string {
    return this.text(this.line(maxLen), 'text argument');
  }
  private spend(n: number, what: string): void {
    if (n > this.budget) this.fail(`${what} would create more bytes than the file holds (references repeated too often)`);
    this.budget -= n;
  }

  // ---- stack

  private push(v: PyValue): void {
    if (this.stack.length >= PICKLE_LIMITS.maxStack) this.fail(`stack deeper than ${PICKLE_LIMITS.maxStack} entries`);
    this.stack.push(v);
  }
  private floor(): number {
    return this.marks.length ? this.marks[this.marks.length - 1] : 0;
  }
  private pop(): PyValue {
    if (this.stack.length <= this.floor()) this.fail('stack underflow');
    return this.stack.pop() as PyValue;
  }
  private top(): PyValue {
    if (this.stack.length <= this.floor()) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }
  private popMark(): PyValue[] {
    const m = this.marks.pop();
    if (m === undefined) this.fail('no MARK on the stack');
    return this.stack.splice(m);
  }

  private depthOf(v: PyValue): number {
    if (v instanceof PyList || v instanceof PyTuple || v instanceof PyDict || v instanceof PySet) return v.depth;
    return 0;
  }
  private nest(parent: PyList | PyTuple | PyDict | PySet, child: PyValue): void {
    const d = this.depthOf(child) + 1;
    if (d > parent.depth) {
      if (d > PICKLE_LIMITS.maxDepth) this.fail(`containers nested deeper than ${PICKLE_LIMITS.maxDepth} levels`);
      parent.depth = d;
    }
  }
  private tuple(items: PyValue[]): PyTuple {
    const t = new PyTuple(items);
    for (const it of items) this.nest(t, it);
    return t;
  }

  private memoPut(idx: number, v: PyValue): void {
    if (!this.memo.has(idx) && this.memo.size >= PICKLE_LIMITS.maxMemo) this.fail(`memo larger than ${PICKLE_LIMITS.maxMemo} entries`);
    this.memo.set(idx, v);
  }
  private memoGet(idx: number): PyValue {
    const v = this.memo.get(idx);
    if (v === undefined) this.fail(`memo key ${idx} was never stored`);
    return v;
  }

  // ---- numbers

  private longBytes(b: Uint8Array): number | bigint {
    if (b.length === 0) return 0;
    if (b.length > PICKLE_LIMITS.maxLongBytes) this.fail(`integer of ${b.length} bytes is larger than ${PICKLE_LIMITS.maxLongBytes} bytes`);
    let hex = '';
    for (let i = b.length - 1; i >= 0; i--) hex += b[i].toString(16).padStart(2, '0');
    let v = BigInt(`0x${hex}`);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return toInt(v);
  }
  private textInt(s: string, what: string): number | bigint {
    const t = s.endsWith('L') ? s.slice(0, -1) : s;
    if (!/^[+-]?\d+$/.test(t)) this.fail(`${what} '${clip(s, 40)}' is not an integer`);
    return toInt(BigInt(t));
  }
  private index(v: number | bigint, what: string): number {
    if (typeof v === 'bigint' || v < 0) this.fail(`${what} ${v} is not a valid index`);
    return v as number;
  }

  // ---- main loop

  run(): UnpickleResult {
    const b = this.bytes;
    for (;;) {
      if (this.pos >= b.length) {
        this.op = 0;
        this.opPos = this.pos;
        this.fail('truncated: the pickle ends without STOP');
      }
      this.opPos = this.pos;
      const op = (this.op = b[this.pos++]);
      switch (op) {
        case 0x80: {
          // PROTO
          const p = this.u8();
          if (p > 5) this.fail(`unsupported pickle protocol ${p}`);
          if (this.protocol === 0) this.protocol = p;
          break;
        }
        case 0x95: {
          // FRAME: framing only groups opcodes; its length must still fit the file.
          const n = this.u64();
          this.need(n, 'the frame');
          break;
        }
        case 0x2e: {
          // STOP
          const value = this.pop();
          return { value, protocol: this.protocol };
        }

        // -- marks and stack shuffling
        case 0x28:
          if (this.marks.length >= PICKLE_LIMITS.maxDepth) this.fail(`MARKs nested deeper than ${PICKLE_LIMITS.maxDepth} levels`);
          this.marks.push(this.stack.length);
          break;
        case 0x30:
          this.pop();
          break;
        case 0x31:
          this.popMark();
          break;
        case 0x32:
          this.push(this.top());
          break;

        // -- constants and numbers
        case 0x4e:
          this.push(null);
          break;
        case 0x88:
          this.push(true);
          break;
        case 0x89:
          this.push(false);
          break;
        case 0x4a:
          this.push(this.i32());
          break;
        case 0x4b:
          this.push(this.u8());
          break;
        case 0x4d:
          this.push(this.u16());
          break;
        case 0x8a:
          this.push(this.longBytes(this.take(this.u8(), 'LONG1 integer')));
          break;
        case 0x8b: {
          const n = this.i32();
          if (n < 0) this.fail(`negative LONG4 length ${n}`);
          if (n > PICKLE_LIMITS.maxLongBytes) this.fail(`integer of ${n} bytes is larger than ${PICKLE_LIMITS.maxLongBytes} bytes`);
          this.push(this.longBytes(this.take(n, 'LONG4 integer')));
          break;
        }
        case 0x49: {
          // INT (protocol 0): also spells booleans as 00 / 01
          const s = this.asciiLine();
          if (s === '00') this.push(false);
          else if (s === '01') this.push(true);
          else this.push(this.textInt(s, 'INT'));
          break;
        }
        case 0x4c:
          this.push(this.textInt(this.asciiLine(), 'LONG'));
          break;
        case 0x47: {
          this.need(8, 'the argument');
          this.push(this.dv.getFloat64(this.pos, false));
          this.pos += 8;
          break;
        }
        case 0x46: {
          const s = this.asciiLine().trim();
          const v = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|nan)$/i.test(s) ? Number(s.replace(/inf/i, 'Infinity').replace(/nan/i, 'NaN')) : NaN;
          if (Number.isNaN(v) && !/nan/i.test(s)) this.fail(`FLOAT '${clip(s, 40)}' is not a number`);
          this.push(v);
          break;
        }

        // -- strings
        case 0x8c:
          this.push(this.text(this.take(this.u8(), 'string'), 'string'));
          break;
        case 0x58:
          this.push(this.text(this.take(this.u32(), 'string'), 'string'));
          break;
        case 0x8d:
          this.push(this.text(this.take(this.u64(), 'string'), 'string'));
          break;
        case 0x55:
          // Python 2 str: decoded as latin-1, as paddle.load(encoding='latin1') does
          this.push(latin1(this.take(this.u8(), 'string')));
          break;
        case 0x54: {
          const n = this.i32();
          if (n < 0) this.fail(`negative BINSTRING length ${n}`);
          this.push(latin1(this.take(n, 'string')));
          break;
        }
        case 0x53:
          this.push(this.pyStringRepr(this.line(Infinity)));
          break;
        case 0x56:
          this.push(this.rawUnicodeEscape(this.line(Infinity)));
          break;

        // -- bytes
        case 0x43:
          this.push(this.take(this.u8(), 'bytes object'));
          break;
        case 0x42:
          this.push(this.take(this.u32(), 'bytes object'));
          break;
        case 0x8e:
          this.push(this.take(this.u64(), 'bytes object'));
          break;
        case 0x96:
          this.push(this.take(this.u64(), 'bytearray'));
          break;
        case 0x97:
          this.fail('out-of-band pickle buffers are not supported');
          break;
        case 0x98:
          // READONLY_BUFFER: a no-op on in-band data
          this.top();
          break;

        // -- containers
        case 0x29:
          this.push(new PyTuple([]));
          break;
        case 0x74:
          this.push(this.tuple(this.popMark()));
          break;
        case 0x85:
        case 0x86:
        case 0x87: {
          const n = op - 0x84;
          if (this.stack.length - this.floor() < n) this.fail('stack underflow');
          this.push(this.tuple(this.stack.splice(this.stack.length - n)));
          break;
        }
        case 0x5d:
          this.push(new PyList());
          break;
        case 0x6c: {
          const l = new PyList();
          for (const it of this.popMark()) this.listAppend(l, it);
          this.push(l);
          break;
        }
        case 0x61: {
          const v = this.pop();
          this.listAppend(this.top(), v);
          break;
        }
        case 0x65: {
          const items = this.popMark();
          const l = this.top();
          for (const it of items) this.listAppend(l, it);
          break;
        }
        case 0x7d:
          this.push(new PyDict());
          break;
        case 0x64: {
          const d = new PyDict();
          this.setItems(d, this.popMark());
          this.push(d);
          break;
        }
        case 0x73: {
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case 0x75: {
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x8f:
          this.push(new PySet());
          break;
        case 0x90: {
          const items = this.popMark();
          const s = this.top();
          if (!(s instanceof PySet) || s.frozen) this.fail(`ADDITEMS on ${describe(s)}`);
          for (const it of items) {
            this.nest(s, it);
            s.items.push(it);
          }
          break;
        }
        case 0x91: {
          const s = new PySet([], true);
          for (const it of this.popMark()) {
            this.nest(s, it);
            s.items.push(it);
          }
          this.push(s);
          break;
        }

        // -- memo
        case 0x94:
          this.memoPut(this.memo.size, this.top());
          break;
        case 0x71:
          this.memoPut(this.u8(), this.top());
          break;
        case 0x72:
          this.memoPut(this.u32(), this.top());
          break;
        case 0x70:
          this.memoPut(this.index(this.textInt(this.asciiLine(), 'PUT key'), 'PUT key'), this.top());
          break;
        case 0x68:
          this.push(this.memoGet(this.u8()));
          break;
        case 0x6a:
          this.push(this.memoGet(this.u32()));
          break;
        case 0x67:
          this.push(this.memoGet(this.index(this.textInt(this.asciiLine(), 'GET key'), 'GET key')));
          break;

        // -- globals and object construction
        case 0x63: {
          const module = this.asciiLine();
          const name = this.asciiLine();
          this.push(this.global(module, name));
          break;
        }
        case 0x93: {
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail(`STACK_GLOBAL needs two strings, got ${describe(module)} and ${describe(name)}`);
          this.push(this.global(module, name));
          break;
        }
        case 0x52: {
          const args = this.pop();
          const callable = this.pop();
          this.push(this.reduce(callable, args));
          break;
        }
        case 0x62: {
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case 0x69: {
          // INST names its class inline: refuse it by that name, allowed or not (no weights file uses it)
          const module = this.asciiLine();
          const name = this.asciiLine();
          this.fail(`refusing pickle INST ${clip(`${module}.${name}`)}`);
          break;
        }
        case 0x6f: {
          const items = this.popMark();
          this.fail(`refusing pickle OBJ ${items.length ? clip(describe(items[0])) : '(nothing)'}`);
          break;
        }
        case 0x81: {
          this.pop();
          const cls = this.pop();
          this.fail(`refusing pickle NEWOBJ ${clip(describe(cls))}`);
          break;
        }
        case 0x92: {
          this.pop();
          this.pop();
          const cls = this.pop();
          this.fail(`refusing pickle NEWOBJ_EX ${clip(describe(cls))}`);
          break;
        }
        case 0x50:
        case 0x51:
          this.fail('refusing pickle persistent ids');
          break;
        case 0x82:
        case 0x83:
        case 0x84:
          this.fail('refusing pickle extension-registry globals');
          break;
        default:
          this.fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    }
  }

  private listAppend(l: PyValue, v: PyValue): void {
    if (!(l instanceof PyList)) this.fail(`APPEND to ${describe(l)}`);
    this.nest(l, v);
    l.items.push(v);
  }

  private setItems(d: PyValue, kv: PyValue[]): void {
    if (!(d instanceof PyDict)) this.fail(`SETITEM on ${describe(d)}`);
    if (kv.length % 2) this.fail('odd number of items for a dict');
    for (let i = 0; i < kv.length; i += 2) {
      const k = kv[i];
      if (k instanceof PyList || k instanceof PyDict || (k instanceof PySet && !k.frozen)) this.fail(`unhashable dict key of type ${describe(k)}`);
      this.nest(d, k);
      this.nest(d, kv[i + 1]);
      d.map.set(k, kv[i + 1]);
    }
  }

  private global(module: string, name: string): PyGlobal {
    const q = `${module}.${name}`;
    const kind = ALLOWED_GLOBALS.get(q);
    if (!kind) this.fail(`refusing pickle global ${clip(q)}: a weights file never needs it, so nothing in this file is loaded`);
    return new PyGlobal(module, name, kind);
  }

  private reduce(callable: PyValue, argsV: PyValue): PyValue {
    if (!(callable instanceof PyGlobal)) this.fail(`refusing pickle REDUCE on ${clip(describe(callable))}`);
    if (!(argsV instanceof PyTuple)) this.fail(`REDUCE arguments for ${callable.qualname} are a ${describe(argsV)}, not a tuple`);
    const args = argsV.items;
    const bad = (): never => this.fail(`refusing pickle REDUCE ${callable.qualname} with arguments (${args.map(describe).join(', ')})`);
    switch (callable.kind) {
      case 'reconstruct': {
        // _reconstruct(ndarray, (0,), b'b'): an empty array that BUILD fills in
        const cls = args[0];
        if (args.length !== 3 || !(cls instanceof PyGlobal) || cls.kind !== 'ndarray') bad();
        return new NdArray();
      }
      case 'frombuffer': {
        // protocol 5: _frombuffer(buffer, dtype, shape, order)
        const [buf, dtype, shape, order] = args;
        if (args.length !== 4 || !(buf instanceof Uint8Array) || !(dtype instanceof NpDType) || !(shape instanceof PyTuple) || (order !== 'C' && order !== 'F')) bad();
        const a = new NdArray();
        this.fillArray(a, shape as PyTuple, dtype as NpDType, order === 'F', buf as Uint8Array);
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
        else if (typeof raw === 'string') data = this.latin1Bytes(raw, 'numpy scalar data');
        else return bad();
        return new NpScalar(dtype as NpDType, data);
      }
      case 'encode': {
        // protocol 2 bytes: _codecs.encode(str, 'latin1')
        const [s, enc] = args;
        if (args.length !== 2 || typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1' && enc !== 'iso-8859-1')) bad();
        return this.latin1Bytes(s as string, '_codecs.encode');
      }
      case 'bytes':
        if (args.length !== 0) bad();
        return new Uint8Array(0);
      case 'bytearray': {
        if (args.length === 0) return new Uint8Array(0);
        if (args.length === 1 && args[0] instanceof Uint8Array) return args[0];
        return bad();
      }
      case 'tuple': {
        const it = args[0];
        if (args.length === 0) return new PyTuple([]);
        if (args.length !== 1 || !(it instanceof PyTuple || it instanceof PyList)) bad();
        return this.tuple([...(it as PyTuple | PyList).items]);
      }
      case 'set':
      case 'frozenset': {
        const s = new PySet([], callable.kind === 'frozenset');
        if (args.length === 0) return s;
        const it = args[0];
        if (args.length !== 1 || !(it instanceof PyList || it instanceof PyTuple)) bad();
        for (const v of (it as PyList | PyTuple).items) {
          this.nest(s, v);
          s.items.push(v);
        }
        return s;
      }
      case 'ordereddict': {
        const d = new PyDict();
        if (args.length === 0) return d;
        const it = args[0];
        if (args.length !== 1 || !(it instanceof PyList || it instanceof PyTuple)) bad();
        for (const pair of (it as PyList | PyTuple).items) {
          if (!(pair instanceof PyTuple || pair instanceof PyList) || pair.items.length !== 2) bad();
          this.setItems(d, [...(pair as PyTuple).items]);
        }
        return d;
      }
      case 'ndarray':
        return bad();
    }
  }

  private build(obj: PyValue, state: PyValue): void {
    if (obj instanceof NdArray) {
      // ndarray.__setstate__((version, shape, dtype, is_fortran, rawdata)) or the 4-tuple without version
      if (!(state instanceof PyTuple) || (state.items.length !== 5 && state.items.length !== 4)) this.fail(`numpy array state is a ${describe(state)}${state instanceof PyTuple ? ` of ${state.items.length}` : ''}, not a 4- or 5-tuple`);
      const it = state.items.length === 5 ? state.items.slice(1) : state.items;
      const [shape, dtype, fortran, raw] = it;
      if (!(shape instanceof PyTuple)) this.fail(`numpy array shape is a ${describe(shape)}, not a tuple`);
      if (!(dtype instanceof NpDType)) this.fail(`numpy array dtype is a ${describe(dtype)}, not a numpy.dtype`);
      if (typeof fortran !== 'boolean' && fortran !== 0 && fortran !== 1) this.fail(`numpy array is_fortran flag is a ${describe(fortran)}`);
      if (raw instanceof PyList) {
        // object array: numpy pickles the Python objects; such an array can never be a weight
        this.fillShape(obj, shape);
        obj.dtype = dtype;
        obj.objectArray = true;
        obj.built = true;
        return;
      }
      let data: Uint8Array;
      if (raw instanceof Uint8Array) data = raw;
      else if (typeof raw === 'string') data = this.latin1Bytes(raw, 'numpy array data');
      else return this.fail(`numpy array data is a ${describe(raw)}, not bytes`);
      this.fillArray(obj, shape, dtype, fortran === true || fortran === 1, data);
      return;
    }
    if (obj instanceof NpDType) {
      // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
      if (!(state instanceof PyTuple) || state.items.length < 8 || state.items.length > 9) this.fail(`numpy dtype state is a ${describe(state)}, not an 8- or 9-tuple`);
      const [, order, sub, names, fields] = state.items;
      if (order !== '<' && order !== '>' && order !== '|' && order !== '=') this.fail(`numpy dtype byte order ${typeof order === 'string' ? `'${clip(order, 10)}'` : describe(order)} is not one of < > | =`);
      obj.byteorder = order;
      if (sub !== null || names !== null || fields !== null) obj.structured = true;
      return;
    }
    this.fail(`refusing pickle BUILD on ${clip(describe(obj))}`);
  }

  private fillShape(a: NdArray, shape: PyTuple): number {
    if (shape.items.length > PICKLE_LIMITS.maxNdim) this.fail(`numpy array has ${shape.items.length} dimensions (at most ${PICKLE_LIMITS.maxNdim})`);
    const dims: number[] = [];
    let count = 1;
    for (const d of shape.items) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) this.fail(`numpy array dimension ${typeof d === 'bigint' || typeof d === 'number' ? String(d) : describe(d)} is not a valid size`);
      if (d > this.bytes.length) this.fail(`numpy array dimension ${d} is larger than the ${this.bytes.length}-byte file`);
      dims.push(d);
      count *= d; // a float: stays finite and monotone for <= 32 dims of < 2^53, so the check below is sound
    }
    // No array in this file can hold more elements than the file has bytes.
    if (count > this.bytes.length) this.fail(`numpy array shape (${dims.join(', ')}) has ${count} elements, more than the ${this.bytes.length}-byte file can hold`);
    a.shape = dims;
    return count;
  }

  private fillArray(a: NdArray, shape: PyTuple, dtype: NpDType, fortran: boolean, data: Uint8Array): void {
    const count = this.fillShape(a, shape);
    if (count * dtype.itemsize !== data.length) {
      this.fail(`numpy array shape (${a.shape.join(', ')}) of dtype '${clip(dtype.descr, 20)}' needs ${count * dtype.itemsize} bytes, but its data has ${data.length}`);
    }
    a.dtype = dtype;
    a.fortran = fortran;
    a.data = data;
    a.built = true;
  }

  private latin1Bytes(s: string, what: string): Uint8Array {
    this.spend(s.length, what);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) this.fail(`${what}: character U+${c.toString(16).padStart(4, '0')} is not latin-1`);
      out[i] = c;
    }
    return out;
  }

  /** Protocol-0 STRING: a Python bytes repr in quotes, decoded as latin-1. */
  private pyStringRepr(b: Uint8Array): string {
    let end = b.length;
    while (end > 0 && (b[end - 1] === 0x0d || b[end - 1] === 0x20)) end--;
    const q = b[0];
    if (end < 2 || (q !== 0x27 && q !== 0x22) || b[end - 1] !== q) this.fail('STRING argument is not quoted');
    let out = '';
    for (let i = 1; i < end - 1; i++) {
      const c = b[i];
      if (c !== 0x5c) {
        out += String.fromCharCode(c);
        continue;
      }
      i++;
      if (i >= end - 1) this.fail('STRING argument ends in a backslash');
      const e = String.fromCharCode(b[i]);
      const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };
      if (e in simple) out += simple[e];
      else if (e === 'x') {
        const h = String.fromCharCode(b[i + 1] ?? 0, b[i + 2] ?? 0);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) this.fail('STRING argument has a bad \\x escape');
        out += String.fromCharCode(parseInt(h, 16));
        i += 2;
      } else if (e >= '0' && e <= '7') {
        let o = e;
        while (o.length < 3 && b[i + 1] >= 0x30 && b[i + 1] <= 0x37) o += String.fromCharCode(b[++i]);
        out += String.fromCharCode(parseInt(o, 8) & 0xff);
      } else out += `\\${e}`;
    }
    return out;
  }

  /** Protocol-0 UNICODE: raw-unicode-escape (latin-1 bytes with \\uXXXX and \\UXXXXXXXX). */
  private rawUnicodeEscape(b: Uint8Array): string {
    let out = '';
    for (let i = 0; i < b.length; i++) {
      const c = b[i];
      if (c === 0x5c && (b[i + 1] === 0x75 || b[i + 1] === 0x55)) {
        const n = b[i + 1] === 0x75 ? 4 : 8;
        const h = latin1(b.subarray(i + 2, i + 2 + n));
        if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) this.fail('UNICODE argument has a bad \\u escape');
        const cp = parseInt(h, 16);
        if (cp > 0x10ffff) this.fail('UNICODE argument has an escape beyond U+10FFFF');
        out += String.fromCodePoint(cp);
        i += 1 + n;
      } else out += String.fromCharCode(c);
    }
    return out;
  }
}

function toInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

// ---------------------------------------------------------------------------------------------------------
// Array data → Float32Array

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
let halfTable: Float32Array | null = null;

function halfToFloatTable(): Float32Array {
  if (!halfTable) {
    const t = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = fromHalf(h);
    halfTable = t;
  }
  return halfTable;
}

/** Decodes little- or big-endian float32 bytes. */
export function decodeF32(raw: Uint8Array, littleEndian: boolean): Float32Array {
  const n = raw.length >>> 2;
  const out = new Float32Array(n);
  if (littleEndian === HOST_LE) new Uint8Array(out.buffer).set(raw.subarray(0, n * 4));
  else {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, littleEndian);
  }
  return out;
}

/** Decodes little- or big-endian IEEE binary16 bytes into float32 (exact: every half is a float). */
export function decodeF16(raw: Uint8Array, littleEndian: boolean): Float32Array {
  const n = raw.length >>> 1;
  const out = new Float32Array(n);
  const t = halfToFloatTable();
  if (littleEndian) for (let i = 0; i < n; i++) out[i] = t[raw[2 * i] | (raw[2 * i + 1] << 8)];
  else for (let i = 0; i < n; i++) out[i] = t[(raw[2 * i] << 8) | raw[2 * i + 1]];
  return out;
}

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
export function ndarrayToFloat32(a: NdArray, what: string): { data: Float32Array; dtype: 'F32' | 'F16' } {
  const dt = a.dtype;
  if (!a.built || !dt) throw new WeightsError(`${what} is a numpy array that was never filled in`);
  if (a.objectArray || dt.structured || dt.kind !== 'f' || (dt.itemsize !== 4 && dt.itemsize !== 2) || !a.data) {
    const name = a.objectArray ? 'object' : dt.structured ? 'structured' : (DTYPE_NAMES[`${dt.kind}${dt.itemsize}`] ?? `'${clip(dt.str, 20)}'`);
    throw new WeightsError(`${what} has dtype ${name}; only float32 and float16 weights are supported`);
  }
  let data = dt.itemsize === 4 ? decodeF32(a.data, dt.littleEndian) : decodeF16(a.data, dt.littleEndian);
  if (a.fortran) data = fortranToC(data, a.shape);
  return { data, dtype: dt.itemsize === 4 ? 'F32' : 'F16' };
}

const DTYPE_NAMES: Record<string, string> = {
  f2: 'float16', f4: 'float32', f8: 'float64', f16: 'float128', i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64', b1: 'bool', c8: 'complex64', c16: 'complex128',
};
