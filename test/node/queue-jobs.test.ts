// The check of queue job messages (hostile input): a message queue-add.ts would write passes unchanged;
// each kind of bad field is refused with its name, every path must lie inside a served folder (symbolic
// links followed), and free encoder arguments need the worker's consent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type JobPolicy, parseJobData, videoKey } from '../../src/node/queue-jobs.js';

let root: string;
let elsewhere: string;
let policy: JobPolicy;

beforeAll(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'msvsr-jobs-root-')));
  elsewhere = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'msvsr-jobs-else-')));
  fs.mkdirSync(path.join(root, 'out'));
  fs.writeFileSync(path.join(root, 'in.mkv'), '');
  fs.writeFileSync(path.join(root, 'w.pdparams'), '');
  fs.symlinkSync(elsewhere, path.join(root, 'escape'));
  policy = { roots: [root], allowEncoderArgs: false };
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(elsewhere, { recursive: true, force: true });
});

function options() {
  return {
    weights: path.join(root, 'w.pdparams'),
    model: null,
    weightsSha256: 'a'.repeat(64),
    chunk: 10,
    overlap: 2,
    halo: 48,
    maxMemory: null,
    precision: 'f32',
    tune: 'cached',
    codec: 'libx264',
    crf: 16,
    preset: null,
    encoderArgs: null,
    pixFmt: 'yuv420p',
    copyStreams: true,
    drop: ['subtitles'],
    deinterlace: true,
    sceneCuts: true,
    sceneThreshold: null,
  };
}

function segmentJob(over: Record<string, unknown> = {}) {
  const output = path.join(root, 'out', 'in.mkv');
  return {
    version: 1,
    kind: 'segment',
    video: videoKey(output),
    input: path.join(root, 'in.mkv'),
    output,
    identity: 'b'.repeat(64),
    options: options(),
    segment: { index: 1, from: 10, start: 10, end: 20 },
    ...over,
  };
}

function joinJob(over: Record<string, unknown> = {}) {
  const { segment: _, ...rest } = segmentJob();
  return {
    ...rest,
    kind: 'join',
    frames: 25,
    overwrite: false,
    segments: [
      { index: 0, from: 0, start: 0, end: 10 },
      { index: 1, from: 10, start: 10, end: 20 },
      { index: 2, from: 20, start: 20, end: 25 },
    ],
    ...over,
  };
}

const refused = (data: unknown, p: JobPolicy = policy) => {
  try {
    parseJobData(data, p);
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
};

describe('parseJobData', () => {
  it('accepts the messages queue add writes, unchanged', () => {
    expect(parseJobData(segmentJob(), policy)).toEqual(segmentJob());
    expect(parseJobData(joinJob(), policy)).toEqual(joinJob());
    const model = { ...options(), weights: null, model: 'vimeo90k' };
    expect(parseJobData(segmentJob({ options: model }), policy)).toEqual(segmentJob({ options: model }));
  });

  it('refuses paths outside the served folders, through symbolic links and .. too', () => {
    const out = path.join(elsewhere, 'x.mkv');
    expect(refused(segmentJob({ output: out, video: videoKey(out) }))).toMatch(/^output .*x\.mkv: outside the folders this worker serves/);
    expect(refused(segmentJob({ input: '/etc/passwd' }))).toMatch(/^input \/etc\/passwd: outside the folders/);
    const viaLink = path.join(root, 'escape', 'x.mkv');
    expect(refused(segmentJob({ output: viaLink, video: videoKey(viaLink) }))).toMatch(/^output .*escape\/x\.mkv: outside the folders/);
    expect(refused(segmentJob({ input: `${root}/out/../../etc/passwd` }))).toMatch(/^input: expected a normalised path/);
    expect(refused(segmentJob({ input: 'in.mkv' }))).toMatch(/^input: expected an absolute path, found "in\.mkv"/);
    expect(refused(segmentJob({ options: { ...options(), weights: '/etc/shadow' } }))).toMatch(/^options\.weights \/etc\/shadow: outside/);
    // The same message is fine for a worker that serves the other folder too.
    const out2 = path.join(elsewhere, 'y.mkv');
    expect(refused(segmentJob({ output: out2, video: videoKey(out2) }), { roots: [root, elsewhere], allowEncoderArgs: false })).toBe('accepted');
  });

  it('names the field that is wrong', () => {
    expect(refused('x')).toMatch(/^job data: expected an object, found "x"/);
    expect(refused(segmentJob({ version: 2 }))).toMatch(/^version: expected 1, found 2/);
    expect(refused(segmentJob({ kind: 'shell' }))).toMatch(/^kind: expected one of segment, join, found "shell"/);
    expect(refused(segmentJob({ video: 'ab' }))).toMatch(/^video: expected a video key/);
    expect(refused(segmentJob({ video: '0123456789abcdef' }))).toMatch(/^video 0123456789abcdef: not the key of output/);
    const out = path.join(root, 'out', 'in.exe');
    expect(refused(segmentJob({ output: out, video: videoKey(out) }))).toMatch(/^output: expected a video file/);
    expect(refused(segmentJob({ identity: 'x' }))).toMatch(/^identity: expected a SHA-256/);
    expect(refused(segmentJob({ segment: { index: 0, from: 5, start: 4, end: 9 } }))).toMatch(/^segment\.start: expected an integer in \[5, /);
    expect(refused(segmentJob({ segment: { index: 0, from: 0, start: 4, end: 4 } }))).toMatch(/^segment\.end: expected an integer in \[5, /);
    const o = (k: string, v: unknown) => segmentJob({ options: { ...options(), [k]: v } });
    expect(refused(o('chunk', 0))).toMatch(/^options\.chunk: expected an integer in \[1, 1000\], found 0/);
    expect(refused(o('chunk', 2.5))).toMatch(/^options\.chunk:/);
    expect(refused(o('codec', 'rm'))).toMatch(/^options\.codec: expected one of libx264/);
    expect(refused(o('preset', 'slow -y /etc/x'))).toMatch(/^options\.preset: expected a preset name/);
    expect(refused(o('pixFmt', 'yuv420p -i x'))).toMatch(/^options\.pixFmt: expected a pixel format name/);
    expect(refused(o('drop', ['everything']))).toMatch(/^options\.drop: expected a list of/);
    expect(refused(o('sceneThreshold', 2))).toMatch(/^options\.sceneThreshold: expected a number in \(0, 1\]/);
    expect(refused(o('precision', 'f64'))).toMatch(/^options\.precision: expected one of f32, f16/);
    expect(refused(o('model', 'reds'))).toMatch(/^options: give exactly one of weights and model/);
    expect(refused(segmentJob({ options: undefined }))).toMatch(/^options: expected an object/);
  });

  it('a join must list its segments in order, covering every frame once', () => {
    const segs = joinJob().segments;
    expect(refused(joinJob({ segments: [] }))).toMatch(/^segments: expected a non-empty list/);
    expect(refused(joinJob({ segments: [segs[0], segs[2]] }))).toMatch(/^segments\[1\]\.index: expected 1, found 2/);
    expect(refused(joinJob({ segments: [segs[0], { ...segs[1], start: 12, from: 12 }, segs[2]] }))).toMatch(
      /^segments\[1\]\.start: expected 10 \(the previous segment's end\), found 12/,
    );
    expect(refused(joinJob({ frames: 30 }))).toMatch(/^segments: expected frames 0 to 30 covered/);
    expect(refused(joinJob({ segments: [segs[0], segs[1], { ...segs[2], end: 26 }] }))).toMatch(/^segments\[2\]\.end: expected an integer in \[21, 25\]/);
    expect(refused(joinJob({ overwrite: 'yes' }))).toMatch(/^overwrite: expected true or false/);
  });

  it('free encoder arguments only where the worker allows them', () => {
    const job = segmentJob({ options: { ...options(), encoderArgs: '-tune film' } });
    expect(refused(job)).toMatch(/^options\.encoderArgs: free encoder arguments are refused by this worker/);
    expect(refused(job, { roots: [root], allowEncoderArgs: true })).toBe('accepted');
  });
});
