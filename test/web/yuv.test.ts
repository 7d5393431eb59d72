// The app's YUV -> RGB conversion (web/yuv.ts) against ffmpeg's scaler with the filter the command line uses
// (src/node/colour.ts: the matrix as tagged or by the rule, bicubic chroma, accurate rounding, full chroma
// interpolation), on ffmpeg's own YUV of a test pattern with sharp colour edges. GPU-free and browser-free.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { colourOf, yuvToRgba } from '../../web/yuv.js';
import { hasCommand } from './helpers.js';

const W = 48;
const H = 32;
const FLAGS = 'bicubic+accurate_rnd+full_chroma_int+full_chroma_inp';
const ff = (args: string[], input?: Buffer) => execFileSync('ffmpeg', ['-v', 'error', ...args], { input, maxBuffer: 1 << 26 });

interface Case {
  pix: string;
  format: string;
  /** The matrix tag the stream carries (undefined: untagged, so the rule's BT.601 for 32 lines). */
  tag?: string;
  fullRange: boolean;
  /** What ffmpeg's scaler is told: the tag, or what the rule picks. */
  sws: string;
}

const CASES: Case[] = [
  { pix: 'yuv420p', format: 'I420', fullRange: false, sws: 'smpte170m' },
  { pix: 'yuv420p', format: 'I420', tag: 'bt709', fullRange: false, sws: 'bt709' },
  { pix: 'yuv420p', format: 'I420', tag: 'bt709', fullRange: true, sws: 'bt709' },
  { pix: 'yuv422p', format: 'I422', tag: 'bt709', fullRange: false, sws: 'bt709' },
  { pix: 'yuv444p', format: 'I444', fullRange: false, sws: 'smpte170m' },
  { pix: 'nv12', format: 'NV12', tag: 'bt709', fullRange: false, sws: 'bt709' },
  { pix: 'yuv420p10le', format: 'I420P10', tag: 'bt2020-ncl', fullRange: false, sws: 'bt2020' },
];

describe.skipIf(!hasCommand('ffmpeg'))('web/yuv.ts: YUV frames to RGB as the command line converts them', () => {
  it('the rule: untagged is BT.601 below 720 lines and BT.709 from 720; tags win; range limited unless tagged', () => {
    expect(colourOf({}, 576)?.name).toBe('BT.601');
    expect(colourOf({}, 720)?.name).toBe('BT.709');
    expect(colourOf({ matrix: 'bt709' }, 480)).toMatchObject({ name: 'BT.709', tagged: true, fullRange: false });
    expect(colourOf({ matrix: 'smpte170m', fullRange: true }, 1080)).toMatchObject({ kr: 0.299, kb: 0.114, fullRange: true });
    expect(colourOf({ matrix: 'rgb' }, 1080)).toBeUndefined(); // left to the browser
  });

  for (const c of CASES) {
    it(`${c.pix}, ${c.tag ?? 'untagged'}, ${c.fullRange ? 'full' : 'limited'} range: within ffmpeg's rounding of its scaler`, () => {
      const range = c.fullRange ? 'pc' : 'tv';
      const yuv = ff([
        '-f',
        'lavfi',
        '-i',
        `testsrc2=size=${W}x${H}:rate=25`,
        '-frames:v',
        '1',
        '-vf',
        `scale=out_color_matrix=${c.sws}:out_range=${range},format=${c.pix}`,
        '-f',
        'rawvideo',
        '-',
      ]);
      const want = ff(
        [
          '-f',
          'rawvideo',
          '-pix_fmt',
          c.pix,
          '-s',
          `${W}x${H}`,
          '-i',
          '-',
          '-vf',
          `scale=in_color_matrix=${c.sws}:in_range=${range}:flags=${FLAGS},format=rgb24`,
          '-f',
          'rawvideo',
          '-',
        ],
        yuv,
      );
      const bytes = c.pix.endsWith('10le') ? 2 : 1;
      const sx = /420|422|nv12/.test(c.pix) ? 2 : 1;
      const sy = /420|nv12/.test(c.pix) ? 2 : 1;
      const cw = (W / sx) * bytes;
      const chroma = (W / sx) * (H / sy) * bytes;
      const luma = W * H * bytes;
      const layout =
        c.format === 'NV12'
          ? [
              { offset: 0, stride: W },
              { offset: luma, stride: W },
            ]
          : [
              { offset: 0, stride: W * bytes },
              { offset: luma, stride: cw },
              { offset: luma + chroma, stride: cw },
            ];
      const colour = colourOf({ matrix: c.tag, fullRange: c.fullRange }, H)!;
      const got = yuvToRgba({ format: c.format, width: W, height: H, data: new Uint8Array(yuv), layout }, colour);
      let sum = 0;
      let over1 = 0;
      for (let i = 0; i < W * H; i++) {
        for (let k = 0; k < 3; k++) {
          const d = Math.abs(got[i * 4 + k] - want[i * 3 + k]);
          sum += d;
          if (d > 1) over1++;
        }
      }
      // Measured: mean 0.001-0.07, at most 1.6 % of values more than 1 apart (on the pattern's sharp colour
      // edges, where ffmpeg's fixed-point filter rounds differently). A wrong matrix, range or chroma siting
      // gives a mean of 1-4.
      expect(sum / (W * H * 3)).toBeLessThanOrEqual(0.15);
      expect(over1 / (W * H * 3)).toBeLessThanOrEqual(0.03);
    });
  }
});
