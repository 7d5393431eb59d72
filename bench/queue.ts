// The job queue's cost and throughput, on a Redis of its own (bench/redis-server.ts):
//   node dist/bench/queue.js overhead [--segments 200]     the queue's own cost per segment: a worker whose
//        upscaler does nothing (publishes an empty file), so what is timed is BullMQ, Redis, the job check,
//        the probe and the publication; and the Redis commands per segment, from Redis' own counters.
//   node dist/bench/queue.js workers [--counts 1,2,3] [--frames 24] [--size 32x24]
//        one video through the queue with 1, 2, 3 worker processes (the real network), against one
//        `msvsr upscale` process with the same segmenting.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { Redis } from 'ioredis';
import { publishOnce, tempPath } from '../src/node/files.js';
import { queueAdd } from '../src/node/queue-add.js';
import { type SegmentUpscaler, startWorker } from '../src/node/queue-worker.js';
import { segmentFile } from '../src/node/upscale-video.js';
import { RedisServer } from './redis-server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'tools', 'cli.js');
const WEIGHTS = path.join(ROOT, 'test', 'fixtures', 'msvsr_random.pdparams');

function makeVideo(file: string, size: string, frames: number): void {
  const r = spawnSync(
    'ffmpeg',
    [
      ...['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      ...['-frames:v', String(frames), '-t', String(frames / 25), '-c:v', 'ffv1', '-pix_fmt', 'bgr0', '-c:a', 'aac', file],
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(r.stderr);
}

/** Calls of every command since the last CONFIG RESETSTAT (INFO commandstats). */
async function commandCalls(c: Redis): Promise<number> {
  const info = await c.info('commandstats');
  return [...info.matchAll(/calls=(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
}

/** An upscaler that does no work: an empty segment file, published as the real one is. */
const noop: SegmentUpscaler = async (_ctx, job, work, seg) => {
  const file = segmentFile(work, seg.index, job.segment);
  const tmp = tempPath(file, 'partial');
  fs.writeFileSync(tmp, '');
  return { frames: seg.end - seg.start, published: publishOnce(tmp, file) };
};

async function overhead(segments: number): Promise<void> {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'msvsr-bench-queue-')));
  fs.mkdirSync(path.join(dir, 'redis'));
  fs.mkdirSync(path.join(dir, 'out'));
  const redis = await RedisServer.start(path.join(dir, 'redis'));
  const c = redis.client();
  try {
    const video = path.join(dir, 'in.mkv');
    makeVideo(video, '32x24', 2 * segments);
    await c.config('RESETSTAT');
    const a0 = performance.now();
    await queueAdd({ inputs: [video], outDir: path.join(dir, 'out'), redis: redis.url, weights: WEIGHTS, chunk: 2, overlap: 1, segmentFrames: 2, quiet: true });
    const addMs = performance.now() - a0;
    const addCalls = await commandCalls(c);
    await c.config('RESETSTAT');
    const w = await startWorker({ redis: redis.url, roots: [dir, path.dirname(WEIGHTS)], quiet: true }, noop);
    let done = 0;
    let first = 0;
    let last = 0;
    await new Promise<void>((resolve, reject) => {
      setTimeout(() => reject(new Error(`${done} of ${segments} segments done after 10 minutes`)), 600_000).unref();
      w.worker.on('failed', (job, e) => {
        if (job?.name === 'segment') reject(e);
      });
      w.worker.on('active', (job) => {
        if (job.name === 'segment' && !first) first = performance.now();
      });
      w.worker.on('completed', (job) => {
        if (job.name !== 'segment') return;
        last = performance.now();
        if (++done === segments) resolve();
      });
    });
    const calls = await commandCalls(c);
    await w.close();
    const per = (last - first) / (segments - 1);
    console.log(`| segments | add: ms/segment | add: Redis commands/segment | worker: ms/segment (no-op upscaler) | worker: Redis commands/segment |`);
    console.log(`|---|---|---|---|---|`);
    console.log(
      `| ${segments} | ${(addMs / segments).toFixed(2)} | ${(addCalls / segments).toFixed(1)} | ${per.toFixed(1)} | ${(calls / segments).toFixed(1)} |`,
    );
  } finally {
    c.disconnect();
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function run(args: string[], onLine?: (l: string) => void): { done: Promise<number | null>; kill: () => void } {
  const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr.setEncoding('utf8').on('data', (d: string) => onLine?.(d));
  return { done: new Promise((r) => p.on('close', (code) => r(code))), kill: () => p.kill('SIGTERM') };
}

async function workers(counts: number[], frames: number, size: string, segmentFrames: number): Promise<void> {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'msvsr-bench-queue-')));
  fs.mkdirSync(path.join(dir, 'redis'));
  const redis = await RedisServer.start(path.join(dir, 'redis'));
  const opts = ['--weights', WEIGHTS, '--chunk', '2', '--overlap', '1', '--segment-frames', String(segmentFrames)];
  try {
    const video = path.join(dir, 'in.mkv');
    makeVideo(video, size, frames);
    const rows: string[] = [];
    const t0 = performance.now();
    const one = run(['upscale', video, '-o', path.join(dir, 'single.mkv'), ...opts, '-q']);
    if ((await one.done) !== 0) throw new Error('msvsr upscale failed');
    const single = (performance.now() - t0) / 1000;
    rows.push(`| msvsr upscale (one process) | ${single.toFixed(1)} | ${(frames / single).toFixed(2)} | 1.00 |`);
    for (const n of counts) {
      const out = path.join(dir, `out-${n}`);
      fs.mkdirSync(out);
      const add = run(['queue', 'add', video, '-o', out, '--redis', redis.url, ...opts, '-q']);
      if ((await add.done) !== 0) throw new Error('msvsr queue add failed');
      const t = performance.now();
      const ws = Array.from({ length: n }, () => run(['worker', '--redis', redis.url, '--root', dir, path.dirname(WEIGHTS), '-q']));
      const deadline = Date.now() + 1_800_000;
      while (!fs.existsSync(path.join(out, 'in.mkv'))) {
        if (Date.now() > deadline) throw new Error(`no output after 30 minutes with ${n} worker(s)`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const s = (performance.now() - t) / 1000;
      for (const w of ws) w.kill();
      await Promise.all(ws.map((w) => w.done));
      rows.push(`| queue, ${n} worker process(es) | ${s.toFixed(1)} | ${(frames / s).toFixed(2)} | ${(single / s).toFixed(2)} |`);
    }
    console.log(`${frames} frames of ${size}, chunk 2, overlap 1, ${frames / segmentFrames} segments of ${segmentFrames} frames; ${os.cpus().length} cores`);
    console.log('| run | seconds (start to output) | fps | vs one process |');
    console.log('|---|---|---|---|');
    for (const r of rows) console.log(r);
  } finally {
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const program = new Command('queue');
program
  .command('overhead')
  .option('--segments <n>', 'segment jobs (2 frames each)', '200')
  .action(async (o: { segments: string }) => overhead(Number(o.segments)));
program
  .command('workers')
  .option('--counts <list>', 'worker processes per run', '1,2,3')
  .option('--frames <n>', 'frames of the video', '24')
  .option('--size <WxH>', 'frame size', '32x24')
  .option('--segment-frames <n>', 'frames per segment', '4')
  .action(async (o: { counts: string; frames: string; size: string; segmentFrames: string }) =>
    workers(o.counts.split(',').map(Number), Number(o.frames), o.size, Number(o.segmentFrames)),
  );
program.parseAsync().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
