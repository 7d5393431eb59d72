// Over 400 lines: the dispatch loop is one switch over every opcode, kept whole so the VM reads in one place.
//
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
//
// The pieces: opcodes in pickle-opcodes.ts; values and limits in pickle-values.ts; the allow-list and REDUCE
// in pickle-globals.ts; numpy objects and BUILD on them in numpy.ts; protocol-0 text arguments in
// pickle-text.ts.
import { WeightsError, clip } from './errors.js';
import { NdArray, NpDType, buildArray, buildDType } from './numpy.js';
import { reduce, resolveGlobal, type ReduceContext } from './pickle-globals.js';
import { OP, opcodeName } from './pickle-opcodes.js';
import { latin1, pyStringRepr, rawUnicodeEscape, textFloat, textInt, toInt } from './pickle-text.js';
import { PICKLE_LIMITS, PyDict, PyList, PySet, PyTuple, describe, isContainer, type PyValue } from './pickle-values.js';

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

class Unpickler implements ReduceContext {
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

  get fileBytes(): number {
    return this.bytes.length;
  }

  /** Throws the WeightsError for `msg`, naming the file, the opcode and its offset (bound: a callback too). */
  readonly fail: (msg: string) => never = (msg) => {
    throw new WeightsError(`${this.file}: ${msg} (pickle opcode ${opcodeName(this.op)} at byte ${this.opPos})`);
  };

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

  nest(parent: PyList | PyTuple | PyDict | PySet, child: PyValue): void {
    const d = (isContainer(child) ? child.depth : 0) + 1;
    if (d > parent.depth) {
      if (d > PICKLE_LIMITS.maxDepth) this.fail(`containers nested deeper than ${PICKLE_LIMITS.maxDepth} levels`);
      parent.depth = d;
    }
  }
  tuple(items: PyValue[]): PyTuple {
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
      const op = b[this.pos++];
      this.op = op;
      switch (op) {
        case OP.PROTO: {
          const p = this.u8();
          if (p > 5) this.fail(`unsupported pickle protocol ${p}`);
          if (this.protocol === 0) this.protocol = p;
          break;
        }
        case OP.FRAME: {
          // Framing only groups opcodes; its length must still fit the file.
          const n = this.u64();
          this.need(n, 'the frame');
          break;
        }
        case OP.STOP: {
          const value = this.pop();
          return { value, protocol: this.protocol };
        }

        // -- marks and stack shuffling
        case OP.MARK:
          if (this.marks.length >= PICKLE_LIMITS.maxDepth) this.fail(`MARKs nested deeper than ${PICKLE_LIMITS.maxDepth} levels`);
          this.marks.push(this.stack.length);
          break;
        case OP.POP:
          this.pop();
          break;
        case OP.POP_MARK:
          this.popMark();
          break;
        case OP.DUP:
          this.push(this.top());
          break;

        // -- constants and numbers
        case OP.NONE:
          this.push(null);
          break;
        case OP.NEWTRUE:
          this.push(true);
          break;
        case OP.NEWFALSE:
          this.push(false);
          break;
        case OP.BININT:
          this.push(this.i32());
          break;
        case OP.BININT1:
          this.push(this.u8());
          break;
        case OP.BININT2:
          this.push(this.u16());
          break;
        case OP.LONG1:
          this.push(this.longBytes(this.take(this.u8(), 'LONG1 integer')));
          break;
        case OP.LONG4: {
          const n = this.i32();
          if (n < 0) this.fail(`negative LONG4 length ${n}`);
          if (n > PICKLE_LIMITS.maxLongBytes) this.fail(`integer of ${n} bytes is larger than ${PICKLE_LIMITS.maxLongBytes} bytes`);
          this.push(this.longBytes(this.take(n, 'LONG4 integer')));
          break;
        }
        case OP.INT: {
          // INT (protocol 0): also spells booleans as 00 / 01
          const s = this.asciiLine();
          if (s === '00') this.push(false);
          else if (s === '01') this.push(true);
          else this.push(textInt(s, 'INT', this.fail));
          break;
        }
        case OP.LONG:
          this.push(textInt(this.asciiLine(), 'LONG', this.fail));
          break;
        case OP.BINFLOAT: {
          this.need(8, 'the argument');
          this.push(this.dv.getFloat64(this.pos, false));
          this.pos += 8;
          break;
        }
        case OP.FLOAT:
          this.push(textFloat(this.asciiLine(), this.fail));
          break;

        // -- strings
        case OP.SHORT_BINUNICODE:
          this.push(this.text(this.take(this.u8(), 'string'), 'string'));
          break;
        case OP.BINUNICODE:
          this.push(this.text(this.take(this.u32(), 'string'), 'string'));
          break;
        case OP.BINUNICODE8:
          this.push(this.text(this.take(this.u64(), 'string'), 'string'));
          break;
        case OP.SHORT_BINSTRING:
          // Python 2 str: decoded as latin-1, as paddle.load(encoding='latin1') does
          this.push(latin1(this.take(this.u8(), 'string')));
          break;
        case OP.BINSTRING: {
          const n = this.i32();
          if (n < 0) this.fail(`negative BINSTRING length ${n}`);
          this.push(latin1(this.take(n, 'string')));
          break;
        }
        case OP.STRING:
          this.push(pyStringRepr(this.line(Infinity), this.fail));
          break;
        case OP.UNICODE:
          this.push(rawUnicodeEscape(this.line(Infinity), this.fail));
          break;

        // -- bytes
        case OP.SHORT_BINBYTES:
          this.push(this.take(this.u8(), 'bytes object'));
          break;
        case OP.BINBYTES:
          this.push(this.take(this.u32(), 'bytes object'));
          break;
        case OP.BINBYTES8:
          this.push(this.take(this.u64(), 'bytes object'));
          break;
        case OP.BYTEARRAY8:
          this.push(this.take(this.u64(), 'bytearray'));
          break;
        case OP.NEXT_BUFFER:
          this.fail('out-of-band pickle buffers are not supported');
          break;
        case OP.READONLY_BUFFER:
          // a no-op on in-band data
          this.top();
          break;

        // -- containers
        case OP.EMPTY_TUPLE:
          this.push(new PyTuple([]));
          break;
        case OP.TUPLE:
          this.push(this.tuple(this.popMark()));
          break;
        case OP.TUPLE1:
        case OP.TUPLE2:
        case OP.TUPLE3: {
          const n = op - OP.TUPLE1 + 1;
          if (this.stack.length - this.floor() < n) this.fail('stack underflow');
          this.push(this.tuple(this.stack.splice(this.stack.length - n)));
          break;
        }
        case OP.EMPTY_LIST:
          this.push(new PyList());
          break;
        case OP.LIST: {
          const l = new PyList();
          for (const it of this.popMark()) this.listAppend(l, it);
          this.push(l);
          break;
        }
        case OP.APPEND: {
          const v = this.pop();
          this.listAppend(this.top(), v);
          break;
        }
        case OP.APPENDS: {
          const items = this.popMark();
          const l = this.top();
          for (const it of items) this.listAppend(l, it);
          break;
        }
        case OP.EMPTY_DICT:
          this.push(new PyDict());
          break;
        case OP.DICT: {
          const d = new PyDict();
          this.setItems(d, this.popMark());
          this.push(d);
          break;
        }
        case OP.SETITEM: {
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case OP.SETITEMS: {
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case OP.EMPTY_SET:
          this.push(new PySet());
          break;
        case OP.ADDITEMS: {
          const items = this.popMark();
          const s = this.top();
          if (!(s instanceof PySet) || s.frozen) this.fail(`ADDITEMS on ${describe(s)}`);
          for (const it of items) {
            this.nest(s, it);
            s.items.push(it);
          }
          break;
        }
        case OP.FROZENSET: {
          const s = new PySet([], true);
          for (const it of this.popMark()) {
            this.nest(s, it);
            s.items.push(it);
          }
          this.push(s);
          break;
        }

        // -- memo
        case OP.MEMOIZE:
          this.memoPut(this.memo.size, this.top());
          break;
        case OP.BINPUT:
          this.memoPut(this.u8(), this.top());
          break;
        case OP.LONG_BINPUT:
          this.memoPut(this.u32(), this.top());
          break;
        case OP.PUT:
          this.memoPut(this.index(textInt(this.asciiLine(), 'PUT key', this.fail), 'PUT key'), this.top());
          break;
        case OP.BINGET:
          this.push(this.memoGet(this.u8()));
          break;
        case OP.LONG_BINGET:
          this.push(this.memoGet(this.u32()));
          break;
        case OP.GET:
          this.push(this.memoGet(this.index(textInt(this.asciiLine(), 'GET key', this.fail), 'GET key')));
          break;

        // -- globals and object construction
        case OP.GLOBAL: {
          const module = this.asciiLine();
          const name = this.asciiLine();
          this.push(resolveGlobal(module, name, this.fail));
          break;
        }
        case OP.STACK_GLOBAL: {
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string')
            this.fail(`STACK_GLOBAL needs two strings, got ${describe(module)} and ${describe(name)}`);
          this.push(resolveGlobal(module, name, this.fail));
          break;
        }
        case OP.REDUCE: {
          const args = this.pop();
          const callable = this.pop();
          this.push(reduce(this, callable, args));
          break;
        }
        case OP.BUILD: {
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case OP.INST: {
          // INST names its class inline: refuse it by that name, allowed or not (no weights file uses it)
          const module = this.asciiLine();
          const name = this.asciiLine();
          this.fail(`refusing pickle INST ${clip(`${module}.${name}`)}`);
          break;
        }
        case OP.OBJ: {
          const items = this.popMark();
          this.fail(`refusing pickle OBJ ${items.length ? clip(describe(items[0])) : '(nothing)'}`);
          break;
        }
        case OP.NEWOBJ: {
          this.pop();
          const cls = this.pop();
          this.fail(`refusing pickle NEWOBJ ${clip(describe(cls))}`);
          break;
        }
        case OP.NEWOBJ_EX: {
          this.pop();
          this.pop();
          const cls = this.pop();
          this.fail(`refusing pickle NEWOBJ_EX ${clip(describe(cls))}`);
          break;
        }
        case OP.PERSID:
        case OP.BINPERSID:
          this.fail('refusing pickle persistent ids');
          break;
        case OP.EXT1:
        case OP.EXT2:
        case OP.EXT4:
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

  setItems(d: PyValue, kv: PyValue[]): void {
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

  private build(obj: PyValue, state: PyValue): void {
    if (obj instanceof NdArray) buildArray(this, obj, state);
    else if (obj instanceof NpDType) buildDType(this, obj, state);
    else this.fail(`refusing pickle BUILD on ${clip(describe(obj))}`);
  }

  latin1Bytes(s: string, what: string): Uint8Array {
    this.spend(s.length, what);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) this.fail(`${what}: character U+${c.toString(16).padStart(4, '0')} is not latin-1`);
      out[i] = c;
    }
    return out;
  }
}
