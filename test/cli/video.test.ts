// msvsr upscale on a video: ffmpeg pipes in and out, exact frame rate, audio carried over, and the frames equal
// to the API's output up to H.264 CRF 16. (test/video has the timestamps, streams, colour, cuts and resume.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel, upscaleFrames, type Frame } from '../../src/index.js';
import { frameTimestamps } from '../../src/node/analyze.js';
import { decideColour } from '../../src/node/colour.js';
import { Encoder } from '../../src/node/encode.js';
import { findFfmpeg } from '../../src/node/ffmpeg.js';
import { pixelFormat, probeVideo } from '../../src/node/probe.js';
import { WEIGHTS, cli, decodeRgbAs, decodeYuv420, ensureBuilt, ffmpeg, ffprobe, listAll, psnr8, scratch, toYuv420 } from './helpers.js';

const W = 48;
const H = 32;
let dir: string;
let input: string;

beforeAll(() => {
  ensureBuilt();
  dir = scratch('video');
  input = path.join(dir, 'in.mp4');
  // 6 frames of testsrc at 30000/1001 with a sine audio track
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=${W}x${H}:rate=30000/1001`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=44100',
    '-frames:v',
    '6',
    '-t',
    '0.2002',
    '-shortest',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    input,
  ]); // prettier-ignore
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('msvsr upscale <video>', () => {
  it('6 frames 32x48 at 30000/1001 with audio -> 6 frames 128x192, same exact rate, yuv420p H.264, audio; frames ~ upscaleFrames', async () => {
    const out = path.join(dir, 'out.mp4');
    const r = await cli(['upscale', input, '-o', out, '--weights', WEIGHTS, '--json']);
    expect(r.stderr).not.toMatch(/msvsr: .*error/i);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { frames: number; seconds: number; fps: number; device: string; output: string };
    expect(j.frames).toBe(6);
    expect(j.output).toBe(out);
    expect(j.seconds).toBeGreaterThan(0);
    expect(j.fps).toBeCloseTo(6 / j.seconds, 2);
    expect(j.device.length).toBeGreaterThan(0);
    // only the output is left: no temporary files
    expect(listAll(dir)).toEqual(['in.mp4', 'out.mp4']);

    const p = ffprobe(out);
    const v = p.streams.filter((s) => s.codec_type === 'video');
    const a = p.streams.filter((s) => s.codec_type === 'audio');
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({
      codec_name: 'h264',
      pix_fmt: 'yuv420p',
      width: 4 * W,
      height: 4 * H,
      r_frame_rate: '30000/1001',
      avg_frame_rate: '30000/1001',
      nb_read_frames: '6',
    });
    expect(a).toHaveLength(1);
    expect(a[0].codec_name).toBe('aac');
    const inAudio = ffprobe(input).streams.find((s) => s.codec_type === 'audio')!;
    expect(a[0].nb_read_frames).toBe(inAudio.nb_read_frames); // copied, not re-encoded

    // The same decoded input through the API, read as the CLI reads untagged SD video.
    const lq = decodeRgbAs(input, W, H);
    expect(lq).toHaveLength(6);
    const model = await loadModel(WEIGHTS);
    const want = await upscaleFrames(
      lq.map((d): Frame => ({ width: W, height: H, data: d })),
      { model, chunkSize: 10 },
    );
    // (1) The CLI hands ffmpeg exactly the API's frames: the API frames through the same encoder settings
    // and timestamps decode to the same pictures (x264 is deterministic).
    const tools = findFfmpeg();
    const info = probeVideo(tools, input);
    const { pts } = frameTimestamps(tools, info);
    const apiVideo = path.join(dir, 'api.mov');
    const enc = new Encoder(tools, {
      output: apiVideo,
      muxer: 'mov',
      width: 4 * W,
      height: 4 * H,
      bits: 8,
      timeBase: info.timeBase,
      firstPts: pts[0],
      codec: 'libx264',
      codecArgs: ['-crf', '16'],
      pixFmt: 'yuv420p',
      colour: decideColour({}, pixelFormat(tools, 'yuv420p'), H),
    });
    for (const [i, f] of want.entries()) await enc.write(f, pts[i]);
    await enc.finish();
    const got = decodeYuv420(out, 4 * W, 4 * H);
    const api = decodeYuv420(apiVideo, 4 * W, 4 * H);
    expect(got).toHaveLength(6);
    for (let t = 0; t < 6; t++) expect(Buffer.compare(Buffer.from(got[t]), Buffer.from(api[t])), `frame ${t}`).toBe(0);
    // (2) Against the exact 8-bit API frames, the loss is CRF 16's. The random-weights output is close to
    // per-pixel colour noise, so it is measured where H.264 stores it — BT.709 yuv420p, the conversion the
    // CLI asks ffmpeg for (BT.601 for this untagged SD input): bound 32 dB. (Measured in RGB, the
    // 4:2:0 chroma subsampling of that noise alone drops it to ~12 dB, which says nothing about the codec.)
    const ref = toYuv420(want, 4 * W, 4 * H, 'smpte170m');
    const n = 16 * W * H;
    for (let t = 0; t < 6; t++) {
      const y = psnr8(got[t].subarray(0, n), ref[t].subarray(0, n));
      const uv = psnr8(got[t].subarray(n), ref[t].subarray(n));
      expect(y, `frame ${t}: Y PSNR ${y.toFixed(2)} dB`).toBeGreaterThan(32);
      expect(uv, `frame ${t}: CbCr PSNR ${uv.toFixed(2)} dB`).toBeGreaterThan(32);
      // in order: frame t is not frame t+1
      if (t < 5) expect(psnr8(got[t].subarray(0, n), ref[t + 1].subarray(0, n))).toBeLessThan(y - 10);
    }
  });
});
