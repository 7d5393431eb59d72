// safetensors: round trips (F32 bit-exact, F16 within the stated rounding bound), a file from the
// independent Python writer, and one test per validated field.
import { describe, expect, it } from 'vitest';
import { fromHalf, toHalf } from '../../src/numeric/half.js';
import type { NamedTensor } from '../../src/weights/named-tensor.js';
import { readSafetensors, writeSafetensors } from '../../src/weights/safetensors.js';
import { detectFormat, readStateDict } from '../../src/weights/load.js';
import { expected, expectWeightsError, fixture, u64le } from './util.js';
import { uniform } from '../reference/rng.js';

function sample(): Map<string, NamedTensor> {
  const w = uniform(3, 4 * 3 * 3 * 3, -2, 2);
  w.set([0, -0, 1e-40, -1e-7, 3.4e38, -65504, 65519, 6e-8, NaN, Infinity, -Infinity]);
  return new Map([
    ['conv.weight', { shape: [4, 3, 3, 3], data: w }],
    ['conv.bias', { shape: [4], data: new Float32Array([1, 2, 3, 4]) }],
    ['empty', { shape: [0, 5], data: new Float32Array(0) }],
    ['scalar', { shape: [], data: new Float32Array([7]) }],
  ]);
}

/** A safetensors file with a hand-written header and `data` bytes of payload. */
function st(header: unknown, dataLen: number, raw?: string): Uint8Array {
  const h = new TextEncoder().encode(raw ?? JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + dataLen);
  out.set(u64le(h.length), 0);
  out.set(h, 8);
  return out;
}

describe('round trips', () => {
  it('F32 is bit-identical (NaN, ±0, denormals, ±Inf included) and keeps order and metadata', () => {
    const t = sample();
    const bytes = writeSafetensors(t, 'f32', { config: 'x' });
    expect(new DataView(bytes.buffer).getBigUint64(0, true) % 8n).toBe(0n); // data 8-byte aligned
    const r = readSafetensors(bytes, 'rt.safetensors');
    expect([...r.tensors.keys()]).toEqual([...t.keys()]);
    expect(r.metadata).toEqual({ config: 'x' });
    for (const [k, v] of t) {
      expect(r.tensors.get(k)!.shape).toEqual(v.shape);
      expect(new Uint32Array(r.tensors.get(k)!.data.buffer)).toEqual(new Uint32Array(v.data.buffer));
      expect(r.dtypes.get(k)).toBe('f32');
    }
  });

  it('F16 rounds to nearest: |error| <= 2^-11·|x| for |x| >= 2^-14, <= 2^-25 below', () => {
    const t = new Map([['w', { shape: [20000], data: uniform(9, 20000, -4, 4) }]]);
    const d = t.get('w')!.data;
    for (let i = 0; i < 2000; i++) d[i] *= 2 ** -(i % 30); // spread over the normal and subnormal f16 ranges
    const r = readSafetensors(writeSafetensors(t, 'f16'), 'h.safetensors');
    expect(r.dtypes.get('w')).toBe('f16');
    const got = r.tensors.get('w')!.data;
    let worstRel = 0;
    for (let i = 0; i < d.length; i++) {
      const x = d[i];
      const e = Math.abs(got[i] - x);
      expect(got[i]).toBe(Math.fround(fromHalf(toHalf(x))));
      if (Math.abs(x) >= 2 ** -14) {
        expect(e).toBeLessThanOrEqual(2 ** -11 * Math.abs(x));
        worstRel = Math.max(worstRel, e / Math.abs(x));
      } else expect(e).toBeLessThanOrEqual(2 ** -25);
    }
    expect(worstRel).toBeGreaterThan(2 ** -12); // the bound is tight, not vacuous
  });

  it('F16 refuses finite values beyond ±65504 instead of writing infinity', () => {
    const t = new Map([['big', { shape: [3], data: new Float32Array([1, 65520, 2]) }]]);
    expectWeightsError(() => writeSafetensors(t, 'f16'), "tensor 'big' value 65520 at index 1 is beyond the float16 range");
    // 65519 still rounds down to 65504; infinities stay infinities
    const ok = readSafetensors(writeSafetensors(new Map([['b', { shape: [2], data: new Float32Array([65519, -Infinity]) }]]), 'f16'));
    expect([...ok.tensors.get('b')!.data]).toEqual([65504, -Infinity]);
  });

  it('reads the file the independent Python writer made (F32 and F16 mixed)', () => {
    const r = readSafetensors(fixture('mini.safetensors'), 'mini.safetensors');
    expect(r.metadata).toEqual({ writer: 'tools/reference/safetensors_io.py' });
    expect(r.dtypes.get('conv.bias')).toBe('f16');
    for (const [k, e] of Object.entries(expected['mini.safetensors'])) {
      expect(r.tensors.get(k)!.shape).toEqual(e.shape);
      expect([...r.tensors.get(k)!.data]).toEqual(e.values.map(Math.fround));
    }
  });

  it('the writer checks its input', () => {
    expectWeightsError(() => writeSafetensors(new Map([['a', { shape: [2, 2], data: new Float32Array(3) }]])), "tensor 'a' has shape [2, 2] but 3 values");
    expectWeightsError(() => writeSafetensors(new Map([['__metadata__', { shape: [1], data: new Float32Array(1) }]])), 'invalid tensor name');
    expectWeightsError(() => writeSafetensors(new Map([['a', { shape: [-1], data: new Float32Array(0) }]])), 'invalid shape');
  });
});

describe('every header field is validated', () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, Uint8Array, RegExp | string][] = [
    ['shorter than 8 bytes', new Uint8Array(5), '5 bytes is too short'],
    ['header length beyond the file', st(ok, 8).subarray(0, 20), /header length \d+ exceeds the file \(20 bytes\)/],
    [
      'header length 2^64-1',
      (() => {
        const b = st(ok, 8);
        b.set(u64le(2n ** 64n - 1n));
        return b;
      })(),
      'header length 18446744073709551615 exceeds the file',
    ],
    ['header not starting with {', st(null, 0, ' {"a":1}'), "does not start with '{'"],
    ['header not JSON', st(null, 0, '{"a":'), 'not valid UTF-8 JSON'],
    [
      'header not UTF-8',
      (() => {
        const b = st(null, 0, '{"\u00e9":1}');
        b[10] = 0xff;
        return b;
      })(),
      'not valid UTF-8 JSON',
    ],
    ['__metadata__ not an object', st({ __metadata__: [1] }, 0), '__metadata__ is not an object'],
    ['__metadata__ value not a string', st({ __metadata__: { k: 1 } }, 0), "__metadata__ value 'k' is not a string"],
    ['entry not an object', st({ a: 5 }, 0), "tensor 'a' is not described by an object"],
    ['unknown field', st({ a: { ...ok.a, offsets: 1 } }, 8), "tensor 'a' has an unknown field 'offsets'"],
    ['dtype BF16', st({ a: { ...ok.a, dtype: 'BF16' } }, 8), 'tensor \'a\' has dtype "BF16"; only F32 and F16 are supported'],
    ['dtype F64', st({ a: { ...ok.a, dtype: 'F64', data_offsets: [0, 16] } }, 16), 'has dtype "F64"'],
    ['dtype missing', st({ a: { shape: [2], data_offsets: [0, 8] } }, 8), 'has dtype missing'],
    ['shape negative', st({ a: { ...ok.a, shape: [-2] } }, 8), 'invalid shape [-2]'],
    ['shape fractional', st({ a: { ...ok.a, shape: [2.5] } }, 8), 'invalid shape [2.5]'],
    ['shape not an array', st({ a: { ...ok.a, shape: '2' } }, 8), 'invalid shape "2"'],
    ['shape 33-d', st({ a: { ...ok.a, shape: Array(33).fill(1) } }, 8), 'invalid shape'],
    ['shape overflowing', st({ a: { ...ok.a, shape: [2 ** 40, 2 ** 40, 2 ** 40] } }, 8), 'but data_offsets span 8 bytes'],
    ['offsets beyond the data', st({ a: { ...ok.a, data_offsets: [0, 16] } }, 8), 'data_offsets [0,16] outside the 8-byte data section'],
    ['offsets reversed', st({ a: { ...ok.a, data_offsets: [8, 0] } }, 8), 'data_offsets [8,0]'],
    ['offsets not integers', st({ a: { ...ok.a, data_offsets: [0, '8'] } }, 8), 'data_offsets [0,"8"]'],
    ['offsets of three', st({ a: { ...ok.a, data_offsets: [0, 4, 8] } }, 8), 'data_offsets [0,4,8]'],
    ['size mismatch', st({ a: { ...ok.a, shape: [3] } }, 8), "tensor 'a' has shape [3] (12 bytes of F32) but data_offsets span 8 bytes"],
    ['overlap', st({ a: ok.a, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), 'overlaps another'],
    [
      'same bytes twice',
      st({ a: ok.a, b: ok.a }, 8, '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'),
      'overlaps another',
    ],
    ['gap', st({ a: { ...ok.a, data_offsets: [4, 12] } }, 12), 'bytes 0–4 of the data section belong to no tensor'],
    ['trailing bytes', st(ok, 12), '4 bytes after the last tensor'],
    ['empty name', st({ '': ok.a }, 8), 'a tensor has an empty name'],
  ];
  it.each(cases)('%s', (_name, bytes, pattern) => {
    expectWeightsError(() => readSafetensors(bytes, 'h.safetensors'), /^h\.safetensors: /, pattern);
  });
  it('a header length whose first byte is 0x80 is still detected as safetensors, not as a pickle', () => {
    const meta = { pad: '' };
    const base = new TextEncoder().encode(JSON.stringify({ ...ok, __metadata__: meta })).length;
    meta.pad = 'x'.repeat(0x480 - base); // header length 0x480: the file starts 80 04, like a pickle's PROTO 4
    const b = st({ ...ok, __metadata__: meta }, 8);
    expect([b[0], b[1]]).toEqual([0x80, 0x04]);
    expect(detectFormat(b)).toBe('safetensors');
    expect(readStateDict(b, 'h').tensors.get('a')!.shape).toEqual([2]);
  });

  it('the minimal valid header reads', () => {
    expect(readSafetensors(st(ok, 8), 'h').tensors.get('a')!.data).toEqual(new Float32Array(2));
    expect(readSafetensors(st({}, 0), 'h').tensors.size).toBe(0);
  });
});
