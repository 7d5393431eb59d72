// msvsr info, --help texts.
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, ensureBuilt } from './helpers.js';
import type { Info } from '../../src/node/info.js';

beforeAll(() => ensureBuilt());

describe('msvsr info and help', () => {
  it('info --json: adapter, backend, features, limits, ffmpeg, weights', async () => {
    const r = await cli(['info', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Info;
    expect(j.adapter.name.length).toBeGreaterThan(0);
    expect(j.adapter.backend.length).toBeGreaterThan(0);
    expect(j.features.length).toBeGreaterThan(0);
    expect(j.precisions).toContain('f32');
    expect(j.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(j.limits.maxComputeWorkgroupSizeX).toBeGreaterThan(0);
    expect('ffmpeg' in j.ffmpeg && j.ffmpeg.ffmpeg).toMatch(/ffmpeg/);
    expect(j.weights.default).toMatch(/PP-MSVSR_reds_x4\.pdparams$/);
    const t = await cli(['info']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^adapter: +\S/m);
    expect(t.stdout).toMatch(/^backend: +\S/m);
    expect(t.stdout).toMatch(/^limits:\n {2}max/m);
    // Subgroup matrices only with --unsafe-apis, on an adapter that has them (Mesa 25 lavapipe has none;
    // test/matrix.test.ts checks the flag where they exist).
    expect(j.matrix).toEqual([]);
    expect(t.stdout).toMatch(/^tensor cores: none \(subgroup matrices need --unsafe-apis/m);
    const u = await cli(['info', '--unsafe-apis', '--json']);
    expect(u.code, u.stderr).toBe(0);
    const uj = JSON.parse(u.stdout) as Info;
    expect(uj.matrix.length > 0).toBe(uj.features.includes('chromium-experimental-subgroup-matrix'));
  });

  it('--help with examples, for the program and each command', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['upscale', 'eval', 'info', 'convert', 'inspect']) expect(top.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    expect(top.stdout).toMatch(/Examples:\n {2}msvsr upscale input\.mp4 -o output_x4\.mp4/);
    const up = await cli(['upscale', '--help']);
    for (const o of ['--output', '--weights', '--chunk', '--precision', '--overwrite', '--resume', '--quiet', '--json']) expect(up.stdout).toContain(o);
    expect(up.stdout).toMatch(/Examples:/);
    expect(up.stdout).toMatch(/MSVSR_CACHE_DIR/);
    const ev = await cli(['eval', '--help']);
    for (const o of ['--lq', '--gt', '--y-channel', '--crop-border', '--chunk', '--json']) expect(ev.stdout).toContain(o);
    expect(ev.stdout).toMatch(/Examples:/);
    const inf = await cli(['info', '--help']);
    expect(inf.stdout).toMatch(/Examples:/);
  });
});
