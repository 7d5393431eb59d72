// msvsr eval end to end: the CLI's numbers equal the API's output scored with src/metrics (which
// test/metrics.test.ts pins to the numpy reference of PaddleGAN's psnr_ssim.py).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getDevice, loadModel, upscaleFrames, type Frame, type Gpu, type Model } from '../../src/index.js';
import { SequenceMetrics, scoreFrame, type MetricOptions } from '../../src/metrics/psnr-ssim.js';
import { decodePng, encodePng } from '../../src/node/png.js';
import { WEIGHTS, cli, ensureBuilt, lcg, rgbFrame, scratch } from './helpers.js';

const S = 16;
let dir: string;
let lq: string;
let gt: string;
let gpu: Gpu;
let model: Model;
const clips: Record<string, Frame[]> = {};
const names = (n: number) => Array.from({ length: n }, (_, i) => `${String(i).padStart(8, '0')}.png`);

beforeAll(async () => {
  ensureBuilt();
  dir = scratch('eval');
  lq = path.join(dir, 'BDx4');
  gt = path.join(dir, 'GT');
  model = await loadModel(WEIGHTS);
  gpu = await getDevice();
  // Vid4-like layout: <root>/<seq>/<%08d>.png. GT of 'calendar' = the one-pass output plus noise; GT of
  // 'city' = the output itself (PSNR +inf, as psnr_ssim.py returns for MSE 0).
  for (const [clip, n, seed] of [
    ['calendar', 3, 31],
    ['city', 2, 32],
  ] as const) {
    fs.mkdirSync(path.join(lq, clip), { recursive: true });
    fs.mkdirSync(path.join(gt, clip), { recursive: true });
    const frames = names(n).map((f, t) => {
      const d = rgbFrame(S, S, t, seed);
      fs.writeFileSync(path.join(lq, clip, f), encodePng({ width: S, height: S, data: d }));
      return { width: S, height: S, data: d };
    });
    clips[clip] = frames;
    const sr = await upscaleFrames(frames, { model, device: gpu, chunkSize: n, overlap: 0 });
    const r = lcg(seed);
    names(n).forEach((f, t) => {
      const d = Uint8Array.from(sr[t].data);
      if (clip === 'calendar') for (let i = 0; i < d.length; i++) d[i] = Math.max(0, Math.min(255, d[i] + r(21) - 10));
      fs.writeFileSync(path.join(gt, clip, f), encodePng({ width: 4 * S, height: 4 * S, data: d }));
    });
  }
});
afterAll(() => {
  gpu?.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function expectedScores(clipNames: string[], gtRoot: string, o: MetricOptions, chunk?: number) {
  const m = new SequenceMetrics();
  for (const c of clipNames) {
    const frames = clips[c];
    const sr = await upscaleFrames(frames, { model, device: gpu, chunkSize: chunk ?? frames.length, overlap: 0 });
    names(frames.length).forEach((f, t) => {
      const g = decodePng(new Uint8Array(fs.readFileSync(path.join(gtRoot, c, f))), f);
      m.add(c, scoreFrame({ ...sr[t], channels: 3 }, { ...g, channels: 3 }, o));
    });
  }
  return m.result();
}

describe('msvsr eval', () => {
  it('REDS/Vid4 layout, RGB, one pass per clip: per clip means, mean over clips, +inf as 1e999', async () => {
    const r = await cli(['eval', '--lq', lq, '--gt', gt, '--weights', WEIGHTS, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/"psnr":1e999/);
    const j = JSON.parse(r.stdout) as { psnr: number; ssim: number; clips: Record<string, { psnr: number; ssim: number; frames: number }> };
    const want = await expectedScores(['calendar', 'city'], gt, {});
    expect(Object.keys(j.clips)).toEqual(['calendar', 'city']);
    expect(j.clips.calendar.frames).toBe(3);
    expect(j.clips.city).toEqual({ psnr: Infinity, ssim: 1, frames: 2 });
    expect(j.clips.calendar.psnr).toBeCloseTo(want.clips.calendar.psnr, 9);
    expect(j.clips.calendar.ssim).toBeCloseTo(want.clips.calendar.ssim, 12);
    // GT = output + uniform noise in [-10, 10] (clipped): MSE <= 36.7, PSNR >= 32.5 dB — a sanity range
    expect(j.clips.calendar.psnr).toBeGreaterThan(32.4);
    expect(j.clips.calendar.psnr).toBeLessThan(40);
    expect(j.psnr).toBe(Infinity); // np.mean over clips with an inf
    expect(j.ssim).toBeCloseTo((want.clips.calendar.ssim + 1) / 2, 12);
  });

  it('one sequence folder, --y-channel --crop-border 4 --chunk 2, text output', async () => {
    const r = await cli([
      'eval',
      '--lq',
      path.join(lq, 'calendar'),
      '--gt',
      path.join(gt, 'calendar'),
      '--weights',
      WEIGHTS,
      '--y-channel',
      '--crop-border',
      '4',
      '--chunk',
      '2',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const m = new SequenceMetrics();
    const sr = await upscaleFrames(clips.calendar, { model, device: gpu, chunkSize: 2, overlap: 0 });
    names(3).forEach((f, t) => {
      const g = decodePng(new Uint8Array(fs.readFileSync(path.join(gt, 'calendar', f))), f);
      m.add('calendar', scoreFrame({ ...sr[t], channels: 3 }, { ...g, channels: 3 }, { yChannel: true, cropBorder: 4 }));
    });
    const w = m.result();
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(`calendar\tPSNR ${w.psnr.toFixed(4)} dB\tSSIM ${w.ssim.toFixed(4)}\t(3 frames)`);
    expect(lines[1]).toBe(`mean\tPSNR ${w.psnr.toFixed(4)} dB\tSSIM ${w.ssim.toFixed(4)}\t(1 clips, 3 frames, Y, crop 4)`);
  });
});
