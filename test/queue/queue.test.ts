// The job queue end to end, on a Redis of its own: two videos queued as segment jobs, three worker processes,
// one of them killed with SIGKILL in the middle of a segment and Redis restarted once mid-run. Both outputs
// must decode to exactly what a single-process `msvsr upscale` with the same segmenting gives, each segment
// published once, nothing left behind. Then what goes wrong: bad job data, a changed weights file (failed,
// then `queue retry`), `queue remove`, an unreachable Redis, a full Redis, re-adding.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import { joinJobId, QUEUE, VIDEOS_KEY, videoKey } from '../../src/node/queue-jobs.js';
import type { JoinResult } from '../../src/node/queue-worker.js';
import { workFolder } from '../../src/node/upscale-video.js';
import { CLI, ROOT } from '../cli/helpers.js';
import { bilinearWeights, cli, ensureBuilt, ffmpeg, listAll, scratch, WEIGHTS } from '../video/helpers.js';
import { freePort, RedisServer } from '../../bench/redis-server.js';

let dir: string;
let out: string;
let redis: RedisServer;
const workers: Array<{ p: ChildProcess; log: string }> = [];
/** The options of every run here: chunks of 2 with 1 context frame, 3 segments of 4 frames per 12-frame video. */
const OPTS = ['--weights', WEIGHTS, '--chunk', '2', '--overlap', '1', '--segment-frames', '4'];
const input = (name: string) => path.join(dir, name);

function makeVideo(file: string, source: string, frames: number): void {
  ffmpeg([
    ...['-f', 'lavfi', '-i', `${source}=size=32x24:rate=25`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ...['-frames:v', String(frames), '-t', String(frames / 25), '-c:v', 'ffv1', '-pix_fmt', 'bgr0', '-c:a', 'aac', file],
  ]);
}

/** Every packet's decoded content (all streams) with its timestamp: equal strings, equal videos. */
function framemd5(file: string): string {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0', '-f', 'framemd5', '-'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

function startWorker(extra: string[] = []): { p: ChildProcess; log: string } {
  const p = spawn(
    process.execPath,
    [CLI, 'worker', '--redis', redis.url, '--root', dir, path.join(ROOT, 'test', 'fixtures'), '--lock-seconds', '5', ...extra],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    },
  );
  const w = { p, log: '' };
  p.stderr?.setEncoding('utf8').on('data', (d: string) => (w.log += d));
  workers.push(w);
  return w;
}

async function stopWorkers(): Promise<void> {
  await Promise.all(
    workers.splice(0).map(
      (w) =>
        new Promise<void>((r) => {
          if (w.p.exitCode !== null || w.p.signalCode !== null) return r();
          w.p.once('close', () => r());
          w.p.kill('SIGTERM');
        }),
    ),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; workers said:\n${workers.map((w) => w.log).join('\n')}`);
    await sleep(50);
  }
}

async function withQueue<T>(fn: (q: Queue) => Promise<T>): Promise<T> {
  const q = new Queue(QUEUE, { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

beforeAll(async () => {
  ensureBuilt();
  dir = fs.realpathSync(scratch('queue'));
  out = path.join(dir, 'out');
  fs.mkdirSync(out);
  fs.mkdirSync(path.join(dir, 'redis'));
  makeVideo(input('a.mkv'), 'testsrc2', 12);
  makeVideo(input('b.mkv'), 'smptehdbars', 12);
  redis = await RedisServer.start(path.join(dir, 'redis'));
});

afterAll(async () => {
  await stopWorkers();
  await redis?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('msvsr queue: three workers, a worker killed, Redis restarted', () => {
  it('queue add: 3 segment jobs and a join per video; adding them again is a no-op that says so', async () => {
    const r = await cli(['queue', 'add', input('a.mkv'), input('b.mkv'), '-o', out, '--redis', redis.url, ...OPTS, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { input: input('a.mkv'), output: path.join(out, 'a.mkv'), status: 'queued', segments: 3, frames: 12 },
      { input: input('b.mkv'), output: path.join(out, 'b.mkv'), status: 'queued', segments: 3, frames: 12 },
    ]);
    const again = await cli(['queue', 'add', input('a.mkv'), input('b.mkv'), '-o', out, '--redis', redis.url, ...OPTS]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/a\.mkv: already in the queue \(waiting-children\); nothing added/);
    expect(again.stderr).toMatch(/b\.mkv: already in the queue/);
    const s = await cli(['queue', 'status', '--redis', redis.url, '--json']);
    const st = JSON.parse(s.stdout) as { videos: Array<{ state: string; segments: { total: number; waiting: number } }> };
    expect(st.videos.map((v) => [v.state, v.segments.total, v.segments.waiting])).toEqual([
      ['waiting', 3, 3],
      ['waiting', 3, 3],
    ]);
  });

  let killed: { pid: number; work: string; segment: number } | undefined;

  it('three workers finish both videos though one is killed mid-segment and Redis restarts', async () => {
    for (let k = 0; k < 3; k++) startWorker();
    const pids = new Set(workers.map((w) => w.p.pid));
    const works = ['a.mkv', 'b.mkv'].map((n) => workFolder(path.join(out, n)));
    // Kill the first worker seen writing a segment (its temporary file names its pid).
    await until(
      'a segment in progress',
      () => {
        for (const work of works) {
          for (const name of fs.existsSync(work) ? fs.readdirSync(work) : []) {
            const m = /^\.seg-(\d+)\.\w+\.partial-(\d+)-/.exec(name);
            if (m && pids.has(Number(m[2]))) {
              killed = { pid: Number(m[2]), work, segment: Number(m[1]) };
              process.kill(killed.pid, 'SIGKILL');
              return true;
            }
          }
        }
        return false;
      },
      240_000,
    );
    // Redis goes away and comes back (its append-only file keeps the queue) while the others work.
    await sleep(1000);
    await redis.stop();
    await sleep(1500);
    await redis.start();
    await until('both outputs', () => fs.existsSync(path.join(out, 'a.mkv')) && fs.existsSync(path.join(out, 'b.mkv')), 280_000);
    // The two survivors logged their reconnection.
    expect(workers.filter((w) => w.p.pid !== killed!.pid).every((w) => /reconnecting/.test(w.log))).toBe(true);
  });

  it('the outputs decode exactly as single-process runs; each segment was published once; nothing is left', async () => {
    for (const name of ['a.mkv', 'b.mkv']) {
      const ref = path.join(dir, `ref-${name}`);
      const r = await cli(['upscale', input(name), '-o', ref, ...OPTS, '-q']);
      expect(r.code, r.stderr).toBe(0);
      expect(framemd5(path.join(out, name))).toBe(framemd5(ref));
      fs.rmSync(ref);
    }
    const joins = await withQueue(async (q) =>
      Promise.all(['a.mkv', 'b.mkv'].map(async (n) => (await q.getJob(joinJobId(videoKey(path.join(out, n)))))!.returnvalue as JoinResult)),
    );
    for (const j of joins) {
      expect(j.frames).toBe(12);
      expect(j.published.map((p) => p.segment).sort()).toEqual([0, 1, 2]);
    }
    // The killed worker's segment was published by another worker.
    const video = joins[killed!.work === workFolder(path.join(out, 'a.mkv')) ? 0 : 1];
    expect(video.published.find((p) => p.segment === killed!.segment)!.worker).not.toMatch(new RegExp(`:${killed!.pid}$`));
    // Each segment computed to the end once (a lost heartbeat would have had it taken and done again: the
    // segments take longer than --lock-seconds 5), begun a second time only where its worker was killed.
    const logs = workers.map((w) => w.log).join('\n');
    for (const name of ['a.mkv', 'b.mkv']) {
      for (let k = 0; k < 3; k++) {
        const begun = logs.split('\n').filter((l) => l.includes(`: ${name} segment ${k}: frames`)).length;
        const ended = logs.split('\n').filter((l) => new RegExp(`: ${name.replace('.', '\\.')} segment ${k}: 4 frames in`).test(l)).length;
        const wasKilled = killed!.work === workFolder(path.join(out, name)) && killed!.segment === k;
        expect([name, k, begun, ended]).toEqual([name, k, wasKilled ? 2 : 1, 1]);
      }
    }
    expect(logs).not.toMatch(/already published by another worker/);
    expect(listAll(out)).toEqual(['a.mkv', 'b.mkv']);
    const s = JSON.parse((await cli(['queue', 'status', '--redis', redis.url, '--json'])).stdout) as {
      videos: Array<{ state: string; frames: { done: number; total: number } }>;
    };
    expect(s.videos.map((v) => [v.state, v.frames.done, v.frames.total])).toEqual([
      ['done', 12, 12],
      ['done', 12, 12],
    ]);
  });

  it('job data naming a path outside the served folders, or malformed, is refused without a retry', async () => {
    const evil = path.join(path.dirname(dir), `msvsr-evil-${process.pid}.mkv`);
    await withQueue(async (q) => {
      const ok = (await q.getJob(`${videoKey(path.join(out, 'a.mkv'))}-seg-0`))!.data as Record<string, unknown>;
      const outside = { ...ok, output: evil, video: videoKey(evil) };
      const jobs = [
        await q.add('segment', outside, { attempts: 3 }),
        await q.add('segment', { ...ok, input: '/etc/passwd' }, { attempts: 3 }),
        await q.add('segment', { ...ok, options: { ...(ok.options as object), chunk: -1 } }, { attempts: 3 }),
        await q.add('segment', 'rm -rf /', { attempts: 3 }),
      ];
      await until('the bad jobs to fail', async () => (await Promise.all(jobs.map((j) => j.getState()))).every((s) => s === 'failed'), 60_000);
      const failed = await Promise.all(jobs.map(async (j) => (await q.getJob(j.id!))!));
      expect(failed.map((j) => j.attemptsMade)).toEqual([1, 1, 1, 1]);
      expect(failed[0].failedReason).toMatch(/^refused: output .*msvsr-evil-.*: outside the folders this worker serves/);
      expect(failed[1].failedReason).toMatch(/^refused: input \/etc\/passwd: outside the folders this worker serves/);
      expect(failed[2].failedReason).toMatch(/^refused: options\.chunk: expected an integer in \[1, 1000\], found -1/);
      expect(failed[3].failedReason).toMatch(/^refused: job data: expected an object/);
    });
    expect(fs.existsSync(evil) || fs.existsSync(workFolder(evil))).toBe(false);
  });

  it('a changed weights file fails the video (reason in status); put back, `queue retry` finishes it', async () => {
    makeVideo(input('c.mkv'), 'testsrc', 4);
    const w = path.join(dir, 'w.pdparams');
    fs.copyFileSync(WEIGHTS, w);
    const opts = ['--weights', w, '--chunk', '2', '--overlap', '1', '--segment-frames', '4'];
    // Changed before any worker can take the job.
    await stopWorkers();
    const r = await cli(['queue', 'add', input('c.mkv'), '-o', out, '--redis', redis.url, ...opts]);
    expect(r.code, r.stderr).toBe(0);
    fs.copyFileSync(bilinearWeights(dir), w);
    startWorker();
    const status = async () =>
      JSON.parse((await cli(['queue', 'status', '--redis', redis.url, '--json'])).stdout) as {
        videos: Array<{ input: string; state: string; failures: Array<{ job: string; reason: string }> }>;
      };
    const videoC = async () => (await status()).videos.find((v) => v.input === input('c.mkv'));
    await until('c to fail', async () => (await videoC())?.state === 'failed', 120_000);
    const c = await videoC();
    expect(c!.failures).toEqual([
      { job: 'segment 0', reason: expect.stringMatching(/weights .*w\.pdparams: not the file the video was queued with/), attempts: 1 },
    ]);
    fs.copyFileSync(WEIGHTS, w);
    const retry = await cli(['queue', 'retry', input('c.mkv'), '--redis', redis.url]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stderr).toMatch(/1 failed job\(s\) queued again/);
    await until('c.mkv', () => fs.existsSync(path.join(out, 'c.mkv')), 180_000);
    const ref = path.join(dir, 'ref-c.mkv');
    expect((await cli(['upscale', input('c.mkv'), '-o', ref, ...opts, '-q'])).code).toBe(0);
    expect(framemd5(path.join(out, 'c.mkv'))).toBe(framemd5(ref));
    await stopWorkers();
  });

  it('re-adding a finished video is refused without --overwrite; queue remove takes a video out', async () => {
    const again = await cli(['queue', 'add', input('a.mkv'), '-o', out, '--redis', redis.url, ...OPTS]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/out\/a\.mkv: already exists \(use --overwrite to replace it\)/);
    const over = await cli(['queue', 'add', input('a.mkv'), '-o', out, '--redis', redis.url, ...OPTS, '--overwrite', '--json']);
    expect(over.code, over.stderr).toBe(0);
    expect(JSON.parse(over.stdout)[0].status).toBe('queued');
    const rm = await cli(['queue', 'remove', path.join(out, 'a.mkv'), '--redis', redis.url]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(fs.existsSync(workFolder(path.join(out, 'a.mkv')))).toBe(false);
    const s = JSON.parse((await cli(['queue', 'status', '--redis', redis.url, '--json'])).stdout) as { videos: Array<{ input: string }> };
    expect(s.videos.map((v) => path.basename(v.input)).sort()).toEqual(['b.mkv', 'c.mkv']);
    expect(fs.existsSync(path.join(out, 'a.mkv'))).toBe(true); // the output written before stays
    const unknown = await cli(['queue', 'remove', input('zzz.mkv'), '--redis', redis.url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/zzz\.mkv: not in the queue/);
  });

  it('a full Redis (maxmemory reached) refuses the add whole, and says so', async () => {
    makeVideo(input('d.mkv'), 'testsrc2', 4);
    const c = redis.client();
    try {
      await c.config('SET', 'maxmemory', '1');
      const r = await cli(['queue', 'add', input('d.mkv'), '-o', out, '--redis', redis.url, ...OPTS]);
      await c.config('SET', 'maxmemory', '0');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /Redis at redis:\/\/127\.0\.0\.1:\d+ is full \(\d+ bytes used of maxmemory 1\): .*d\.mkv was not queued \(nothing of it was written\)/,
      );
      // Nothing of the video in Redis: no job of its flow, no entry in the videos hash.
      const key = videoKey(path.join(out, 'd.mkv'));
      expect(await c.keys(`*${key}*`)).toEqual([]);
      expect(await c.hexists(VIDEOS_KEY, key)).toBe(0);
      expect(fs.existsSync(workFolder(path.join(out, 'd.mkv')))).toBe(false);
    } finally {
      c.disconnect();
    }
  });

  it('an unreachable Redis: a clear error, exit 1, and the password never printed', async () => {
    const url = `redis://:s3cret-pw@127.0.0.1:${await freePort()}`;
    for (const args of [
      ['queue', 'add', input('a.mkv'), '-o', out, ...OPTS],
      ['queue', 'status'],
      ['worker', '--root', dir],
    ]) {
      const r = await cli([...args, '--redis', url]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/?: .*ECONNREFUSED/);
      expect(r.stdout + r.stderr).not.toMatch(/s3cret/);
    }
    // A password given as the user name, or in the query (ioredis reads ?password=), is hidden too.
    const port = await freePort();
    for (const url of [`redis://s3cret-pw@127.0.0.1:${port}`, `redis://127.0.0.1:${port}/0?password=s3cret-pw`]) {
      const r = await cli(['queue', 'status', '--redis', url]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cannot reach Redis at redis:\/\/(\*\*\*@)?127\.0\.0\.1:\d+/);
      expect(r.stdout + r.stderr).not.toMatch(/s3cret/);
    }
    const bad = await cli(['queue', 'status', '--redis', 'http://user:s3cret-pw@host']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/expected a redis:\/\/ or rediss:\/\/ URL, found http:\/\//);
    expect(bad.stderr).not.toMatch(/s3cret/);
  });
});
