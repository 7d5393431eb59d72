// The autotuner: it measures every variant of a conv and picks the fastest, keeps its choices per adapter and
// shape, and the network is exact whichever variants it picks (Winograd everywhere it applies, checked
// against the PyTorch reference).
import { describe, expect, it } from 'vitest';
import { MsvsrRunner } from '../src/graph/msvsr-runner.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adapterKey, convCandidates, DEFAULT_VARIANT, shapeKey, Tuner, tuneConv, type ConvVariant, type TuneTable } from '../src/graph/tuner.js';
import { loadTuneTable, TUNE_STATE } from '../src/upscaler.js';
import { browserPlatform } from '../src/platform/browser.js';
import { nodePlatform } from '../src/platform/node.js';
import { setPlatform } from '../src/platform/platform.js';
import { winogradApplies } from '../src/kernels/conv2d_winograd.js';
import type { Conv2dShape } from '../src/kernels/conv2d.js';
import { chwToHwc, loadGolden } from './fixtures.js';
import { useGpu } from './helpers.js';
import { maxAbsDiff } from './reference/ops.js';

const suite = useGpu();

/** A tuner that answers without measuring: Winograd wherever it applies. */
class WinogradEverywhere extends Tuner {
  used = 0;
  override choose(s: Conv2dShape): ConvVariant {
    if (!winogradApplies(s)) return DEFAULT_VARIANT;
    this.used++;
    return { variant: 'winograd' };
  }
}

describe('tuner', () => {
  it('times every candidate and picks the fastest', async () => {
    const s: Conv2dShape = { sources: [32], cout: 32, k: 3, act: 'lrelu' };
    const r = await tuneConv(suite.gpu, s, 16, 24, 2);
    expect(r.times.map((t) => t.variant)).toEqual(convCandidates(s));
    expect(r.times.some((t) => t.variant.variant === 'winograd')).toBe(true);
    const ok = r.times.filter((t) => t.ms !== undefined);
    expect(ok.length).toBe(r.times.length);
    expect(r.ms).toBe(Math.min(...ok.map((t) => t.ms!)));
    expect(r.times.find((t) => t.ms === r.ms)?.variant).toEqual(r.choice);
    // a stride-2 conv has no Winograd candidate, and is timed on an input twice its output's size
    const s2: Conv2dShape = { sources: [3], cout: 32, k: 3, stride: 2 };
    expect(convCandidates(s2).every((c) => c.variant === 'direct')).toBe(true);
    const r2 = await tuneConv(suite.gpu, s2, 6, 8, 1);
    expect(r2.times.every((t) => t.ms !== undefined && t.error === undefined)).toBe(true);
  });

  it("'full' measures what the table lacks once, 'cached' only reads, 'off' ignores the table", async () => {
    const table: TuneTable = {};
    const s: Conv2dShape = { sources: [8], cout: 16, k: 3 };
    const full = new Tuner(suite.gpu, 'full', table);
    expect(
      await full.tune([
        { shape: s, rows: 8, cols: 8 },
        { shape: s, rows: 8, cols: 8 },
      ]),
    ).toBe(1);
    expect(Object.keys(table)).toHaveLength(1);
    expect(Object.keys(table)[0]).toContain(shapeKey(s, 8, 8));
    expect(await full.tune([{ shape: s, rows: 8, cols: 8 }])).toBe(0);
    const choice = Object.values(table)[0].choice;
    expect(new Tuner(suite.gpu, 'cached', table).choose(s, 8, 8)).toEqual(choice);
    expect(await new Tuner(suite.gpu, 'cached', {}).tune([{ shape: s, rows: 8, cols: 8 }])).toBe(0);
    expect(new Tuner(suite.gpu, 'off', table).choose(s, 8, 8)).toEqual(DEFAULT_VARIANT);
    expect(new Tuner(suite.gpu, 'cached', {}).choose(s, 8, 8)).toEqual(DEFAULT_VARIANT);
  });
});

describe('a table read from a file is checked before it is used', () => {
  const s: Conv2dShape = { sources: [8], cout: 16, k: 3 };
  const key = (sh: Conv2dShape) => `${adapterKey(suite.gpu)} | ${shapeKey(sh, 8, 8)}`;
  const entry = (choice: unknown) => ({ choice, ms: 1, candidates: 1 }) as TuneTable[string];

  it('only a candidate of the shape that fits the device is used; anything else gives the direct conv', () => {
    const stride2: Conv2dShape = { sources: [8], cout: 16, k: 3, stride: 2 };
    const good = convCandidates(s).find((c) => c.variant === 'winograd')!;
    const table: TuneTable = {
      [key(s)]: entry({ ...good }),
      [key(stride2)]: entry({ variant: 'winograd' }), // Winograd does not apply to a strided conv
    };
    const t = new Tuner(suite.gpu, 'cached', table);
    expect(t.choose(s, 8, 8)).toEqual(good);
    expect(t.choose(stride2, 8, 8)).toEqual(DEFAULT_VARIANT);
    for (const bad of [
      { variant: 'direct', act: 'relu' }, // a field that is not the variant's: would change the network
      { ...good, winograd: { ...good.winograd, TO: 3 } }, // not one of the candidates
      { variant: 'direct', tiling: { PX: 4, OVN: 1, TPX: 64, TPY: 64, TPO: 4, CK: 2 } }, // 4096 invocations: no device runs it
      { variant: 'shader text' },
      { variant: 'matrix', matrix: { TY: 4, MB: 2, NB: 2, NSG: 4 } }, // no subgroup matrices on this device (no unsafeApis)
      'winograd',
      null,
    ]) {
      table[key(s)] = entry(bad);
      expect(t.choose(s, 8, 8), JSON.stringify(bad)).toEqual(DEFAULT_VARIANT);
    }
  });

  it("'full' measures again a shape whose entry is unusable", async () => {
    const table: TuneTable = { [key(s)]: entry({ variant: 'direct', act: 'relu' }) };
    expect(await new Tuner(suite.gpu, 'full', table).tune([{ shape: s, rows: 8, cols: 8 }])).toBe(1);
    expect(convCandidates(s).map((c) => JSON.stringify(c))).toContain(JSON.stringify(table[key(s)].choice));
  });

  it('loadTuneTable drops entries that are not a choice with a time, and survives a file that is not JSON', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'msvsr-tune-'));
    const was = process.env.MSVSR_CACHE_DIR;
    process.env.MSVSR_CACHE_DIR = dir;
    try {
      writeFileSync(
        path.join(dir, TUNE_STATE),
        JSON.stringify({ a: entry({ variant: 'direct' }), b: null, c: { choice: 1, ms: 1 }, d: { choice: {}, ms: 'x' } }),
      );
      expect(Object.keys(loadTuneTable())).toEqual(['a']);
      writeFileSync(path.join(dir, TUNE_STATE), '{ not json');
      expect(loadTuneTable()).toEqual({});
    } finally {
      process.env.MSVSR_CACHE_DIR = was;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the network with Winograd wherever it applies', () => {
  // Same tolerance as the direct conv's golden tests (1e-3: ~70 convs in sequence with recurrences); measured
  // 6.5e-6 (direct: 6.4e-6).
  // PP-MSVSR-L (l_t3_24x32) measured 1.7e-5 too, but compiling its Winograd pipelines takes 3 minutes on
  // lavapipe: the conv tests cover its shapes, this one the network's wiring.
  for (const name of ['t2_32x48']) {
    it(`${name} matches the PyTorch reference`, async () => {
      const g = loadGolden(name);
      const tuner = new WinogradEverywhere(suite.gpu, 'cached', {});
      const t0 = performance.now();
      const runner = await MsvsrRunner.create(suite.gpu, g.cfg, g.weights, g.T, g.H, g.W, 'f32', { tuner });
      console.log(`winograd ${name}: plan built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      try {
        expect(tuner.used).toBeGreaterThan(20);
        const t1 = performance.now();
        const outs = await runner.run(g.frames);
        console.log(`winograd ${name}: run in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
        const ref = g.tensors.get('out')!;
        outs.forEach((o, t) => {
          const { err } = maxAbsDiff(o, chwToHwc(ref.data, 3, 4 * g.H, 4 * g.W, t));
          console.log(`winograd ${name} out[${t}] max|err| ${err.toExponential(2)}`);
          expect(err).toBeLessThanOrEqual(1e-3);
        });
      } finally {
        runner.destroy();
      }
    });
  }
});

describe('in a browser the tuner table is kept in localStorage', () => {
  it('round-trips through localStorage["msvsr:tune.json"], and a full or missing store is only a miss', () => {
    const store = new Map<string, string>();
    let full = false;
    const fake = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => {
        if (full) throw new DOMException('quota exceeded', 'QuotaExceededError');
        store.set(k, v);
      },
    };
    const g = globalThis as { localStorage?: unknown };
    const was = g.localStorage;
    g.localStorage = fake;
    setPlatform(browserPlatform);
    try {
      const table: TuneTable = { 'adapter | conv3x3s1 [32]->32 f16 @64x64': { choice: { variant: 'winograd' }, ms: 2.5, candidates: 9 } };
      browserPlatform.saveState(TUNE_STATE, JSON.stringify(table)); // what Upscaler does after measuring
      expect(store.get('msvsr:tune.json')).toBe(JSON.stringify(table));
      expect(loadTuneTable()).toEqual(table);
      full = true;
      expect(() => browserPlatform.saveState(TUNE_STATE, '{}')).not.toThrow();
      expect(loadTuneTable()).toEqual(table);
      g.localStorage = undefined;
      expect(loadTuneTable()).toEqual({});
    } finally {
      g.localStorage = was;
      setPlatform(nodePlatform);
    }
  });
});
