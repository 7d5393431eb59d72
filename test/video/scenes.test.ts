// Hard cuts and previews, on a lossless RGB clip with a cut at frame 7 (so the output, written as lossless
// RGB too, holds the network's exact 8-bit frames). The recurrence must not carry one scene into the next:
// the frames after the cut equal a run on the frames from the cut on, and the frames before it a run that
// ends there. A preview computes its frames exactly as the whole run does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Frame, getDevice, loadModel, upscaleFrames } from '../../src/index.js';
import { sceneScores } from '../../src/node/analyze.js';
import { bicubic } from '../../src/bicubic.js';
import { sideBySide } from '../../src/node/compare.js';
import { findFfmpeg } from '../../src/node/ffmpeg.js';
import { probeVideo } from '../../src/node/probe.js';
import { DEFAULT_SCENE_THRESHOLD } from '../../src/node/scenes.js';
import { chunkStarts } from '../../src/windows.js';
import { cli, decodeRgb, decodeRgbAs, ensureBuilt, ffmpeg, frameTimes, scratch, WEIGHTS } from './helpers.js';

const W = 32;
const H = 24;
const N = 14;
const CUT = 7;
let dir: string;
let cut: string; // testsrc2 for 7 frames, then a zooming Mandelbrot
let plain: string; // testsrc2 for 14 frames, no cut
let lq: Frame[];
let full: Uint8Array[];
const opts = ['--weights', WEIGHTS, '--chunk', '4', '--overlap', '1', '--codec', 'ffv1', '--pix-fmt', 'bgr0'];

beforeAll(async () => {
  ensureBuilt();
  dir = scratch('video-scenes');
  cut = path.join(dir, 'cut.mkv');
  ffmpeg([
    ...['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25`, '-f', 'lavfi', '-i', `mandelbrot=size=${W}x${H}:rate=25`],
    ...['-filter_complex', `[0:v]trim=end_frame=${CUT},setpts=PTS-STARTPTS[a];[1:v]trim=end_frame=${N - CUT},setpts=PTS-STARTPTS[b];[a][b]concat=n=2[v]`],
    ...['-map', '[v]', '-c:v', 'ffv1', '-pix_fmt', 'bgr0', cut],
  ]);
  plain = path.join(dir, 'plain.mkv');
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25`, '-frames:v', String(N), '-c:v', 'ffv1', '-pix_fmt', 'bgr0', plain]);
  lq = decodeRgb(cut, W, H).map((data) => ({ width: W, height: H, data }));
  expect(lq).toHaveLength(N);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('scene cuts', () => {
  it('scores: the cut stands out, a clip without cuts has none (no extra chunk boundaries)', async () => {
    const tools = findFfmpeg();
    const t0 = performance.now();
    const withCut = await sceneScores(tools, probeVideo(tools, cut), N);
    const ms = performance.now() - t0;
    const without = await sceneScores(tools, probeVideo(tools, plain), N);
    const others = withCut.filter((_, i) => i !== CUT);
    console.log(
      `scene scores: at the cut ${withCut[CUT].toFixed(3)}, elsewhere max ${Math.max(...others).toFixed(3)}; ` +
        `no-cut clip max ${Math.max(...without).toFixed(3)}; ${N} frames scored in ${ms.toFixed(0)} ms`,
    );
    expect(withCut[CUT]).toBeGreaterThanOrEqual(DEFAULT_SCENE_THRESHOLD);
    expect(Math.max(...others)).toBeLessThan(DEFAULT_SCENE_THRESHOLD);
    expect(Math.max(...without)).toBeLessThan(DEFAULT_SCENE_THRESHOLD);
    // the cost in chunks: with the cut [0 4 7 11] (4), without [0 4 8 12] (4); a clip without cuts: unchanged
    expect(chunkStarts(N, 4, [CUT])).toEqual([0, 4, 7, 11]);
    expect(chunkStarts(N, 4, [])).toEqual([0, 4, 8, 12]);
  });

  it('a cut restarts the chunks: frames after it equal a run that starts at the cut, frames before it a run that ends there', async () => {
    const out = path.join(dir, 'cut_x4.mkv');
    const r = await cli(['upscale', cut, '-o', out, ...opts, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).video).toMatchObject({ cuts: [CUT], range: [0, N] });
    full = decodeRgb(out, 4 * W, 4 * H);
    expect(full).toHaveLength(N);
    const model = await loadModel(WEIGHTS);
    const gpu = await getDevice();
    try {
      const run = (a: number, b: number, chunkSize = 4, overlap = 1) => upscaleFrames(lq.slice(a, b), { model, device: gpu, chunkSize, overlap });
      const want = [...(await run(0, CUT)), ...(await run(CUT, N))];
      for (let t = 0; t < N; t++) expect(Buffer.compare(Buffer.from(full[t]), Buffer.from(want[t].data)), `frame ${t}`).toBe(0);
      // a pass that reaches across the cut gives another frame after it (so this test can fail)
      const across = await run(CUT - 1, CUT + 1, 2, 0);
      expect(Buffer.compare(Buffer.from(across[1].data), Buffer.from(want[CUT].data))).not.toBe(0);
    } finally {
      gpu.destroy();
    }
  });

  it('a preview (--frames 5:10 --compare) holds the whole run’s frames 5..9, bicubic on the left, starting at 0', async () => {
    const out = path.join(dir, 'preview.mkv');
    const r = await cli(['upscale', cut, '-o', out, ...opts, '--frames', '5:10', '--compare', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ frames: 5, width: 8 * W, height: 4 * H, video: { range: [5, 10] } });
    const got = decodeRgb(out, 8 * W, 4 * H);
    expect(got).toHaveLength(5);
    for (let k = 0; k < 5; k++) {
      const want = sideBySide(bicubic(lq[5 + k]), { width: 4 * W, height: 4 * H, data: full[5 + k] });
      expect(Buffer.compare(Buffer.from(got[k]), Buffer.from(want.data)), `preview frame ${k}`).toBe(0);
    }
    const [tin, tout] = [frameTimes(cut), frameTimes(out)];
    for (let k = 0; k < 5; k++) expect(Math.abs(tout.seconds[k] - (tin.seconds[5 + k] - tin.seconds[5]))).toBeLessThanOrEqual(tout.tb);
  });

  it('a preview 1.8 s into an H.264 clip (keyframes every 10 frames, B-frames) seeks there and computes the frames of the whole run', async () => {
    const long = path.join(dir, 'long.mp4');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${W}x${H}:rate=25`,
      '-frames:v',
      '50',
      '-c:v',
      'libx264',
      '-qp',
      '0',
      '-g',
      '10',
      '-bf',
      '2',
      '-pix_fmt',
      'yuv420p',
      long,
    ]);
    const frames = decodeRgbAs(long, W, H).map((data): Frame => ({ width: W, height: H, data }));
    const out = path.join(dir, 'long_preview.mkv');
    // frames 45..46: chunk [44, 46) with overlap 1 runs the window [43, 47); the decoder seeks to 0.56 s
    const r = await cli([
      'upscale',
      long,
      '-o',
      out,
      '--weights',
      WEIGHTS,
      '--chunk',
      '2',
      '--overlap',
      '1',
      '--codec',
      'ffv1',
      '--pix-fmt',
      'bgr0',
      '--frames',
      '45:47',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const got = decodeRgb(out, 4 * W, 4 * H);
    expect(got).toHaveLength(2);
    const model = await loadModel(WEIGHTS);
    const gpu = await getDevice();
    try {
      // [44, 46) from the pass over [43, 47), and [46, 48) from the pass over [45, 49)
      const a = await upscaleFrames(frames.slice(43, 47), { model, device: gpu, chunkSize: 4, overlap: 0 });
      const b = await upscaleFrames(frames.slice(45, 49), { model, device: gpu, chunkSize: 4, overlap: 0 });
      expect(Buffer.compare(Buffer.from(got[0]), Buffer.from(a[2].data)), 'frame 45').toBe(0);
      expect(Buffer.compare(Buffer.from(got[1]), Buffer.from(b[1].data)), 'frame 46').toBe(0);
      expect(Buffer.compare(Buffer.from(got[0]), Buffer.from(b[0].data))).not.toBe(0); // the frames differ: the check can fail
    } finally {
      gpu.destroy();
    }
  });
});
