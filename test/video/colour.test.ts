// Bit depth and colour through the whole pipeline, with weights that make the network an exact bilinear x4:
// each output frame, downscaled x4 by area, must match the same downscale of the bilinear x4 of its input
// frame, both read by ffmpeg with the matrix and range the test knows the files hold. Losslessly encoded
// inputs and outputs, so what is measured is the conversion to RGB and back (rounding, 4:2:0 chroma).
//
// Tolerances (see docs/video.md for the measurements): 8-bit max 2 levels, mean 0.5 (measured 1.28 / 0.25);
// 10-bit max 6 levels of 1023, mean 0.6 (measured 4.47 / 0.37). A wrong range or matrix is far outside:
// the same output read as limited range is off by more than 10 levels.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bilinearWeights, cli, decodeFloat, ensureBuilt, ffmpeg, fidelity, frameTimes, probe, scratch } from './helpers.js';

const W = 32;
const H = 24;
let dir: string;
let weights: string;

beforeAll(() => {
  ensureBuilt();
  dir = scratch('video-colour');
  weights = bilinearWeights(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const videoStream = (file: string) => probe(file).streams.find((s) => s.codec_type === 'video')!;

describe('colour fidelity', () => {
  it('8-bit full-range BT.601 SD (tagged bt470bg primaries): read and written with its matrix and range, within 2 levels', async () => {
    const input = path.join(dir, 'sd601full.mkv');
    ffmpeg([
      ...['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25`, '-frames:v', '4'],
      ...['-vf', 'scale=out_color_matrix=bt601:out_range=pc,format=yuv420p', '-c:v', 'ffv1'],
      ...['-colorspace', 'smpte170m', '-color_range', 'pc', '-color_primaries', 'bt470bg', '-color_trc', 'smpte170m', input],
    ]);
    expect(videoStream(input)).toMatchObject({ pix_fmt: 'yuv420p', color_range: 'pc', color_space: 'smpte170m', color_primaries: 'bt470bg' });
    const out = path.join(dir, 'sd601full_x4.mkv');
    const r = await cli(['upscale', input, '-o', out, '--weights', weights, '--codec', 'ffv1', '--chunk', '2', '--overlap', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/does not tag/);
    expect(videoStream(out)).toMatchObject({
      codec_name: 'ffv1',
      pix_fmt: 'yuv420p',
      width: 4 * W,
      height: 4 * H,
      color_range: 'pc',
      color_space: 'smpte170m',
      color_primaries: 'bt470bg',
      color_transfer: 'smpte170m',
    });
    const full = { matrix: 'smpte170m', range: 'pc' };
    const got = decodeFloat(out, 4 * W, 4 * H, full);
    const e = fidelity(decodeFloat(input, W, H, full), got, W, H);
    console.log(`8-bit BT.601 full range: max ${e.max.toFixed(3)}, mean ${e.mean.toFixed(4)} levels`);
    expect(e.max).toBeLessThanOrEqual(2);
    expect(e.mean).toBeLessThanOrEqual(0.5);
    // the test can fail: had the range been taken as limited, the error would be far beyond the tolerance
    const wrong = fidelity(decodeFloat(input, W, H, { matrix: 'smpte170m', range: 'tv' }), got, W, H);
    expect(wrong.max).toBeGreaterThan(10);
  });

  it('10-bit HEVC, BT.2020 PQ: 16-bit RGB through the network, 10-bit HEVC out with the tags kept and an SDR warning; within 6 levels of 1023', async () => {
    const input = path.join(dir, 'hdr10.mkv');
    ffmpeg([
      ...['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25`, '-frames:v', '4', '-pix_fmt', 'yuv420p10le'],
      ...['-c:v', 'libx265', '-x265-params', 'lossless=1:log-level=error'],
      ...['-colorspace', 'bt2020nc', '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-color_range', 'tv', input],
    ]);
    const out = path.join(dir, 'hdr10_x4.mkv');
    const r = await cli([
      ...['upscale', input, '-o', out, '--weights', weights, '--codec', 'libx265', '--chunk', '2', '--overlap', '0', '--json'],
      ...['--encoder-args', '-x265-params lossless=1:log-level=error'],
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: .*hdr10\.mkv is HDR \(PQ\): its colour tags are kept, but the published weights were trained on SDR video/);
    expect(JSON.parse(r.stdout).video).toMatchObject({ codec: 'libx265', pixFmt: 'yuv420p10le' });
    expect(videoStream(out)).toMatchObject({
      codec_name: 'hevc',
      pix_fmt: 'yuv420p10le',
      color_range: 'tv',
      color_space: 'bt2020nc',
      color_primaries: 'bt2020',
      color_transfer: 'smpte2084',
    });
    const c = { matrix: 'bt2020', range: 'tv' };
    const input16 = decodeFloat(input, W, H, c);
    const e = fidelity(input16, decodeFloat(out, 4 * W, 4 * H, c), W, H, 10);
    console.log(`10-bit BT.2020: max ${e.max.toFixed(3)}, mean ${e.mean.toFixed(4)} levels of 1023`);
    expect(e.max).toBeLessThanOrEqual(6);
    expect(e.mean).toBeLessThanOrEqual(0.6);
    // 8 bits anywhere on the way would show: rounding the input's own values to 8 bits alone moves them by
    // more than the bound on the mean (about 1 level of 1023)
    let s8 = 0;
    let n8 = 0;
    for (const f of input16)
      for (const v of f) {
        s8 += Math.abs(Math.round(v * 255) / 255 - v) * 1023;
        n8++;
      }
    expect(s8 / n8).toBeGreaterThan(0.6);
  });

  it('a rotated phone clip (display matrix 90°): turned the way a player shows it, no rotation left, within 2 levels', async () => {
    const plain = path.join(dir, 'plain.mp4');
    ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=30`, '-frames:v', '3', '-c:v', 'libx264', '-crf', '0', '-pix_fmt', 'yuv420p', plain]);
    const input = path.join(dir, 'phone.mp4');
    ffmpeg(['-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', input]);
    expect(JSON.stringify(videoStream(input).side_data_list)).toMatch(/"rotation":90/);
    const out = path.join(dir, 'phone_x4.mp4');
    const r = await cli(['upscale', input, '-o', out, '--weights', weights, '--crf', '0', '--chunk', '3', '--overlap', '0']);
    expect(r.code, r.stderr).toBe(0);
    const v = videoStream(out);
    expect([v.width, v.height]).toEqual([4 * H, 4 * W]);
    expect(v.side_data_list).toBeUndefined();
    expect(v).toMatchObject({ color_space: 'smpte170m', color_range: 'tv' }); // untagged 24-line input: the BT.601 rule, now tagged
    const c = { matrix: 'smpte170m', range: 'tv' };
    // ffmpeg's own autorotation of the input is the reference
    const e = fidelity(decodeFloat(input, H, W, c), decodeFloat(out, 4 * H, 4 * W, c), H, W);
    console.log(`rotated 8-bit: max ${e.max.toFixed(3)}, mean ${e.mean.toFixed(4)} levels`);
    expect(e.max).toBeLessThanOrEqual(2);
    expect(frameTimes(out).seconds).toHaveLength(3);
  });
});

describe('interlaced input', () => {
  it('field order tt: deinterlaced with bwdif by default, with a notice; --no-deinterlace keeps the fields', async () => {
    const input = path.join(dir, 'interlaced.mkv');
    // 50 fields a second woven into 25 frames: moving content combs
    ffmpeg([
      ...['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=50`, '-vf', 'tinterlace=mode=interleave_top,setfield=tff'],
      ...['-frames:v', '4', '-c:v', 'ffv1', '-field_order', 'tt', '-pix_fmt', 'yuv420p', input],
    ]);
    expect(videoStream(input).field_order).toBe('tt');
    const c = { matrix: 'smpte170m', range: 'tv' };
    const woven = decodeFloat(input, W, H, c);
    const bwdif = decodeFloat(input, W, H, c, ['bwdif=mode=send_frame:parity=auto:deint=all']);
    const out = path.join(dir, 'interlaced_x4.mkv');
    const r = await cli(['upscale', input, '-o', out, '--weights', weights, '--codec', 'ffv1', '--chunk', '2', '--overlap', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /interlaced\.mkv is interlaced \(field order tt\): deinterlacing with bwdif, one frame per frame \(--no-deinterlace keeps the fields\)/,
    );
    const got = decodeFloat(out, 4 * W, 4 * H, c);
    expect(got).toHaveLength(4);
    const e = fidelity(bwdif, got, W, H);
    console.log(`deinterlaced: max ${e.max.toFixed(3)} against bwdif, ${fidelity(woven, got, W, H).max.toFixed(3)} against the woven frames`);
    expect(e.max).toBeLessThanOrEqual(2);
    expect(fidelity(woven, got, W, H).max).toBeGreaterThan(20);
    const kept = path.join(dir, 'woven_x4.mkv');
    // a preview by time: frames at 0 and 0.04 s
    const k = await cli([
      'upscale',
      input,
      '-o',
      kept,
      '--weights',
      weights,
      '--codec',
      'ffv1',
      '--chunk',
      '2',
      '--overlap',
      '0',
      '--no-deinterlace',
      '--start',
      '0',
      '--duration',
      '0.08',
    ]);
    expect(k.code, k.stderr).toBe(0);
    expect(k.stderr).not.toMatch(/deinterlacing/);
    expect(fidelity(woven.slice(0, 2), decodeFloat(kept, 4 * W, 4 * H, c), W, H).max).toBeLessThanOrEqual(2);
  });
});
