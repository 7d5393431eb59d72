// .pdparams files written by Python (tools/make_weight_fixtures.py, pickle + numpy only): every layout
// paddle.save produces reads back exactly; wrong and hostile files fail with a WeightsError naming the file
// and the problem, and nothing in a hostile file ever runs.
import { existsSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readPdparams } from '../../src/weights/pdparams.js';
import { readStateDict, readWeights, detectFormat } from '../../src/weights/load.js';
import { bytesOf, expected, expectWeightsError, fixture } from './util.js';

function expectExact(name: string, tensors: Map<string, { shape: number[]; data: Float32Array }>, exp = expected[name]) {
  expect([...tensors.keys()].sort()).toEqual(Object.keys(exp).sort());
  for (const [k, e] of Object.entries(exp)) {
    const t = tensors.get(k)!;
    expect(t.shape, k).toEqual(e.shape);
    expect(t.data.length, k).toBe(e.values.length);
    // bit-exact: every float32/float16 value is a double, and Python printed it exactly
    for (let i = 0; i < e.values.length; i++)
      if (!Object.is(t.data[i], Math.fround(e.values[i]))) expect.fail(`${name} ${k}[${i}]: got ${t.data[i]}, want ${e.values[i]}`);
  }
}

describe('layouts paddle.save writes', () => {
  it.each([
    ['mini_p2.pdparams', 2],
    ['mini_p3.pdparams', 3],
    ['mini_p4.pdparams', 4],
    ['mini_p5.pdparams', 5],
  ])('%s: {"generator": {...}} in protocol %i', (name, proto) => {
    const r = readPdparams(fixture(name), name);
    expect(r.protocol).toBe(proto);
    expect(r.layout).toBe('generator');
    expectExact(name, r.tensors);
    expect([...r.dtypes.values()].every((d) => d === 'f32')).toBe(true);
  });

  it('float16 arrays are widened exactly, and reported as F16', () => {
    const r = readPdparams(fixture('mini_f16.pdparams'), 'mini_f16.pdparams');
    expectExact('mini_f16.pdparams', r.tensors);
    expect(new Set(r.dtypes.values())).toEqual(new Set(['f16']));
  });

  it.each(['mini_be_p2.pdparams', 'mini_be_p4.pdparams'])('%s: big-endian float32 and float16 next to little-endian', (name) => {
    const r = readPdparams(fixture(name), name);
    expectExact(name, r.tensors);
    expect(r.dtypes.get('conv.bias')).toBe('f16');
  });

  it('a flat state dict', () => {
    const r = readPdparams(fixture('mini_flat.pdparams'), 'mini_flat.pdparams');
    expect(r.layout).toBe('flat');
    expectExact('mini_flat.pdparams', r.tensors);
  });

  it('(name, ndarray) tuple values and the StructuredToParameterName@@ table', () => {
    const r = readPdparams(fixture('mini_tuple.pdparams'), 'mini_tuple.pdparams');
    expect(r.tensors.has('StructuredToParameterName@@')).toBe(false);
    expectExact('mini_tuple.pdparams', r.tensors);
  });

  it("paddle's _pickle_save form: tuple(((name, ndarray),)) through builtins.tuple", () => {
    const r = readPdparams(fixture('mini_tuple_reduce.pdparams'), 'mini_tuple_reduce.pdparams');
    expectExact('mini_tuple_reduce.pdparams', r.tensors);
  });

  it.each(['mini_checkpoint_p2.pdparams', 'mini_checkpoint_p4.pdparams'])(
    '%s: a training checkpoint; epoch, optimizer state (int64, float64) and other keys are ignored',
    (name) => {
      const r = readPdparams(fixture(name), name);
      expect(r.layout).toBe('generator');
      expect(r.ignoredKeys.sort()).toEqual(['epoch', 'ints', 'misc', 'np_scalar', 'optimizer', 'ordered', 'shared']);
      expectExact(name, r.tensors);
    },
  );

  it.each(['mini_fortran_p2.pdparams', 'mini_fortran_p4.pdparams', 'mini_fortran_p5.pdparams'])('%s: Fortran-ordered arrays come out in C order', (name) => {
    const r = readPdparams(fixture(name), name);
    expectExact(name, r.tensors);
    expect(r.tensors.get('f')!.data).toEqual(r.tensors.get('c')!.data);
  });

  it('numpy >= 2 module names (numpy._core.multiarray)', () => {
    expectExact('mini_numpy2.pdparams', readPdparams(fixture('mini_numpy2.pdparams'), 'mini_numpy2.pdparams').tensors);
  });

  it('UnpackBigParamInfor@@ slices are joined back into one array', () => {
    const r = readPdparams(fixture('mini_bigparam.pdparams'), 'mini_bigparam.pdparams');
    expectExact('mini_bigparam.pdparams', r.tensors);
  });

  it('format detection by content', () => {
    expect(detectFormat(fixture('mini_p2.pdparams'))).toBe('pdparams');
    expect(detectFormat(new TextEncoder().encode('PK\x03\x04 a zip file'))).toBe(null);
    expectWeightsError(
      () => readStateDict(bytesOf(0x89, 'PNG\r\n\x1a\n...'), 'frame.png'),
      /^frame\.png: not a \.pdparams \(pickle protocol 2–5\) or safetensors file \(starts with 89 50 4e 47/,
    );
    expectWeightsError(() => readStateDict(new Uint8Array(0), 'empty.pdparams'), /empty\.pdparams: the file is empty/);
    // protocol 0/1 pickles do not start with PROTO: not a file paddle.save writes
    expectWeightsError(() => readStateDict(fixture('prims_p0.pkl'), 'prims_p0.pkl'), /not a \.pdparams/);
  });
});

describe('wrong files', () => {
  it.each([
    ['bad_float64.pdparams', /tensor 'conv\.weight' has dtype float64; only float32 and float16 weights are supported/],
    ['bad_int64.pdparams', /tensor 'conv\.weight' has dtype int64/],
    ['bad_object.pdparams', /tensor 'conv\.weight' has dtype object/],
    ['bad_shape_mismatch.pdparams', /shape \(4, 4\) of dtype '<f4' needs 64 bytes, but its data has 60/],
    ['bad_huge_shape.pdparams', /dimension 1099511627776 is larger than the 209-byte file/],
    ['bad_shape_overflow.pdparams', /dimension 4294967296 is larger than/],
    ['bad_not_dict.pdparams', /the pickle holds a list, not a dict of weights/],
    ['bad_value.pdparams', /'conv\.bias' is a str, not an array/],
    ['bad_truncated.pdparams', /truncated or corrupt/],
    ['bad_binbytes8_1tb.pdparams', /needs 1099511627776 bytes/],
    ['bad_deep_lists.pdparams', /nested deeper than 1000 levels/],
    ['bad_deep_marks.pdparams', /nested deeper than 1000 levels/],
    ['bad_deep_tuples.pdparams', /nested deeper than 1000 levels/],
    ['bad_shared.pdparams', /tensors' data adds up to 1228800 bytes, more than the 6854-byte file holds/],
  ])('%s', (name, re) => {
    expectWeightsError(() => readWeights(fixture(name), name), new RegExp(`^${name.replace(/\./g, '\\.')}: `), re);
  });

  it('a file that parses but is not PP-MSVSR says so', () => {
    expectWeightsError(() => readWeights(fixture('mini_p4.pdparams'), 'mini_p4.pdparams'), /mini_p4\.pdparams: not PP-MSVSR weights: none of its 5 tensors/);
  });
});

describe('hostile files', () => {
  it.each([
    ['evil_os_system.pdparams', 'os_system', /refusing pickle global os\.system/],
    ['evil_posix_system.pdparams', 'posix_system', /refusing pickle global posix\.system/],
    ['evil_eval.pdparams', 'eval', /refusing pickle global builtins\.eval/],
  ])('%s is refused and its command never runs', (name, marker, re) => {
    const path = expected.markers[marker];
    rmSync(path, { force: true });
    // The command in the file creates `path` when Python's pickle loads it (make_weight_fixtures.py checks).
    expectWeightsError(() => readWeights(fixture(name), name), new RegExp(`^${name.replace(/\./g, '\\.')}: `), re);
    expectWeightsError(() => readPdparams(fixture(name), name), re);
    expect(existsSync(path), `${path} must not exist`).toBe(false);
  });
});
