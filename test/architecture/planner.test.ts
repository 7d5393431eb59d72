// The memory planner, GPU-free: plans for 1080p and 4K inputs at the default budget keep every binding
// within 128 MiB (a browser's default and lavapipe's limit) and the total within the budget; frames that
// fit are not tiled; an explicit chunk is kept or refused with the reason; the numbers are the plan's own.
import { describe, expect, it } from 'vitest';
import { Builder } from '../../src/graph/builder.js';
import { buildMsvsr } from '../../src/graph/msvsr.js';
import { Plan } from '../../src/graph/plan.js';
import { defaultBudget, evaluateTile, PlanLimitError, planChunk } from '../../src/graph/planner.js';
import { CONFIGS, manifestOf } from '../../src/weights/manifest.js';
import { seededStateDict } from '../../src/weights/seeded.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const BROWSER = { maxBinding: 128 * MiB, maxBuffer: 256 * MiB };
const cfg = CONFIGS['PP-MSVSR'];

describe('planner', () => {
  it('the default budget: maxBufferSize clamped to [1, 4] GiB', () => {
    expect(defaultBudget(256 * MiB)).toBe(GiB);
    expect(defaultBudget(2 * GiB)).toBe(2 * GiB);
    expect(defaultBudget(2 ** 32 - 1)).toBe(2 ** 32 - 1);
    expect(defaultBudget(8 * GiB)).toBe(4 * GiB);
  });

  for (const [w, h] of [
    [1920, 1080],
    [3840, 2160],
  ]) {
    for (const precision of ['f32', 'f16'] as const) {
      it(`${w}x${h} ${precision}: tiled, every binding <= 128 MiB, total <= the 4 GiB budget`, () => {
        const limits = { maxBinding: 128 * MiB, maxBuffer: 2 ** 32 - 1, budget: defaultBudget(2 ** 32 - 1) };
        const p = planChunk({ cfg, precision, width: w, height: h, chunk: 10, overlap: 2, halo: 32, limits });
        expect(p.tiled).toBe(true);
        expect(p.largestBinding).toBeLessThanOrEqual(128 * MiB);
        expect(p.bytes.total).toBeLessThanOrEqual(4 * GiB);
        expect(p.window).toBe(14);
        expect(p.tile.count).toBe(p.tile.rows * p.tile.columns);
        // the plan's numbers are those of the tile's own plan
        const e = evaluateTile(cfg, precision, p.window, p.tile.height, p.tile.width, limits, { h, w });
        expect(e.bytes).toEqual(p.bytes);
      });
    }
  }

  it('a 1080p plan fits a browser (128 MiB bindings, 256 MiB buffers, 1 GiB budget)', () => {
    const p = planChunk({ cfg, precision: 'f16', width: 1920, height: 1080, chunk: 10, overlap: 2, halo: 32, limits: { ...BROWSER, budget: GiB } });
    expect(p.largestBinding).toBeLessThanOrEqual(128 * MiB);
    expect(p.bytes.total).toBeLessThanOrEqual(GiB);
  });

  it('a frame that fits runs whole, and the plan equals Plan.assign on the graph with weights', () => {
    const limits = { maxBinding: 128 * MiB, maxBuffer: 4 * GiB, budget: 4 * GiB };
    const p = planChunk({ cfg, precision: 'f32', width: 64, height: 48, chunk: 10, overlap: 0, halo: 32, limits });
    expect(p.tiled).toBe(false);
    expect(p.tile).toEqual({ width: 64, height: 48, halo: 0, count: 1, columns: 1, rows: 1 });
    const weights = seededStateDict(
      1,
      manifestOf(cfg).map((e) => [e.name, e.shape] as const),
    );
    const b = new Builder(weights, 'f32');
    buildMsvsr(b, cfg, 10, 48, 64, { hrBandBytes: 64 * MiB });
    const slots = Plan.assign(b.graph).slotBytes.reduce((a, x) => a + x, 0);
    expect(p.bytes.activations).toBe(slots);
    expect(p.bytes.weights).toBe(b.params.bytes);
    expect(p.bytes.readback).toBe(10 * 4 * 48 * 4 * 64 * 4 * 4); // 10 outputs of 192x256, RGB padded to 4, f32
  });

  it('an explicit chunk is kept or refused, never shortened; the default one may be', () => {
    const limits = { maxBinding: 128 * MiB, maxBuffer: 4 * GiB, budget: 40 * MiB };
    const auto = planChunk({ cfg, precision: 'f32', width: 64, height: 64, chunk: 10, overlap: 0, halo: 8, tiling: 'off', limits });
    expect(auto.chunk).toBeLessThan(10);
    expect(() =>
      planChunk({ cfg, precision: 'f32', width: 64, height: 64, chunk: 10, chunkExplicit: true, overlap: 0, halo: 8, tiling: 'off', limits }),
    ).toThrow(PlanLimitError);
  });

  it('refuses with what it tried when nothing fits', () => {
    const limits = { maxBinding: 128 * MiB, maxBuffer: 4 * GiB, budget: 4 * MiB };
    let msg = '';
    try {
      planChunk({ cfg, precision: 'f32', width: 640, height: 360, chunk: 10, chunkExplicit: true, overlap: 2, halo: 32, limits });
    } catch (e) {
      expect(e).toBeInstanceOf(PlanLimitError);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/cannot plan 640x360 frames in f32 \(PP-MSVSR\) within 4\.0 MiB/);
    expect(msg).toMatch(/chunk 10 \(window 14\) on whole 640x360 frames: .*a 360x640x216 f32 tensor needs 199065600 bytes, over .* 134217728 bytes/);
    expect(msg).toMatch(/even 80x80 tiles \(core 16, halo 32\): \d+ MiB is over the 4\.0 MiB budget/);
    expect(msg).toMatch(/precision f16/);
  });
});
