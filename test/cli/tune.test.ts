// --tune from the CLI: 'full' measures this adapter's conv shapes once and keeps them in the cache folder,
// `msvsr info` lists them, a second run reuses them without measuring, and the output matches the direct
// conv's ('off') to the 8-bit rounding of a few pixels.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodePng, encodePng } from '../../src/node/png.js';
import type { Info } from '../../src/node/info.js';
import { TUNE_STATE } from '../../src/index.js';
import { WEIGHTS, cli, ensureBuilt, rgbFrame, scratch } from './helpers.js';

let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  ensureBuilt();
  dir = scratch('tune');
  env = { ...process.env, MSVSR_CACHE_DIR: path.join(dir, 'cache') };
  fs.writeFileSync(path.join(dir, 'in.png'), encodePng({ width: 16, height: 12, data: rgbFrame(16, 12, 0) }));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = (tune: string, out: string) => cli(['upscale', path.join(dir, 'in.png'), '-o', path.join(dir, out), '--weights', WEIGHTS, '--tune', tune], { env });
const read = (out: string) => decodePng(new Uint8Array(fs.readFileSync(path.join(dir, out))), out).data;

describe('--tune', () => {
  it("'full' measures and keeps the choices, info lists them, 'cached' reuses them; outputs agree with 'off'", async () => {
    const off = await run('off', 'off.png');
    expect(off.code, off.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'cache', TUNE_STATE))).toBe(false); // 'off' neither reads nor writes

    const full = await run('full', 'full.png');
    expect(full.code, full.stderr).toBe(0);
    const file = path.join(dir, 'cache', TUNE_STATE);
    const table = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { choice: { variant: string }; ms: number }>;
    const keys = Object.keys(table);
    // one entry per distinct conv shape of the network at this size: 3x3 and 1x1 convs, several channel counts
    expect(keys.length).toBeGreaterThan(10);
    for (const v of Object.values(table)) {
      expect(['direct', 'winograd']).toContain(v.choice.variant);
      expect(v.ms).toBeGreaterThan(0);
    }

    const info = await cli(['info', '--json'], { env });
    expect(info.code, info.stderr).toBe(0);
    const j = JSON.parse(info.stdout) as Info;
    expect(j.tune.file).toBe(file);
    expect(j.tune.choices).toHaveLength(keys.length);
    for (const c of j.tune.choices) expect(keys.some((k) => k.endsWith(` | ${c.shape}`))).toBe(true);

    const before = fs.statSync(file).mtimeMs;
    const cached = await run('cached', 'cached.png');
    expect(cached.code, cached.stderr).toBe(0);
    expect(fs.statSync(file).mtimeMs).toBe(before); // nothing new measured, nothing written

    // Winograd and the direct conv differ by float rounding (≤ 5e-6 relative per conv, test/conv2d.test.ts),
    // which can move a value across an 8-bit rounding boundary: at most 1 level, at a few pixels.
    const a = read('off.png');
    for (const out of ['full.png', 'cached.png']) {
      const b = read(out);
      let worst = 0;
      let moved = 0;
      for (let i = 0; i < a.length; i++) {
        const d = Math.abs(a[i] - b[i]);
        worst = Math.max(worst, d);
        if (d) moved++;
      }
      expect(worst, out).toBeLessThanOrEqual(1);
      expect(moved / a.length, out).toBeLessThan(0.01);
    }
    expect(Buffer.compare(fs.readFileSync(path.join(dir, 'full.png')), fs.readFileSync(path.join(dir, 'cached.png')))).toBe(0);
  });
});
