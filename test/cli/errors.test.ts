// Bad input gets a clear message, exit code 1, and leaves nothing behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodePng } from '../../src/node/png.js';
import { WEIGHTS, cli, ensureBuilt, ffmpeg, listAll, rgbFrame, scratch } from './helpers.js';

let dir: string;
let good: string; // a valid 16x16 PNG
let frames: string; // a valid folder of 3 frames

beforeAll(() => {
  ensureBuilt();
  dir = scratch('errors');
  good = path.join(dir, 'good.png');
  fs.writeFileSync(good, encodePng({ width: 16, height: 16, data: rgbFrame(16, 16, 0) }));
  frames = path.join(dir, 'frames');
  fs.mkdirSync(frames);
  for (let t = 0; t < 3; t++) fs.writeFileSync(path.join(frames, `${t}.png`), encodePng({ width: 16, height: 16, data: rgbFrame(16, 16, t) }));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A fresh output folder; after a failure it must still be empty. */
function outDir(tag: string): string {
  const d = path.join(dir, `out-${tag}`);
  fs.mkdirSync(d);
  return d;
}

async function fails(args: string[], message: RegExp, o: { env?: NodeJS.ProcessEnv; clean?: string } = {}): Promise<void> {
  const r = await cli(args, { env: o.env });
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(1);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  if (o.clean) expect(listAll(o.clean)).toEqual([]);
}

describe('msvsr upscale: bad input', () => {
  it('missing path', async () => {
    const o = outDir('missing');
    await fails(['upscale', path.join(dir, 'nope.mp4'), '-o', path.join(o, 'x.mp4'), '--weights', WEIGHTS], /nope\.mp4: no such file or directory/, {
      clean: o,
    });
  });

  it('not an image or a video', async () => {
    const f = path.join(dir, 'notes.txt');
    fs.writeFileSync(f, 'these are not the frames you are looking for\n');
    const o = outDir('text');
    await fails(['upscale', f, '-o', path.join(o, 'x.mp4'), '--weights', WEIGHTS], /notes\.txt: not a PNG image or a video ffmpeg can read/, { clean: o });
    const empty = path.join(dir, 'empty.mp4');
    fs.writeFileSync(empty, '');
    await fails(['upscale', empty, '-o', path.join(o, 'x.mp4'), '--weights', WEIGHTS], /empty\.mp4: the file is empty/, { clean: o });
  });

  it('no video stream (audio only)', async () => {
    const wav = path.join(dir, 'tone.wav');
    ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.1', wav]);
    const o = outDir('audio');
    await fails(['upscale', wav, '-o', path.join(o, 'x.mp4'), '--weights', WEIGHTS], /tone\.wav: no video stream \(streams: audio\)/, { clean: o });
  });

  it('zero frames: a video without frames, a folder without PNGs', async () => {
    const y4m = path.join(dir, 'zero.y4m');
    fs.writeFileSync(y4m, 'YUV4MPEG2 W48 H32 F25:1 Ip A1:1 C420jpeg\n'); // a video stream, no frame
    const o = outDir('zero');
    await fails(['upscale', y4m, '-o', path.join(o, 'x.mp4'), '--weights', WEIGHTS], /zero\.y4m: the video has no frames \(zero frames decoded\)/, {
      clean: o,
    });
    const emptyDir = path.join(dir, 'no-frames');
    fs.mkdirSync(emptyDir);
    fs.writeFileSync(path.join(emptyDir, 'readme.txt'), 'x');
    await fails(['upscale', emptyDir, '-o', path.join(o, 'frames')], /no-frames: no PNG frames \(zero frames\)/, { clean: o });
  });

  it('frames of different sizes: names the first offender', async () => {
    const mixed = path.join(dir, 'mixed');
    fs.mkdirSync(mixed);
    fs.writeFileSync(path.join(mixed, '1.png'), encodePng({ width: 16, height: 16, data: rgbFrame(16, 16, 0) }));
    fs.writeFileSync(path.join(mixed, '2.png'), encodePng({ width: 16, height: 16, data: rgbFrame(16, 16, 1) }));
    fs.writeFileSync(path.join(mixed, '10.png'), encodePng({ width: 20, height: 16, data: rgbFrame(20, 16, 2) }));
    fs.writeFileSync(path.join(mixed, '11.png'), encodePng({ width: 24, height: 16, data: rgbFrame(24, 16, 3) }));
    const o = outDir('mixed');
    await fails(['upscale', mixed, '-o', path.join(o, 'x'), '--weights', WEIGHTS], /10\.png: frames differ in size: 10\.png is 20x16 but 1\.png is 16x16/, {
      clean: o,
    });
  });

  it('corrupt PNG: a single file, and one frame in the middle of a folder (after a chunk was written)', async () => {
    const bytes = fs.readFileSync(good);
    const corrupt = Buffer.from(bytes);
    corrupt[corrupt.length - 20] ^= 0x55; // inside the image data: the CRC no longer matches
    const one = path.join(dir, 'corrupt.png');
    fs.writeFileSync(one, corrupt);
    const o = outDir('corrupt');
    await fails(['upscale', one, '-o', path.join(o, 'x.png'), '--weights', WEIGHTS], /corrupt\.png: corrupt PNG/, { clean: o });
    const header = path.join(dir, 'header.png');
    fs.writeFileSync(header, bytes.subarray(0, 20));
    await fails(['upscale', header, '-o', path.join(o, 'x.png'), '--weights', WEIGHTS], /header\.png: corrupt PNG \(truncated header\)/, { clean: o });
    // frames 0 1 | 2 3 with 2.png truncated after a valid header: chunk [0 1] is written into the hidden
    // work folder, then 2.png fails — and the work folder goes too.
    const seq = path.join(dir, 'seq-corrupt');
    fs.mkdirSync(seq);
    for (let t = 0; t < 4; t++) {
      const png = encodePng({ width: 16, height: 16, data: rgbFrame(16, 16, t) });
      fs.writeFileSync(path.join(seq, `${t}.png`), t === 2 ? png.subarray(0, png.length - 40) : png);
    }
    await fails(['upscale', seq, '-o', path.join(o, 'frames'), '--weights', WEIGHTS, '--chunk', '2'], /2\.png: corrupt PNG/, { clean: o });
  });

  it('unwritable output, output over the input, an existing output', async () => {
    const o = outDir('unwritable');
    await fails(['upscale', good, '-o', path.join(good, 'x.png'), '--weights', WEIGHTS], /cannot write .*good\.png\/x\.png: .*good\.png is not a folder/);
    await fails(['upscale', good, '-o', path.join(o, 'no', 'such', 'x.png'), '--weights', WEIGHTS], /cannot write .*: the folder .*no\/such does not exist/, {
      clean: o,
    });
    await fails(['upscale', good, '-o', good, '--weights', WEIGHTS, '--overwrite'], /good\.png: the output would overwrite the input/);
    await fails(['upscale', frames, '-o', frames, '--weights', WEIGHTS, '--overwrite'], /frames: the output would overwrite the input/);
    await fails(['upscale', frames, '-o', `${frames}/./`, '--weights', WEIGHTS, '--resume'], /the output would overwrite the input/);
    const existing = path.join(o, 'exists.png');
    fs.writeFileSync(existing, 'keep me');
    await fails(['upscale', good, '-o', existing, '--weights', WEIGHTS], /exists\.png: already exists \(use --overwrite to replace it\)/);
    expect(fs.readFileSync(existing, 'utf8')).toBe('keep me');
    fs.rmSync(existing);
    expect(listAll(dir).filter((n) => /(^|\/)\./.test(n))).toEqual([]); // no hidden temporary files anywhere
  });

  it('wrong output kind for the input; --resume where it does not apply', async () => {
    const o = outDir('kind');
    const video = path.join(dir, 'v.mp4');
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=16x16:rate=5', '-frames:v', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', video]);
    await fails(['upscale', video, '-o', path.join(o, 'x.png'), '--weights', WEIGHTS], /x\.png: a video input gives a video output; use one of \.mp4 \.mkv/, {
      clean: o,
    });
    await fails(['upscale', good, '-o', path.join(o, 'x.mp4'), '--weights', WEIGHTS], /a PNG input gives a PNG output/, { clean: o });
    await fails(['upscale', frames, '-o', path.join(o, 'x.mp4'), '--weights', WEIGHTS], /x\.mp4: a folder of frames gives a folder of frames/, { clean: o });
    await fails(['upscale', good, '-o', path.join(o, 'x.png'), '--weights', WEIGHTS, '--resume'], /--resume applies to videos and frame folders/, { clean: o });
    await fails(
      ['upscale', good, '-o', path.join(o, 'x.png'), '--weights', WEIGHTS, '--codec', 'libx265', '--frames', '0:1'],
      /--codec, --frames: apply to a video input; .*good\.png is a PNG/,
      {
        clean: o,
      },
    );
    fs.writeFileSync(path.join(o, 'file'), 'x');
    await fails(['upscale', frames, '-o', path.join(o, 'file'), '--weights', WEIGHTS], /file: exists and is not a folder/);
  });

  it('ffmpeg missing: says how to install it', async () => {
    const o = outDir('ffmpeg');
    const video = path.join(dir, 'v2.mp4');
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=16x16:rate=5', '-frames:v', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', video]);
    await fails(
      ['upscale', video, '-o', path.join(o, 'x.mp4'), '--weights', WEIGHTS],
      /ffmpeg was not found on PATH.*apt-get install ffmpeg.*brew install ffmpeg.*winget install ffmpeg/,
      {
        env: { PATH: path.join(dir, 'empty-bin'), MSVSR_FFMPEG: '' },
        clean: o,
      },
    );
    await fails(
      ['upscale', video, '-o', path.join(o, 'x.mp4'), '--weights', WEIGHTS],
      /MSVSR_FFMPEG=\/nonexistent\/ffmpeg: not an executable file\. Install ffmpeg/,
      {
        env: { MSVSR_FFMPEG: '/nonexistent/ffmpeg' },
        clean: o,
      },
    );
  });

  it('bad weights and options', async () => {
    const o = outDir('weights');
    const txt = path.join(dir, 'weights.txt');
    fs.writeFileSync(txt, 'not weights');
    await fails(
      ['upscale', good, '-o', path.join(o, 'x.png'), '--weights', txt],
      /weights\.txt: not a \.pdparams \(pickle protocol 2–5\) or safetensors file/,
      { clean: o },
    );
    await fails(['upscale', good, '-o', path.join(o, 'x.png'), '--weights', path.join(dir, 'none.pdparams')], /weights .*none\.pdparams: no such file/, {
      clean: o,
    });
    await fails(['upscale', good, '-o', path.join(o, 'x.png'), '--chunk', '0'], /option '-c, --chunk <n>' argument '0' is invalid\. must be an integer >= 1/, {
      clean: o,
    });
    await fails(['upscale', good, '-o', path.join(o, 'x.png'), '--precision', 'f64'], /argument 'f64' is invalid\. --precision 'f64': use 'f32' or 'f16'/, {
      clean: o,
    });
  });
});

describe('msvsr upscale <video>: refused before any work', () => {
  let video: string;
  beforeAll(() => {
    video = path.join(dir, 'clip.mkv');
    const meta = path.join(dir, 'chapters.txt');
    fs.writeFileSync(meta, ';FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=100\ntitle=One\n');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=16x16:rate=25',
      '-i',
      meta,
      '-map',
      '0:v',
      '-map_chapters',
      '1',
      '-frames:v',
      '4',
      '-vf',
      "setpts='PTS+if(gte(N\\,2)\\,0.1/TB\\,0)'",
      '-fps_mode',
      'passthrough',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      video,
    ]);
  });

  it('an encoder the local ffmpeg lacks: names the ones it has', async () => {
    const o = outDir('no-encoder');
    // an ffmpeg whose encoder list has no libx265 (everything else is the real one)
    const bin = path.join(dir, 'fake-bin');
    fs.mkdirSync(bin);
    const real = spawnSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).stdout.trim();
    const fake = path.join(bin, 'ffmpeg');
    fs.writeFileSync(
      fake,
      `#!/bin/sh\nif [ "$3" = "-encoders" ] || [ "$4" = "-encoders" ]; then "${real}" "$@" | grep -v libx265; else exec "${real}" "$@"; fi\n`,
      { mode: 0o755 },
    );
    fs.symlinkSync(spawnSync('sh', ['-c', 'command -v ffprobe'], { encoding: 'utf8' }).stdout.trim(), path.join(bin, 'ffprobe'));
    await fails(
      ['upscale', video, '-o', path.join(o, 'x.mkv'), '--weights', WEIGHTS, '--codec', 'libx265'],
      /--codec libx265: .*fake-bin\/ffmpeg has no libx265 encoder; it has libx264, libvpx-vp9/,
      {
        env: { MSVSR_FFMPEG: fake },
        clean: o,
      },
    );
  });

  it('a codec the container cannot hold, a pixel format the encoder lacks, chapters into MPEG-TS, VFR into AVI', async () => {
    const o = outDir('combinations');
    await fails(
      ['upscale', video, '-o', path.join(o, 'x.mp4'), '--weights', WEIGHTS, '--codec', 'prores_ks'],
      /x\.mp4: \.mp4 cannot hold prores_ks \(ProRes\); use \.mkv or \.mov/,
      { clean: o },
    );
    await fails(
      ['upscale', video, '-o', path.join(o, 'x.mkv'), '--weights', WEIGHTS, '--pix-fmt', 'rgb48le'],
      /--pix-fmt rgb48le: libx264 takes yuv420p .*yuv420p10le/,
      { clean: o },
    );
    await fails(
      ['upscale', video, '-o', path.join(o, 'x.ts'), '--weights', WEIGHTS],
      /\.ts cannot hold its 1 chapter\(s\) \(\.mkv, \.mp4 or \.mov can hold them\).*--drop chapters/,
      { clean: o },
    );
    await fails(
      ['upscale', video, '-o', path.join(o, 'x.avi'), '--weights', WEIGHTS, '--drop', 'chapters'],
      /clip\.mkv has a variable frame rate, which \.avi cannot hold; use \.mkv or \.mp4/,
      { clean: o },
    );
    await fails(['upscale', video, '-o', path.join(o, 'x.mkv'), '--weights', WEIGHTS, '--frames', '2:9'], /--frames 2:9: the video has 4 frames/, { clean: o });
    await fails(
      ['upscale', video, '-o', path.join(o, 'x.mkv'), '--weights', WEIGHTS, '--chunk', '4', '--segment-frames', '6'],
      /--segment-frames 6: must be a multiple of the chunk \(4\)/,
      { clean: o },
    );
    await fails(['upscale', video, '-o', path.join(o, 'x.mkv'), '--weights', WEIGHTS, '--model', 'large'], /--weights and --model large: give one of them/, {
      clean: o,
    });
    await fails(
      ['upscale', video, '-o', path.join(o, 'x.mkv'), '--drop', 'lyrics'],
      /option '--drop <kinds>' argument 'lyrics' is invalid\. lyrics: use a comma-separated list of audio, subtitles/,
      { clean: o },
    );
  });
});

describe('msvsr eval: bad input', () => {
  it('missing folders, missing GT frames, wrong GT size', async () => {
    await fails(['eval', '--lq', path.join(dir, 'nope'), '--gt', frames, '--weights', WEIGHTS], /LQ .*nope: no such folder/);
    const lq = path.join(dir, 'ev-lq');
    const gt = path.join(dir, 'ev-gt');
    fs.mkdirSync(path.join(lq, 'clip'), { recursive: true });
    fs.mkdirSync(path.join(gt, 'clip'), { recursive: true });
    for (const n of ['00000000.png', '00000001.png'])
      fs.writeFileSync(path.join(lq, 'clip', n), encodePng({ width: 16, height: 16, data: rgbFrame(16, 16, 0) }));
    fs.writeFileSync(path.join(gt, 'clip', '00000000.png'), encodePng({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3) }));
    await fails(['eval', '--lq', lq, '--gt', gt, '--weights', WEIGHTS], /GT .*clip\/00000001\.png: missing \(the LQ clip .*clip has 00000001\.png\)/);
    fs.writeFileSync(path.join(gt, 'clip', '00000001.png'), encodePng({ width: 60, height: 64, data: new Uint8Array(60 * 64 * 3) }));
    await fails(
      ['eval', '--lq', lq, '--gt', gt, '--weights', WEIGHTS],
      /clip\/00000001\.png: frames differ in size: 00000001\.png is 60x64 but 00000000\.png is 64x64/,
    );
    fs.writeFileSync(path.join(gt, 'clip', '00000000.png'), encodePng({ width: 60, height: 64, data: new Uint8Array(60 * 64 * 3) }));
    await fails(['eval', '--lq', lq, '--gt', gt, '--weights', WEIGHTS], /GT .*00000000\.png is 60x64, but the x4 output of .*00000000\.png is 64x64/);
    fs.writeFileSync(path.join(gt, 'clip', '00000000.png'), encodePng({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3) }));
    fs.writeFileSync(path.join(gt, 'clip', '00000001.png'), encodePng({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3) }));
    await fails(
      ['eval', '--lq', lq, '--gt', gt, '--weights', WEIGHTS, '--crop-border', '32'],
      /--crop-border 32: crop border 32 leaves nothing of a 64x64 image/,
    );
    await fails(
      ['eval', '--lq', lq, '--gt', gt, '--weights', WEIGHTS, '--crop-border', '27'],
      /--crop-border 27: leaves 10x10 of 64x64; SSIM needs at least 11x11/,
    );
  });
});
