// msvsr upscale on PNG frame folders and single PNGs: every PNG type, natural order, resume, overwrite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getDevice, loadModel, upscaleFrames, type Frame, type Gpu, type Model } from '../../src/index.js';
import { decodePng, encodePng } from '../../src/node/png.js';
import { RESUME_MANIFEST, partialFolder } from '../../src/node/upscale.js';
import { DEFAULT_HALO } from '../../src/options.js';
import { WEIGHTS, cli, ensureBuilt, listAll, rgbFrame, scratch, writePng } from './helpers.js';
import { pngCases } from './pngcases.js';

const S = 16; // tiny frames: the software adapter does ~0.2 s per 16x16 frame
let dir: string;
let gpu: Gpu;
let model: Model;

beforeAll(async () => {
  ensureBuilt();
  dir = scratch('frames');
  model = await loadModel(WEIGHTS);
  gpu = await getDevice();
});
afterAll(() => {
  gpu?.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

const frame = (data: Uint8Array, w = S, h = S): Frame => ({ width: w, height: h, data });
const expected = (frames: Frame[], chunk: number, overlap?: number) => upscaleFrames(frames, { model, device: gpu, chunkSize: chunk, overlap });
const readRgb = (file: string) => decodePng(new Uint8Array(fs.readFileSync(file)), file);

function writeFrames(folder: string, names: string[], seed: number): Frame[] {
  fs.mkdirSync(folder, { recursive: true });
  return names.map((n, t) => {
    const d = rgbFrame(S, S, t, seed);
    fs.writeFileSync(path.join(folder, n), encodePng({ width: S, height: S, data: d }));
    return frame(d);
  });
}

function expectFrames(folder: string, names: string[], want: Frame[]): void {
  for (let i = 0; i < names.length; i++) {
    const got = readRgb(path.join(folder, names[i]));
    expect([got.width, got.height], names[i]).toEqual([4 * S, 4 * S]);
    expect(Buffer.compare(Buffer.from(got.data), Buffer.from(want[i].data)), names[i]).toBe(0);
  }
}

describe('msvsr upscale <folder of PNGs>', () => {
  it('every PNG type (read as the RGB the unit tests pin), written under the same names', async () => {
    const cases = pngCases(S, S, 11);
    const input = path.join(dir, 'types');
    fs.mkdirSync(input);
    const names = cases.map((c) => `${c.name}.png`);
    cases.forEach((c, i) => {
      fs.writeFileSync(path.join(input, names[i]), writePng(c.png));
    });
    const out = path.join(dir, 'types_x4');
    // --chunk 1: one frame per pass keeps this cheap (the order of frames is tested with --resume below)
    const r = await cli(['upscale', input, '-o', out, '--weights', WEIGHTS, '--chunk', '1', '--overlap', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ frames: cases.length, output: out });
    expect(listAll(out).sort()).toEqual([...names].sort());
    const want = await expected(
      cases.map((c) => frame(c.rgb)),
      1,
      0,
    );
    expectFrames(out, names, want);
    expect(listAll(dir)).toEqual(['types', ...names.map((n) => `types/${n}`).sort(), 'types_x4', ...names.map((n) => `types_x4/${n}`).sort()].sort());
  });

  it('a single PNG -> a PNG; an existing output is refused without --overwrite', async () => {
    const c = pngCases(S, S, 3).find((k) => k.name === 'rgb16')!;
    const input = path.join(dir, 'one.png');
    fs.writeFileSync(input, writePng(c.png));
    const out = path.join(dir, 'one_x4.png');
    const r = await cli(['upscale', input, '-o', out, '--weights', WEIGHTS]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wrote .*one_x4\.png: 1 frame, 64x64/);
    const [want] = await expected([frame(c.rgb)], 10);
    expectFrames(dir, ['one_x4.png'], [want]);
    const before = fs.statSync(out).mtimeMs;
    const again = await cli(['upscale', input, '-o', out, '--weights', WEIGHTS]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/one_x4\.png: already exists \(use --overwrite to replace it\)/);
    expect(fs.statSync(out).mtimeMs).toBe(before);
    const forced = await cli(['upscale', input, '-o', out, '--weights', WEIGHTS, '--overwrite', '--quiet']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).not.toMatch(/wrote/);
    expectFrames(dir, ['one_x4.png'], [want]);
  });

  it('a folder of clip folders (REDS layout) -> the same layout', async () => {
    const input = path.join(dir, 'reds');
    const a = writeFrames(path.join(input, '000'), ['00000000.png'], 21);
    const b = writeFrames(path.join(input, '011'), ['00000000.png', '00000001.png'], 22);
    const out = path.join(dir, 'reds_x4');
    const r = await cli(['upscale', input, '-o', out, '--weights', WEIGHTS, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ frames: 3 });
    expectFrames(path.join(out, '000'), ['00000000.png'], await expected(a, 10));
    expectFrames(path.join(out, '011'), ['00000000.png', '00000001.png'], await expected(b, 10));
  });
});

describe('natural order, --resume and --overwrite (chunks are independent passes: resume restarts at a chunk boundary)', () => {
  // chunk 2: [1 2] [3 4] [10] in natural order; sorted as text it would be [1 10] [2 3] [4], other results
  const names = ['1.png', '2.png', '3.png', '4.png', '10.png'];
  let input: string;
  let out: string;
  let want: Frame[];
  const sentinel = encodePng({ width: 4 * S, height: 4 * S, data: new Uint8Array(48 * S * S) }); // all black

  beforeAll(async () => {
    input = path.join(dir, 'seq');
    out = path.join(dir, 'seq_x4');
    want = await expected(writeFrames(input, names, 5), 2);
  });

  it('fresh run (frames in natural order), then a second run is refused', async () => {
    const r = await cli(['upscale', input, '-o', out, '--weights', WEIGHTS, '--chunk', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ frames: 5, skipped: 0 });
    expectFrames(out, names, want);
    expect(listAll(out)).toEqual([...names].sort());
    const again = await cli(['upscale', input, '-o', out, '--weights', WEIGHTS, '--chunk', '2']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/seq_x4: already exists \(use --overwrite to replace it, or --resume to continue it\)/);
  });

  it('after an interruption: keeps the complete chunks, recomputes from the first incomplete chunk whole', async () => {
    // What an interrupted run leaves: its hidden folder with the chunks it finished. Here chunk [1 2] is
    // complete (1.png replaced by a sentinel to prove it is kept), chunk [3 4] has only 3.png (a sentinel:
    // it must be recomputed with 4.png), chunk [10] is missing.
    const partial = partialFolder(out);
    fs.renameSync(out, partial);
    fs.writeFileSync(path.join(partial, '1.png'), sentinel);
    fs.writeFileSync(path.join(partial, '3.png'), sentinel);
    fs.rmSync(path.join(partial, '4.png'));
    fs.rmSync(path.join(partial, '10.png'));
    const plain = await cli(['upscale', input, '-o', out, '--weights', WEIGHTS, '--chunk', '2']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/an interrupted run left its frames in .*seq_x4\.msvsr-partial; add --resume to continue it, or --overwrite to start over/);
    const r = await cli(['upscale', input, '-o', out, '--weights', WEIGHTS, '--chunk', '2', '--resume', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ frames: 3, skipped: 2 });
    expect(fs.existsSync(partial)).toBe(false);
    expect(listAll(out)).toEqual([...names].sort()); // no manifest, no temporary files
    expect(Buffer.compare(fs.readFileSync(path.join(out, '1.png')), sentinel)).toBe(0); // kept
    expectFrames(out, ['2.png', '3.png', '4.png', '10.png'], want.slice(1));
  });

  it('--resume on a finished output does nothing; other options than the interrupted run are refused', async () => {
    const r = await cli(['upscale', input, '-o', out, '--weights', WEIGHTS, '--chunk', '2', '--resume', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ frames: 0, skipped: 5 });
    const partial = partialFolder(out);
    fs.mkdirSync(partial);
    fs.writeFileSync(
      path.join(partial, RESUME_MANIFEST),
      JSON.stringify({ version: 2, chunk: 3, overlap: 2, halo: DEFAULT_HALO, maxMemory: null, precision: 'f32', tune: 'cached', weights: 'x', plans: {} }),
    );
    const bad = await cli(['upscale', input, '-o', out, '--weights', WEIGHTS, '--chunk', '2', '--resume', '--overwrite']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--resume: .*was started with --chunk 3 \(now 2\), other weights; resume with the same options/);
    fs.rmSync(partial, { recursive: true });
  });

  it('--overwrite recomputes everything and replaces the output', async () => {
    const r = await cli(['upscale', input, '-o', out, '--weights', WEIGHTS, '--chunk', '2', '--overwrite', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ frames: 5, skipped: 0 });
    expectFrames(out, names, want);
    expect(listAll(dir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('Ctrl-C keeps the finished chunks (complete files only); --resume then gives the uninterrupted result', async () => {
    const input2 = path.join(dir, 'long');
    const names2 = Array.from({ length: 8 }, (_, i) => `${String(i).padStart(8, '0')}.png`);
    const frames2 = writeFrames(input2, names2, 9);
    const out2 = path.join(dir, 'long_x4');
    const partial = partialFolder(out2);
    let sent = false;
    const r = await cli(['upscale', input2, '-o', out2, '--weights', WEIGHTS, '--chunk', '2'], {
      onSpawn: (p) => {
        const poll = setInterval(() => {
          const done = fs.existsSync(partial) ? fs.readdirSync(partial).filter((n) => n.endsWith('.png')).length : 0;
          if (done >= 2 && !sent) {
            sent = true;
            clearInterval(poll);
            p.kill('SIGINT');
          }
        }, 20);
        p.on('close', () => clearInterval(poll));
      },
    });
    expect(sent).toBe(true);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/finished frames are in .*long_x4\.msvsr-partial; run the same command with --resume/);
    expect(fs.existsSync(out2)).toBe(false);
    const left = fs.readdirSync(partial);
    expect(left.filter((n) => !names2.includes(n))).toEqual([RESUME_MANIFEST]); // no half-written files
    const kept = left.filter((n) => n.endsWith('.png')).length;
    expect(kept).toBeGreaterThanOrEqual(2);
    expect(kept).toBeLessThan(8);
    const resumed = await cli(['upscale', input2, '-o', out2, '--weights', WEIGHTS, '--chunk', '2', '--resume', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const j = JSON.parse(resumed.stdout) as { frames: number; skipped: number };
    expect(j.skipped % 2).toBe(0);
    expect(j.skipped + j.frames).toBe(8);
    expectFrames(out2, names2, await expected(frames2, 2));
    expect(fs.existsSync(partial)).toBe(false);
  });
});
