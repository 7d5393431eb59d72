// The decisions of a video job as pure functions, by hand: colour (tags and the untagged rule), the default
// output pixel format, encoder options, --encoder-args splitting, segments, the concat list's microseconds,
// frame timestamps from ffprobe's lines, preview ranges, scene scores and the resume manifest's differences.
import { describe, expect, it } from 'vitest';
import { parseTimestamps } from '../../src/node/analyze.js';
import { decoderArgs } from '../../src/node/decode.js';
import { encoderOptions, splitArgs } from '../../src/node/codecs.js';
import { decideColour, defaultPixFmt, fromRgbFilter, outputColour, toRgbFilter } from '../../src/node/colour.js';
import { concatList, ticksToUs } from '../../src/node/join.js';
import type { PixFmt } from '../../src/node/probe.js';
import { optionDiff } from '../../src/node/resume.js';
import { cutsFrom, sceneScore } from '../../src/node/scenes.js';
import { planSegments, segmentFramesFor } from '../../src/node/segments.js';
import { isVariableRate, parseTime, resolveRange } from '../../src/node/video-job.js';
import type { UpscaleCommandOptions } from '../../src/node/upscale-common.js';
import type { VideoInfo } from '../../src/node/probe.js';

const pix = (name: string, bits: number, rgb = false, chromaW = 1, chromaH = 1): PixFmt => ({ name, bits, rgb, chromaW, chromaH, components: 3 });
const YUV420 = pix('yuv420p', 8);
const YUV420_10 = pix('yuv420p10le', 10);

describe('colour', () => {
  it('untagged: BT.601 below 720 lines (bt470bg primaries at 576), BT.709 from 720; limited range; yuvj is full', () => {
    expect(decideColour({}, YUV420, 480)).toEqual({
      matrix: 'smpte170m',
      range: 'tv',
      primaries: 'smpte170m',
      transfer: 'smpte170m',
      assumed: ['matrix', 'range', 'primaries', 'transfer'],
    });
    expect(decideColour({}, YUV420, 576)).toMatchObject({ matrix: 'smpte170m', primaries: 'bt470bg' });
    expect(decideColour({}, YUV420, 719)).toMatchObject({ matrix: 'smpte170m' });
    expect(decideColour({}, YUV420, 720)).toMatchObject({ matrix: 'bt709', range: 'tv', primaries: 'bt709', transfer: 'bt709' });
    expect(decideColour({}, pix('yuvj420p', 8), 1080)).toMatchObject({ range: 'pc', assumed: ['matrix', 'primaries', 'transfer'] });
  });

  it('tags are kept; HDR is flagged; RGB is gbr/full; a matrix the scaler cannot convert is refused', () => {
    const hdr = decideColour({ matrix: 'bt2020nc', range: 'tv', primaries: 'bt2020', transfer: 'smpte2084' }, YUV420_10, 2160);
    expect(hdr).toEqual({ matrix: 'bt2020nc', range: 'tv', primaries: 'bt2020', transfer: 'smpte2084', assumed: [], hdr: 'PQ' });
    expect(decideColour({ transfer: 'arib-std-b67' }, YUV420_10, 1080).hdr).toBe('HLG');
    expect(decideColour({ matrix: 'smpte170m', range: 'pc' }, YUV420, 1080)).toMatchObject({ matrix: 'smpte170m', range: 'pc' });
    expect(decideColour({}, pix('gbrp', 8, true, 0, 0), 480)).toMatchObject({ matrix: 'gbr', range: 'pc' });
    expect(() => decideColour({ matrix: 'ycgco' }, YUV420, 480, 'in.mkv')).toThrow(/in\.mkv: colour matrix ycgco cannot be converted by ffmpeg's scaler/);
    expect(() => decideColour({ matrix: 'bt2020c' }, YUV420, 480)).toThrow(/bt2020c/);
  });

  it("the output keeps the input's colour; an RGB output is gbr/full; an RGB input into YUV follows the rule", () => {
    const c = decideColour({ matrix: 'bt470bg', range: 'pc' }, YUV420, 576);
    expect(outputColour(c, YUV420, 576)).toBe(c);
    expect(outputColour(c, pix('bgr0', 8, true, 0, 0), 576)).toMatchObject({ matrix: 'gbr', range: 'pc', primaries: c.primaries });
    const rgb = decideColour({}, pix('gbrp', 8, true, 0, 0), 1080);
    expect(outputColour(rgb, YUV420, 1080)).toMatchObject({ matrix: 'bt709', range: 'tv' });
  });

  it('the filters name the matrix and range both ways, in the scaler spelling', () => {
    const c = decideColour({ matrix: 'bt470bg', range: 'pc' }, YUV420, 576);
    expect(toRgbFilter(c, 16)).toBe('scale=in_color_matrix=bt470:in_range=pc:flags=bicubic+accurate_rnd+full_chroma_int+full_chroma_inp,format=rgb48be');
    expect(fromRgbFilter(c, 'yuv420p')).toBe(
      'scale=out_color_matrix=bt470:out_range=pc:flags=bicubic+accurate_rnd+full_chroma_int+full_chroma_inp,format=yuv420p',
    );
    expect(toRgbFilter({ ...c, matrix: 'gbr' }, 8)).toBe('scale=flags=bicubic+accurate_rnd+full_chroma_int+full_chroma_inp,format=rgb24');
  });

  it("default pixel format: the input's chroma layout, 10-bit above 8 bits, what the encoder has", () => {
    const x264 = ['yuv420p', 'yuvj420p', 'yuv422p', 'yuv444p', 'yuv420p10le', 'yuv422p10le', 'yuv444p10le'];
    expect(defaultPixFmt(YUV420, x264)).toBe('yuv420p');
    expect(defaultPixFmt(YUV420_10, x264)).toBe('yuv420p10le');
    expect(defaultPixFmt(pix('yuv422p12le', 12, false, 1, 0), x264)).toBe('yuv422p10le');
    expect(defaultPixFmt(pix('gbrp', 8, true, 0, 0), x264)).toBe('yuv444p');
    expect(defaultPixFmt(YUV420_10, ['yuv420p', 'yuv420p10le'])).toBe('yuv420p10le'); // libsvtav1
    expect(defaultPixFmt(YUV420, ['yuv422p10le', 'yuv444p10le'])).toBe('yuv422p10le'); // prores_ks: deeper, never shallower
    expect(defaultPixFmt(pix('yuv444p16le', 16, false, 0, 0), ['yuv420p', 'yuv444p'])).toBe('yuv444p');
  });
});

describe('encoders', () => {
  it('CRF and preset per encoder; refused where the encoder has none', () => {
    expect(encoderOptions('libx264', {})).toEqual(['-crf', '16']);
    expect(encoderOptions('libx264', { crf: 20, preset: 'slow' })).toEqual(['-crf', '20', '-preset', 'slow']);
    expect(encoderOptions('libvpx-vp9', { crf: 30 })).toEqual(['-row-mt', '1', '-deadline', 'good', '-cpu-used', '4', '-crf', '30', '-b:v', '0']);
    expect(encoderOptions('ffv1', {})).toEqual(['-level', '3', '-slicecrc', '1']);
    expect(() => encoderOptions('ffv1', { crf: 10 })).toThrow(/--crf: ffv1 \(FFV1, lossless\) has no CRF/);
    expect(() => encoderOptions('prores_ks', { preset: 'fast' })).toThrow(/--preset: prores_ks \(ProRes\) has no speed preset/);
    expect(() => encoderOptions('libx264', { crf: 52 })).toThrow(/--crf 52: libx264 takes 0\.\.51/);
    expect(() => encoderOptions('mpeg2video', {})).toThrow(/--codec mpeg2video: msvsr drives libx264, libx265/);
  });

  it('--encoder-args splits like a shell: quotes, escapes, empty strings', () => {
    expect(splitArgs('-tune film  -x264-params "keyint=60:bframes=2"')).toEqual(['-tune', 'film', '-x264-params', 'keyint=60:bframes=2']);
    expect(splitArgs(`-metadata 'title=a b' -x ""`)).toEqual(['-metadata', 'title=a b', '-x', '']);
    expect(splitArgs('a\\ b "c\\"d"')).toEqual(['a b', 'c"d']);
    expect(splitArgs('   ')).toEqual([]);
    expect(() => splitArgs('-x "open')).toThrow(/unterminated " quote/);
  });
});

describe('segments', () => {
  it('whole chunks up to the segment length, restarting at cuts, clipped to the range', () => {
    expect(planSegments(0, 12, 12, 2, [], 4)).toEqual([
      { index: 0, from: 0, start: 0, end: 4 },
      { index: 1, from: 4, start: 4, end: 8 },
      { index: 2, from: 8, start: 8, end: 12 },
    ]);
    // cut at 5: chunks [0,2) [2,4) [4,5) [5,7) [7,9) [9,11) [11,12)
    expect(planSegments(0, 12, 12, 2, [5], 4)).toEqual([
      { index: 0, from: 0, start: 0, end: 4 },
      { index: 1, from: 4, start: 4, end: 7 },
      { index: 2, from: 7, start: 7, end: 11 },
      { index: 3, from: 11, start: 11, end: 12 },
    ]);
    // a preview of frames [3, 9): computed from the chunk start at 2
    expect(planSegments(3, 9, 12, 2, [], 4)).toEqual([
      { index: 0, from: 2, start: 3, end: 6 },
      { index: 1, from: 6, start: 6, end: 9 },
    ]);
    expect(planSegments(0, 5, 5, 10, [], 10)).toEqual([{ index: 0, from: 0, start: 0, end: 5 }]);
  });

  it('the default length: whole chunks of about 3 minutes at the measured pace, at least one', () => {
    expect(segmentFramesFor(10, 60)).toBe(30);
    expect(segmentFramesFor(10, 400)).toBe(10);
    expect(segmentFramesFor(4, 0.5)).toBe(1440);
  });
});

describe('timestamps', () => {
  it("ffprobe's frame lines: best effort, else pts, else dts, else one frame on; never backwards", () => {
    const text = [
      'frame|best_effort_timestamp=500|pts=500|pkt_dts=500|side_data|',
      '',
      'frame|best_effort_timestamp=540|pts=540|pkt_dts=N/A',
      'frame|best_effort_timestamp=N/A|pts=620|pkt_dts=N/A',
      'frame|best_effort_timestamp=N/A|pts=N/A|pkt_dts=N/A',
      'frame|best_effort_timestamp=600|pts=600|pkt_dts=600',
      'frame|best_effort_timestamp=700|pts=700|pkt_dts=700',
    ].join('\n');
    expect(parseTimestamps(text, 40)).toEqual({ pts: [500, 540, 620, 660, 661, 700], repaired: 2 });
  });

  it('the concat list: each segment lasts until the next one starts, in whole microseconds', () => {
    const tb = { num: 1, den: 90000 };
    expect(ticksToUs(1, tb)).toBe(11n); // 11.1
    expect(ticksToUs(5, tb)).toBe(56n); // 55.6
    expect(ticksToUs(-5, tb)).toBe(-56n);
    expect(ticksToUs(9, { num: 1, den: 18 })).toBe(500000n);
    expect(concatList(['seg-00000.mov', "it's.mov", 'c.mov'], [45000, 90005, 180000], tb)).toBe(
      ['ffconcat version 1.0', "file 'seg-00000.mov'", 'duration 0.500056', "file 'it'\\''s.mov'", 'duration 0.999944', "file 'c.mov'", ''].join('\n'),
    );
  });
});

describe('preview ranges', () => {
  const info = { timeBase: { num: 1, den: 1000 } } as VideoInfo;
  const pts = [500, 540, 580, 620, 740, 780, 820];
  const o = (x: Partial<UpscaleCommandOptions>) => ({ input: 'in', output: 'out', ...x }) as UpscaleCommandOptions;

  it('--frames A:B, --start/--duration from the first frame, [h:]m:s times', () => {
    expect(resolveRange(o({}), pts, info)).toEqual([0, 7]);
    expect(resolveRange(o({ frames: [2, 5] }), pts, info)).toEqual([2, 5]);
    expect(resolveRange(o({ start: 0.08 }), pts, info)).toEqual([2, 7]);
    expect(resolveRange(o({ start: 0.1, duration: 0.2 }), pts, info)).toEqual([3, 6]); // 0.12, 0.24, 0.28 (0.32 is out)
    expect(resolveRange(o({ duration: 0.05 }), pts, info)).toEqual([0, 2]);
    expect(() => resolveRange(o({ frames: [3, 9] }), pts, info)).toThrow(/--frames 3:9: the video has 7 frames/);
    expect(() => resolveRange(o({ start: 1 }), pts, info)).toThrow(/--start 1: no frame there \(the video lasts 0\.320 s/);
    expect(() => resolveRange(o({ frames: [0, 2], start: 0 }), pts, info)).toThrow(/give one of them/);
    expect(parseTime('12.5', '--start')).toBe(12.5);
    expect(parseTime('1:02.5', '--start')).toBe(62.5);
    expect(parseTime('1:00:00', '--start')).toBe(3600);
    expect(() => parseTime('1m', '--start')).toThrow(/--start '1m': not a time/);
  });
});

describe('scene scores', () => {
  const frame = (f: (i: number) => number) => Uint8Array.from({ length: 1024 }, (_, i) => f(i));

  it('by hand: min(histogram distance, 2 x mean pixel difference)', () => {
    const black = frame(() => 0);
    const white = frame(() => 255);
    expect(sceneScore(black, white)).toBe(1); // disjoint histograms, d = 1
    expect(sceneScore(black, black)).toBe(0);
    // half the pixels from bin 0 to bin 15: h = 0.5; d = 0.5 -> min(0.5, 1)
    expect(
      sceneScore(
        black,
        frame((i) => (i < 512 ? 255 : 0)),
      ),
    ).toBe(0.5);
    // every pixel +8 levels, across a bin edge for half of them: h = 0.5, 2d = 16/255
    expect(
      sceneScore(
        frame((i) => (i % 2 ? 4 : 12)),
        frame((i) => (i % 2 ? 12 : 20)),
      ),
    ).toBeCloseTo(16 / 255, 12);
    // motion: the same pixels shifted: h = 0, whatever d
    expect(
      sceneScore(
        frame((i) => i % 256),
        frame((i) => (i + 100) % 256),
      ),
    ).toBe(0);
    expect(cutsFrom([0, 0.1, 0.31, 0.29, 0.3, 1], 0.3)).toEqual([2, 4, 5]);
  });
});

describe('resume manifests', () => {
  it('names what changed as the user spells it', () => {
    const labels = { chunk: '--chunk', crf: '--crf', drop: '--drop', weights: '=other weights' };
    expect(optionDiff({ chunk: 2, crf: null, drop: ['audio'], weights: 'a' }, { chunk: 2, crf: null, drop: ['audio'], weights: 'a' }, labels)).toEqual([]);
    expect(optionDiff({ chunk: 3, crf: null, drop: [], weights: 'a' }, { chunk: 2, crf: 18, drop: ['audio', 'data'], weights: 'b' }, labels)).toEqual([
      '--chunk 3 (now 2)',
      '--crf default (now 18)',
      '--drop none (now audio,data)',
      'other weights',
    ]);
  });
});

describe('the decoder', () => {
  it('a range: seek first, keep the stream timestamps, deinterlace, then trim, turn, convert; every frame passed through', () => {
    const info = { file: 'in.mp4', streamIndex: 1, rotation: 270 } as VideoInfo;
    const colour = decideColour({}, YUV420, 480);
    const a = decoderArgs({ info, colour, bits: 8, deinterlace: true, range: { startPts: 1000, endPts: 2000, seek: 0.56 } });
    expect(a.join(' ')).toBe(
      '-nostdin -hide_banner -v error -ss 0.560000 -noaccurate_seek -copyts -noautorotate -i in.mp4 -map 0:1 -an -sn -dn ' +
        '-vf bwdif=mode=send_frame:parity=auto:deint=all,trim=start_pts=1000:end_pts=2000,transpose=cclock,' +
        'scale=in_color_matrix=smpte170m:in_range=tv:flags=bicubic+accurate_rnd+full_chroma_int+full_chroma_inp,format=rgb24 ' +
        '-fps_mode passthrough -c:v ppm -f image2pipe pipe:1',
    );
    const whole = decoderArgs({ info: { ...info, rotation: 0 }, colour, bits: 16, deinterlace: false });
    expect(whole).not.toContain('-ss');
    expect(whole[whole.indexOf('-vf') + 1]).toBe(
      'scale=in_color_matrix=smpte170m:in_range=tv:flags=bicubic+accurate_rnd+full_chroma_int+full_chroma_inp,format=rgb48be',
    );
  });
});

describe('variable frame rate', () => {
  it('rounding of a constant rate is not a variable rate; real gaps are', () => {
    const steps = (d: number[]) => {
      const t = [0];
      for (const x of d) t.push(t[t.length - 1] + x);
      return t;
    };
    expect(isVariableRate(steps([40, 40, 40, 40]))).toBe(false); // 25 fps in ms
    expect(isVariableRate(steps([33, 34, 33, 33, 34]))).toBe(false); // 29.97 fps in ms
    expect(isVariableRate(steps([528, 544, 528, 528, 544]))).toBe(false); // ms timestamps in 1/16000
    expect(isVariableRate(steps([40, 120, 80, 40]))).toBe(true); // the VFR clip of test/video/streams.test.ts
    expect(isVariableRate(steps([1001, 1001, 2002]))).toBe(true); // one dropped frame at 30000/1001
    expect(isVariableRate([])).toBe(false);
    expect(isVariableRate([5])).toBe(false);
  });
});
