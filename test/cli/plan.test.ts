// `msvsr plan` and the planner seen from the CLI: a 1080p input is planned into tiles whose every binding
// fits the adapter's limit (128 MiB on lavapipe) within the budget, a small one runs whole, and `upscale
// --max-memory` makes the run tile and reports the plan it used.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, ensureBuilt, rgbFrame, scratch, WEIGHTS, writePng } from './helpers.js';

beforeAll(() => ensureBuilt());

describe('msvsr plan', () => {
  it('1920x1080: tiles, every binding within the limit, total within the budget; text and --json agree', async () => {
    const r = await cli(['plan', '--size', '1920x1080', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(r.stdout);
    expect(p).toMatchObject({ width: 1920, height: 1080, tiled: true, chunk: 10, overlap: 2, window: 14 });
    expect(p.largestBinding).toBeLessThanOrEqual(128 * 2 ** 20);
    expect(p.bytes.total).toBeLessThanOrEqual(p.budget);
    expect(p.tile.count).toBe(p.tile.columns * p.tile.rows);
    const t = await cli(['plan', '--size', '1920x1080']);
    expect(t.stdout).toContain(`tiles:         ${p.tile.count} (${p.tile.columns} x ${p.tile.rows}) of ${p.tile.width}x${p.tile.height}, halo 48`);
  });

  it('a small input runs whole; --max-memory and --precision f16 change the plan; a bad size is refused', async () => {
    const small = JSON.parse((await cli(['plan', '--size', '64x48', '--json'])).stdout);
    expect(small.tiled).toBe(false);
    const f16 = JSON.parse((await cli(['plan', '--size', '640x360', '--precision', 'f16', '--max-memory', '512MiB', '--json'])).stdout);
    expect(f16.bytes.total).toBeLessThanOrEqual(512 * 2 ** 20);
    expect(f16.precision).toBe('f16');
    const bad = await cli(['plan', '--size', '1920by1080']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/expected WIDTHxHEIGHT/);
    const tiny = await cli(['plan', '--size', '640x360', '--max-memory', '4MiB', '--chunk', '10']);
    expect(tiny.code).toBe(1);
    expect(tiny.stderr).toMatch(/cannot plan 640x360 frames in f32 \(PP-MSVSR\) within 4\.0 MiB/);
  });
});

describe('msvsr upscale with a small --max-memory', () => {
  it('tiles the frames, reports the plan in --json, and writes a x4 PNG', async () => {
    const dir = scratch('plan');
    const input = path.join(dir, 'in.png');
    fs.writeFileSync(input, writePng({ width: 40, height: 32, colorType: 2, bitDepth: 8, samples: rgbFrame(40, 32, 0) }));
    const out = path.join(dir, 'out.png');
    // 90 % of what the whole frame needs
    const whole = JSON.parse((await cli(['plan', '--size', '40x32', '--frames', '1', '--halo', '8', '--json'])).stdout);
    const budget = Math.floor(0.9 * whole.bytes.total);
    const r = await cli(['upscale', input, '-o', out, '--weights', WEIGHTS, '--max-memory', String(budget), '--halo', '8', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.plan.tiled).toBe(true);
    expect(j.plan.bytes.total).toBeLessThanOrEqual(budget);
    const png = PNG.sync.read(fs.readFileSync(out));
    expect([png.width, png.height]).toEqual([160, 128]);
  });
});
