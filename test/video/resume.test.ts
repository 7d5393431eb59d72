// Resumable jobs: a video run killed (SIGKILL) at several points and resumed must give the decoded frames,
// timestamps and streams of an uninterrupted run, bit for bit; so must a PNG folder run. A second run on an
// output that a live run is writing is refused; the lock of a killed run is taken over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Frame, upscaleFrames, loadModel } from '../../src/index.js';
import { lockPath } from '../../src/node/lock.js';
import { encodePng, decodePng } from '../../src/node/png.js';
import { partialFolder, workFolder } from '../../src/node/upscale.js';
import { CLI, rgbFrame } from '../cli/helpers.js';
import { cli, ensureBuilt, ffmpeg, frameTimes, killWhen, listAll, packetsMd5, scratch, WEIGHTS } from './helpers.js';

const W = 32;
const H = 24;
let dir: string;
let input: string;

beforeAll(() => {
  ensureBuilt();
  dir = scratch('video-resume');
  input = path.join(dir, 'in.mkv');
  ffmpeg([
    ...['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ...['-frames:v', '12', '-t', '0.48', '-c:v', 'ffv1', '-pix_fmt', 'bgr0', '-c:a', 'aac', input],
  ]);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Every decoded frame of the video stream, raw, in presentation order. */
function decoded(file: string): Buffer {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'yuv444p', '-'], {
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return r.stdout;
}

describe('video: kill -9 at several points, --resume, the same output', () => {
  const args = (out: string) => ['upscale', input, '-o', out, '--weights', WEIGHTS, '--chunk', '2', '--overlap', '1', '--segment-frames', '4'];
  let ref: string;

  it('uninterrupted: 3 segments; a second run on the same output meanwhile is refused', async () => {
    ref = path.join(dir, 'ref.mp4');
    let second: Promise<{ code: number | null; stderr: string }> | undefined;
    const r = await cli([...args(ref), '--json'], {
      onSpawn: () => {
        const poll = setInterval(() => {
          if (fs.existsSync(lockPath(ref))) {
            clearInterval(poll);
            second = cli(args(ref));
          }
        }, 20);
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ frames: 12, skipped: 0, video: { segments: 3 } });
    const s = await second!;
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/ref\.mp4: another msvsr run \(pid \d+\) is writing it/);
    expect(fs.existsSync(lockPath(ref))).toBe(false);
  });

  it('killed during the analysis, after segment 1, after segment 2: each --resume continues; the result equals the uninterrupted one', async () => {
    const out = path.join(dir, 'out.mp4');
    const work = workFolder(out);
    const seg = (k: number) => fs.existsSync(path.join(work, `seg-0000${k}.mov`));
    const kills = [() => fs.existsSync(path.join(work, 'analysis.json')), () => seg(0), () => seg(1)];
    for (const [i, when] of kills.entries()) {
      const k = await killWhen(i === 0 ? args(out) : [...args(out), '--resume'], when, CLI);
      expect(k.killed, `kill ${i}: ${k.stderr}`).toBe(true);
      expect(fs.existsSync(out)).toBe(false);
      expect(fs.existsSync(work)).toBe(true);
      // the killed run's lock is left behind, holding a pid that no longer runs: the next run takes it over
      expect(JSON.parse(fs.readFileSync(lockPath(out), 'utf8')).pid).toBeGreaterThan(0);
    }
    const plain = await cli(args(out));
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/an interrupted run left its segments in .*\.out\.mp4\.msvsr-work; add --resume to continue it, or --overwrite to start over/);
    const changed = await cli([...args(out), '--resume', '--crf', '20']);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toMatch(/--resume: .* was started with --crf default \(now 20\); resume with the same options/);
    // what a run killed while joining or checking streams leaves beside the output (a pid that no longer
    // runs); the resumed run, holding the lock, removes it
    const left = ['.out.mp4.partial-2147483000-a1b2c3.mp4', '.out.mp4.mux-check-2147483001-d4e5f6.mkv'];
    for (const f of left) fs.writeFileSync(path.join(dir, f), 'half-written');
    const r = await cli([...args(out), '--resume', '--json']);
    expect(r.code, r.stderr).toBe(0);
    for (const f of left) expect(fs.existsSync(path.join(dir, f)), f).toBe(false);
    const j = JSON.parse(r.stdout) as { frames: number; skipped: number };
    expect(j.skipped).toBeGreaterThanOrEqual(8); // segments 0 and 1 were finished before the last kill
    expect(j.frames + j.skipped).toBe(12);
    expect(Buffer.compare(decoded(out), decoded(ref))).toBe(0);
    expect(frameTimes(out).seconds).toEqual(frameTimes(ref).seconds);
    expect(packetsMd5(out, 'a:0')).toBe(packetsMd5(input, 'a:0'));
    expect(fs.existsSync(work)).toBe(false);
    expect(listAll(dir).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});

describe('PNG folder: kill -9 twice, --resume, the same frames', () => {
  it('complete files only; the resumed folder equals upscaleFrames', async () => {
    const S = 16;
    const frames = path.join(dir, 'frames');
    fs.mkdirSync(frames);
    const names = Array.from({ length: 6 }, (_, i) => `${String(i).padStart(8, '0')}.png`);
    const lq: Frame[] = names.map((n, t) => {
      const data = rgbFrame(S, S, t, 13);
      fs.writeFileSync(path.join(frames, n), encodePng({ width: S, height: S, data }));
      return { width: S, height: S, data };
    });
    const out = path.join(dir, 'frames_x4');
    const partial = partialFolder(out);
    const pngs = () => (fs.existsSync(partial) ? fs.readdirSync(partial).filter((n) => /^\d+\.png$/.test(n)).length : 0);
    const args = ['upscale', frames, '-o', out, '--weights', WEIGHTS, '--chunk', '2'];
    for (const [i, at] of [2, 4].entries()) {
      const k = await killWhen(i === 0 ? args : [...args, '--resume'], () => pngs() >= at, CLI);
      expect(k.killed, k.stderr).toBe(true);
      expect(fs.existsSync(out)).toBe(false);
    }
    const r = await cli([...args, '--resume', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { frames: number; skipped: number };
    expect(j.skipped).toBeGreaterThanOrEqual(4);
    expect(j.frames + j.skipped).toBe(6);
    const want = await upscaleFrames(lq, { model: await loadModel(WEIGHTS), chunkSize: 2 });
    for (let t = 0; t < 6; t++) {
      const got = decodePng(new Uint8Array(fs.readFileSync(path.join(out, names[t]))), names[t]);
      expect(Buffer.compare(Buffer.from(got.data), Buffer.from(want[t].data)), names[t]).toBe(0);
    }
    expect(listAll(out)).toEqual(names); // no temporary file or manifest left
    expect(fs.existsSync(lockPath(out))).toBe(false);
    expect(fs.existsSync(partial)).toBe(false);
  });
});
