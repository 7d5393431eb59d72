// The pickle VM on its own: data types and opcodes (fixtures written by Python's pickle), and the refusals
// and limits on hand-made byte sequences.
import { describe, expect, it } from 'vitest';
import { NdArray, NpScalar } from '../../src/weights/numpy.js';
import { unpickle } from '../../src/weights/pickle.js';
import { PICKLE_LIMITS, PyDict, PyList, PySet, PyTuple, type PyValue } from '../../src/weights/pickle-values.js';
import { bytesOf, expectWeightsError, fixture, u32le, u64le } from './util.js';

/** A PyValue as plain JS for comparisons: tuples become { tuple: [...] }, bytes become number arrays. */
function js(v: PyValue): unknown {
  if (v instanceof PyDict) return Object.fromEntries([...v.map].map(([k, x]) => [String(k), js(x)]));
  if (v instanceof PyList) return v.items.map(js);
  if (v instanceof PyTuple) return { tuple: v.items.map(js) };
  if (v instanceof PySet) return { set: v.items.map(js) };
  if (v instanceof Uint8Array) return [...v];
  return v;
}

const P2 = [0x80, 2] as const;
const P4 = [0x80, 4] as const;
const sb = (s: string) => bytesOf(0x8c, s.length, s); // SHORT_BINUNICODE
const bu = (s: string) => bytesOf(0x58, u32le(new TextEncoder().encode(s).length), new TextEncoder().encode(s)); // BINUNICODE

describe('pickle VM: data written by Python', () => {
  it.each([0, 1])('protocol %i text opcodes and PUT/GET memo', (p) => {
    const { value, protocol } = unpickle(fixture(`prims_p${p}.pkl`), `prims_p${p}.pkl`);
    expect(protocol).toBe(0);
    expect(js(value)).toEqual({
      ints: [0, -7, 2 ** 40, -(2n ** 70n)],
      float: 0.1,
      neg: -1.5e300,
      str: 'a\nb é \u20ac',
      t: { tuple: [true, false, null] },
      nested: [[1], [2, [3]]],
      bytes: [0, 255],
      again: [[1], [2, [3]]],
    });
    const d = value as PyDict;
    expect(d.get('again')).toBe(d.get('nested')); // one object through the memo, as in Python
  });

  it.each([2, 4])('protocol %i checkpoint: ints, floats, strings, bytes, sets, OrderedDict, numpy scalars', (p) => {
    const { value, protocol } = unpickle(fixture(`mini_checkpoint_p${p}.pdparams`), 'ckpt');
    expect(protocol).toBe(p);
    const d = value as PyDict;
    expect(d.get('epoch')).toBe(12);
    expect(js(d.get('ints')!)).toEqual([0, 255, 256, 65535, 65536, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, -(2 ** 40), 2n ** 70n, -(2n ** 70n)]);
    const misc = (d.get('misc') as PyList).items;
    expect(misc.slice(0, 6)).toEqual([null, true, false, 1.5, -2.25e-300, 'text é']);
    expect([...(misc[6] as Uint8Array)]).toEqual([...new TextEncoder().encode('raw')]);
    expect([...(misc[7] as Uint8Array)]).toEqual([0x62, 0x61]);
    expect(js(misc[8])).toEqual({ tuple: [1, { tuple: [2, { tuple: [3] }] }] });
    expect(misc[9]).toBeInstanceOf(PySet);
    expect(new Set((misc[9] as PySet).items)).toEqual(new Set([4, 5]));
    expect((misc[10] as PySet).frozen).toBe(true);
    expect(js(d.get('ordered')!)).toEqual({ a: 1, b: 2 });
    const sc = d.get('np_scalar') as NpScalar;
    expect(sc).toBeInstanceOf(NpScalar);
    expect(new DataView(sc.data.buffer, sc.data.byteOffset, 4).getFloat32(0, true)).toBe(0.5);
    const shared = (d.get('shared') as PyList).items;
    expect(shared[0]).toBeInstanceOf(NdArray);
    expect(shared[0]).toBe(shared[1]);
    const opt = d.get('optimizer') as PyDict;
    expect((opt.get('step') as NdArray).dtype?.descr).toBe('<i8');
    expect((opt.get('beta1_pow_acc_0') as NdArray).dtype?.descr).toBe('<f8');
  });

  it('array data stays a view into the file (no copy) for protocol 4', () => {
    const bytes = fixture('mini_p4.pdparams');
    const gen = (unpickle(bytes, 'f').value as PyDict).get('generator') as PyDict;
    const a = gen.get('conv.weight') as NdArray;
    expect(a.data!.buffer).toBe(bytes.buffer);
    expect(a.shape).toEqual([4, 3, 3, 3]);
  });
});

describe('pickle VM: refuses to construct or call anything', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['GLOBAL os.system', bytesOf(...P2, 'cos\nsystem\n', '.'), /refusing pickle global os\.system/],
    ['STACK_GLOBAL subprocess.Popen', bytesOf(...P4, sb('subprocess'), sb('Popen'), 0x93, '.'), /refusing pickle global subprocess\.Popen/],
    ['STACK_GLOBAL builtins.getattr', bytesOf(...P4, sb('builtins'), sb('getattr'), 0x93, '.'), /refusing pickle global builtins\.getattr/],
    ['GLOBAL copyreg._reconstructor', bytesOf(...P2, 'ccopy_reg\n_reconstructor\n', '.'), /refusing pickle global copy_reg\._reconstructor/],
    ['INST', bytesOf(...P2, '(', 'ios\nsystem\n', '.'), /refusing pickle INST os\.system/],
    ['OBJ', bytesOf(...P2, '(', 'cnumpy\nndarray\n', 'o', '.'), /refusing pickle OBJ numpy\.ndarray/],
    ['NEWOBJ', bytesOf(...P4, sb('numpy'), sb('ndarray'), 0x93, 0x29, 0x81, '.'), /refusing pickle NEWOBJ numpy\.ndarray/],
    ['NEWOBJ_EX', bytesOf(...P4, sb('numpy'), sb('ndarray'), 0x93, 0x29, 0x7d, 0x92, '.'), /refusing pickle NEWOBJ_EX numpy\.ndarray/],
    ['REDUCE on a str', bytesOf(...P4, sb('a'), 0x29, 'R', '.'), /refusing pickle REDUCE on str/],
    ['REDUCE numpy.ndarray', bytesOf(...P2, 'cnumpy\nndarray\n', 0x29, 'R', '.'), /refusing pickle REDUCE numpy\.ndarray/],
    [
      '_reconstruct of a dtype',
      bytesOf(...P2, 'cnumpy.core.multiarray\n_reconstruct\n', 'cnumpy\ndtype\n', 'K', 0, 0x85, 'C', 1, 'b', 0x87, 'R', '.'),
      /refusing pickle REDUCE numpy\.core\.multiarray\._reconstruct/,
    ],
    ['_codecs.encode to utf-8', bytesOf(...P2, 'c_codecs\nencode\n', bu('a'), bu('utf-8'), 0x86, 'R', '.'), /refusing pickle REDUCE _codecs\.encode/],
    ['BUILD on a dict', bytesOf(...P4, '}', '}', 'b', '.'), /refusing pickle BUILD on dict/],
    ['BUILD on a global', bytesOf(...P2, 'cnumpy\nndarray\n', '}', 'b', '.'), /refusing pickle BUILD on numpy\.ndarray/],
    ['PERSID', bytesOf(...P2, 'P1\n', '.'), /refusing pickle persistent ids/],
    ['BINPERSID', bytesOf(...P2, 'N', 'Q', '.'), /refusing pickle persistent ids/],
    ['EXT1', bytesOf(...P2, 0x82, 1, '.'), /extension-registry/],
    ['NEXT_BUFFER', bytesOf(0x80, 5, 0x97, '.'), /out-of-band/],
  ];
  it.each(cases)('%s', (_name, bytes, re) => {
    const err = expectWeightsError(() => unpickle(bytes, 'hostile.pkl'), re);
    expect(err.message.startsWith('hostile.pkl: ')).toBe(true);
  });
});

describe('pickle VM: malformed input gives clean errors', () => {
  const reconstruct = bytesOf('cnumpy.core.multiarray\n_reconstruct\n', 'cnumpy\nndarray\n', 'K', 0, 0x85, 'C', 1, 'b', 0x87, 'R');
  const dtypeF4 = bytesOf('cnumpy\ndtype\n', bu('f4'), 0x89, 0x88, 0x87, 'R');
  const cases: [string, Uint8Array, RegExp][] = [
    ['memo key never stored', bytesOf(...P4, 'h', 5, '.'), /memo key 5 was never stored/],
    ['STOP on an empty stack', bytesOf(...P4, '.'), /stack underflow/],
    ['POP below a MARK', bytesOf(...P4, 'N', '(', '0', '.'), /stack underflow/],
    ['TUPLE2 with one item', bytesOf(...P4, 'N', 0x86, '.'), /stack underflow/],
    ['TUPLE without MARK', bytesOf(...P4, 'N', 't', '.'), /no MARK/],
    ['unknown opcode', bytesOf(...P4, 0xff, '.'), /unknown pickle opcode 0xff/],
    ['protocol 6', bytesOf(0x80, 6, 'N', '.'), /unsupported pickle protocol 6/],
    ['no STOP', bytesOf(...P4, 'N'), /ends without STOP/],
    ['empty input', new Uint8Array(0), /ends without STOP/],
    ['negative LONG4 length', bytesOf(...P4, 0x8b, 0xff, 0xff, 0xff, 0xff, '.'), /negative LONG4 length/],
    ['1000-byte integer', bytesOf(...P4, 0x8b, u32le(1000), new Uint8Array(1000), '.'), /larger than 256 bytes/],
    ['BINUNICODE not UTF-8', bytesOf(...P4, 'X', u32le(1), 0xff, '.'), /not valid UTF-8/],
    ['FRAME beyond the file', bytesOf(...P4, 0x95, u64le(2 ** 40), 'N', '.'), /truncated or corrupt: the frame needs 1099511627776 bytes/],
    ['BINUNICODE8 of 2^63 bytes', bytesOf(...P4, 0x8d, u64le(2n ** 63n), '.'), /truncated or corrupt/],
    ['BINBYTES beyond the file', bytesOf(...P4, 'B', u32le(0xffffffff), 'abc'), /needs 4294967295 bytes, only 3 are left/],
    ['SETITEMS with an odd count', bytesOf(...P4, '}', '(', 'N', 'u', '.'), /odd number of items/],
    ['APPEND to a dict', bytesOf(...P4, '}', 'N', 'a', '.'), /APPEND to dict/],
    ['unhashable key', bytesOf(...P4, '}', ']', 'N', 's', '.'), /unhashable dict key of type list/],
    ['STACK_GLOBAL of ints', bytesOf(...P4, 'K', 1, 'K', 2, 0x93, '.'), /STACK_GLOBAL needs two strings/],
    ['INT that is not a number', bytesOf('I12x\n.'), /INT '12x' is not an integer/],
    ['GET key negative', bytesOf('N', 'p0\n', 'g-1\n', '.'), /GET key -1 is not a valid index/],
    ['array state None', bytesOf(...P2, reconstruct, 'N', 'b', '.'), /numpy array state is a None/],
    [
      'dtype byte order x',
      bytesOf(...P2, dtypeF4, '(', 'K', 3, bu('x'), 'N', 'N', 'N', 'J', u32le(0xffffffff), 'J', u32le(0xffffffff), 'K', 0, 't', 'b', '.'),
      /byte order 'x' is not one of/,
    ],
    [
      '33 dimensions',
      bytesOf(...P2, reconstruct, '(', 'K', 1, '(', ...Array(33).fill([0x4b, 1]).flat(), 't', dtypeF4, 0x89, 'C', 4, 'abcd', 't', 'b', '.'),
      /33 dimensions/,
    ],
    [
      'negative dimension',
      bytesOf(...P2, reconstruct, '(', 'K', 1, 'J', u32le(0xffffffff), 0x85, dtypeF4, 0x89, 'C', 4, 'abcd', 't', 'b', '.'),
      /dimension -1 is not a valid size/,
    ],
    [
      'data shorter than shape',
      bytesOf(...P2, reconstruct, '(', 'K', 1, 'K', 2, 0x85, dtypeF4, 0x89, 'C', 4, 'abcd', 't', 'b', '.'),
      /shape \(2\) of dtype '<f4' needs 8 bytes, but its data has 4/,
    ],
    ['data not latin-1', bytesOf(...P2, 'c_codecs\nencode\n', bu('\u20ac'), bu('latin1'), 0x86, 'R', '.'), /not latin-1/],
  ];
  it.each(cases)('%s', (_name, bytes, re) => {
    expectWeightsError(() => unpickle(bytes, 'bad.pkl'), re, /^bad\.pkl: /, /pickle opcode \w+ at byte \d+/);
  });

  it('stops memo references from multiplying bytes (_codecs.encode of one string, 2000 times)', () => {
    // memo 0 = _codecs.encode, 1 = a 1000-char string, 2 = 'latin1'; then 2000 × encode(memo1, memo2)
    const head = bytesOf(...P2, 'c_codecs\nencode\n', 'q', 0, bu('x'.repeat(1000)), 'q', 1, bu('latin1'), 'q', 2, '0', '0', '0');
    const call = bytesOf('h', 0, 'h', 1, 'h', 2, 0x86, 'R', '0');
    const parts = [head];
    for (let i = 0; i < 2000; i++) parts.push(call);
    const bytes = bytesOf(...parts, 'N', '.');
    expectWeightsError(() => unpickle(bytes, 'bomb.pkl'), /would create more bytes than the file holds/);
  });

  it('caps the stack and the memo', () => {
    const saved = { ...PICKLE_LIMITS };
    try {
      PICKLE_LIMITS.maxStack = 100;
      expectWeightsError(() => unpickle(bytesOf(...P4, 'N'.repeat(200), '.'), 's.pkl'), /stack deeper than 100 entries/);
      PICKLE_LIMITS.maxMemo = 10;
      expectWeightsError(() => unpickle(bytesOf(...P4, 'N', '\x94'.repeat(20), '.'), 'm.pkl'), /memo larger than 10 entries/);
    } finally {
      Object.assign(PICKLE_LIMITS, saved);
    }
    // the real limits accept a million-entry stack's worth of a real file's needs
    expect(PICKLE_LIMITS.maxStack).toBeGreaterThanOrEqual(1 << 20);
  });

  it.each(['bad_deep_lists.pdparams', 'bad_deep_marks.pdparams', 'bad_deep_tuples.pdparams'])(
    '%s: 10,000-deep nesting stops at 1000 levels, quickly',
    (name) => {
      const t0 = performance.now();
      expectWeightsError(() => unpickle(fixture(name), name), /nested deeper than 1000 levels/);
      expect(performance.now() - t0).toBeLessThan(200);
    },
  );

  it('a 1 TB BINBYTES8 length is refused before any allocation', () => {
    const err = expectWeightsError(
      () => unpickle(fixture('bad_binbytes8_1tb.pdparams'), 'bad_binbytes8_1tb.pdparams'),
      /needs 1099511627776 bytes, only 16 are left in the 27-byte file/,
    );
    expect(err.message).toContain('BINBYTES8');
  });

  it('every truncation of a valid file fails cleanly', () => {
    for (const name of ['mini_p2.pdparams', 'mini_p4.pdparams', 'mini_p5.pdparams', 'prims_p0.pkl']) {
      const full = fixture(name);
      unpickle(full, name);
      for (let n = 0; n < full.length; n++) expectWeightsError(() => unpickle(full.subarray(0, n), name), /truncated|stack underflow|no MARK/);
    }
  });
});
