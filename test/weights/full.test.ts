// Full-size files: the random-weight PP-MSVSR .pdparams written by tools/reference (protocol 4, 5.8 MB),
// its conversion to safetensors (F32 bit-identical, F16 within the rounding bound), and a PP-MSVSR-L set.
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { f16MaxError, readStateDict, readWeights, summarize, toSafetensors, type LoadedWeights } from '../../src/weights/load.js';
import { PP_MSVSR_L, buildManifest, elementCount } from '../../src/weights/manifest.js';
import { readSafetensors, writeSafetensors } from '../../src/weights/safetensors.js';
import { uniform } from '../reference/rng.js';
import { FULL_PDPARAMS, expectWeightsError, readBytes } from './util.js';

let bytes: Uint8Array;
let w: LoadedWeights;

beforeAll(() => {
  if (!existsSync(FULL_PDPARAMS))
    throw new Error(`${FULL_PDPARAMS} is missing (it is written with tools/reference/pdparams.py; set MSVSR_FULL_PDPARAMS to use another copy)`);
  bytes = readBytes(FULL_PDPARAMS);
});

describe('full-size PP-MSVSR .pdparams', () => {
  it('loads: PP-MSVSR detected, 248 tensors, 1,453,607 parameters; load time measured', () => {
    const t0 = performance.now();
    w = readWeights(bytes, 'msvsr_random.pdparams');
    const cold = performance.now() - t0;
    const warm: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      readWeights(bytes, 'msvsr_random.pdparams');
      warm.push(performance.now() - t);
    }
    warm.sort((a, b) => a - b);
    console.log(`readWeights(${(bytes.length / 1e6).toFixed(2)} MB .pdparams): first ${cold.toFixed(1)} ms, median of 5 warm ${warm[2].toFixed(1)} ms`);
    expect(w.config).toBe('PP-MSVSR');
    expect(w.format).toBe('pdparams');
    expect(w.dtype).toBe('f32');
    expect(w.tensors.size).toBe(248);
    expect(summarize(w)).toEqual({ config: 'PP-MSVSR', format: 'pdparams', dtype: 'f32', tensors: 248, parameters: 1_453_607 });
    // the file itself holds all 248 (buffers included), under PaddleGAN's names and shapes
    const raw = readStateDict(bytes, 'msvsr_random.pdparams').tensors;
    expect(raw.size).toBe(248);
    for (const e of buildManifest(w.cfg)) expect(raw.get(e.name)?.shape, e.name).toEqual(e.shape);
    expect(w.cfg.midChannels).toBe(32);
  });

  it('pdparams → safetensors (F32) → tensors is bit-identical', () => {
    const st = toSafetensors(w, 'f32', { source: 'msvsr_random.pdparams' });
    expect(readSafetensors(st).metadata).toEqual({ format: 'msvsr-webgpu', config: 'PP-MSVSR', source: 'msvsr_random.pdparams' });
    const back = readWeights(st, 'converted.safetensors');
    expect(back.format).toBe('safetensors');
    expect(back.config).toBe('PP-MSVSR');
    expect([...back.tensors.keys()]).toEqual([...w.tensors.keys()]);
    for (const [k, t] of w.tensors) {
      const b = back.tensors.get(k)!;
      expect(b.shape).toEqual(t.shape);
      expect(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), k).toBe(
        true,
      );
    }
  });

  it('pdparams → safetensors (F16): half the size, every value within 2^-11 relative (2^-25 absolute below 2^-14)', () => {
    const st = toSafetensors(w, 'f16');
    const back = readWeights(st, 'converted_f16.safetensors');
    expect(back.dtype).toBe('f16');
    expect(st.length).toBeLessThan(0.51 * toSafetensors(w, 'f32').length);
    let abs = 0;
    let rel = 0;
    for (const [k, t] of w.tensors) {
      const h = back.tensors.get(k)!.data;
      for (let i = 0; i < t.data.length; i++) {
        const x = t.data[i];
        const e = Math.abs(h[i] - x);
        abs = Math.max(abs, e);
        if (Math.abs(x) >= 2 ** -14) rel = Math.max(rel, e / Math.abs(x));
        else if (e > 2 ** -25) expect.fail(`${k}[${i}]: |${h[i]} - ${x}| > 2^-25`);
      }
    }
    expect(rel).toBeLessThanOrEqual(2 ** -11);
    expect(f16MaxError(w.tensors)).toEqual({ abs, rel });
    console.log(
      `F16 conversion of the random weights: max |error| ${abs.toExponential(2)}, max relative error ${rel.toExponential(2)} (bound ${(2 ** -11).toExponential(2)})`,
    );
  });

  it('a file without spynet.mean/std loads with the constants filled in; a NaN is named', () => {
    const t = new Map(w.tensors);
    t.delete('spynet.mean');
    t.delete('spynet.std');
    const back = readWeights(writeSafetensors(t), 'no_buffers.safetensors');
    expect(back.tensors.size).toBe(248);
    expect(back.filled).toEqual(['spynet.mean', 'spynet.std']);
    expect(w.filled).toEqual([]);
    expect([...back.tensors.get('spynet.std')!.data]).toEqual([0.229, 0.224, 0.225].map(Math.fround));
    const bad = new Map(w.tensors);
    const d = bad.get('upsample1.upsample_conv.weight')!.data.slice();
    d[100] = NaN;
    bad.set('upsample1.upsample_conv.weight', { shape: [128, 32, 3, 3], data: d });
    expectWeightsError(
      () => readWeights(writeSafetensors(bad), 'nan.safetensors'),
      /^nan\.safetensors: 1 tensor\(s\) hold NaN or Inf/,
      'upsample1.upsample_conv.weight: 1 of 36864 values',
    );
  });
});

describe('PP-MSVSR-L', () => {
  it('a complete PP-MSVSR-L set is detected: 450 tensors, 7,417,197 parameters', () => {
    const t = new Map(buildManifest(PP_MSVSR_L).map((e, i) => [e.name, { shape: [...e.shape], data: uniform(i + 1, elementCount(e.shape), -0.1, 0.1) }]));
    const l = readWeights(writeSafetensors(t, 'f16'), 'msvsr_l.safetensors');
    expect(summarize(l)).toEqual({ config: 'PP-MSVSR-L', format: 'safetensors', dtype: 'f16', tensors: 450, parameters: 7_417_197 });
    expect(l.cfg).toBe(PP_MSVSR_L);
  });
});
