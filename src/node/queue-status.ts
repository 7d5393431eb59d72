// `msvsr queue status | retry | remove`: what the queue holds per video, read from BullMQ's jobs (states,
// failure reasons, progress, timings), and the two repairs a user needs: run failed jobs again, or take a
// video out of the queue.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CliError } from './errors.js';
import { closeQuietly } from './queue-add.js';
import { joinJobId, QUEUE, segmentJobId, type VideoEntry, VIDEOS_KEY, videoKey } from './queue-jobs.js';
import { connectRedis } from './queue-redis.js';
import { workFolder } from './upscale-video.js';

export interface VideoStatus {
  input: string;
  output: string;
  /** 'done' (joined), 'joining', 'working', 'waiting', 'failed' (a job out of attempts), 'missing' (no jobs). */
  state: 'done' | 'joining' | 'working' | 'waiting' | 'failed' | 'missing';
  segments: { total: number; done: number; running: number; waiting: number; failed: number };
  frames: { total: number; done: number };
  failures: Array<{ job: string; reason: string; attempts: number }>;
  /** Frames per second this video got, from its first segment's start to its last one's end (0 before). */
  fps: number;
  /** Seconds left at the queue's recent pace (undefined when nothing finished lately). */
  eta?: number;
}

export interface QueueStatus {
  videos: VideoStatus[];
  /** Frames per second across all workers over the last RECENT_MS (segments finished in that window). */
  fps: number;
  workers: number;
}

const RECENT_MS = 10 * 60 * 1000;

type AnyJob = Job | undefined;

async function withQueue<T>(redis: string, fn: (q: Queue, conn: Redis) => Promise<T>): Promise<T> {
  const conn = await connectRedis(redis);
  const q = new Queue(QUEUE, { connection: conn });
  try {
    return await fn(q, conn);
  } finally {
    await q.close();
    await closeQuietly(conn);
  }
}

async function entries(conn: Redis): Promise<Array<[string, VideoEntry]>> {
  const all = await conn.hgetall(VIDEOS_KEY);
  return Object.entries(all).map(([k, v]) => [k, JSON.parse(v) as VideoEntry]);
}

/** The videos named by input or output path (all when none is named); an unknown name is an error. */
async function pick(conn: Redis, names: readonly string[]): Promise<Array<[string, VideoEntry]>> {
  const all = await entries(conn);
  if (!names.length) return all;
  return names.map((n) => {
    const hit = all.find(([k, e]) => k === videoKey(n) || e.input === path.resolve(n));
    if (!hit) throw new CliError(`${n}: not in the queue (name a queued video by its input or its output)`);
    return hit;
  });
}

export async function queueStatus(redis: string): Promise<QueueStatus> {
  return withQueue(redis, async (q, conn) => {
    const now = Date.now();
    const videos: Array<{ v: VideoStatus; segJobs: AnyJob[] }> = [];
    for (const [key, e] of await entries(conn)) {
      const join = await q.getJob(joinJobId(key));
      const segJobs = await Promise.all(Array.from({ length: e.segments }, (_, k) => q.getJob(segmentJobId(key, k))));
      const states = await Promise.all(segJobs.map((j) => (j ? j.getState() : 'missing')));
      const joinState = join ? await join.getState() : 'missing';
      const seg = { total: e.segments, done: 0, running: 0, waiting: 0, failed: 0 };
      let framesDone = 0;
      const failures: VideoStatus['failures'] = [];
      segJobs.forEach((j, k) => {
        const s = states[k];
        const len = (j?.data?.segment?.end ?? 0) - (j?.data?.segment?.start ?? 0);
        if (s === 'completed' || joinState === 'completed') {
          seg.done++;
          framesDone += len;
        } else if (s === 'active') {
          seg.running++;
          const p = j?.progress as { done?: number } | undefined;
          framesDone += Math.min(len, Number(p?.done) || 0);
        } else if (s === 'failed') seg.failed++;
        else seg.waiting++;
        if (j?.failedReason && s !== 'completed') failures.push({ job: `segment ${k}`, reason: j.failedReason, attempts: j.attemptsMade });
      });
      if (join?.failedReason && joinState !== 'completed') failures.push({ job: 'join', reason: join.failedReason, attempts: join.attemptsMade });
      const finished = segJobs.filter((j) => j?.finishedOn && j.processedOn);
      const first = Math.min(...finished.map((j) => j!.processedOn!));
      const last = Math.max(...finished.map((j) => j!.finishedOn!));
      const doneFrames = finished.reduce((s, j) => s + (j!.data.segment.end - j!.data.segment.start), 0);
      const state: VideoStatus['state'] =
        joinState === 'completed'
          ? 'done'
          : joinState === 'failed' || seg.failed
            ? 'failed'
            : joinState === 'active' || joinState === 'waiting'
              ? 'joining'
              : joinState === 'missing'
                ? 'missing'
                : seg.running || seg.done
                  ? 'working'
                  : 'waiting';
      videos.push({
        v: {
          input: e.input,
          output: e.output,
          state,
          segments: seg,
          frames: { total: e.frames, done: joinState === 'completed' ? e.frames : framesDone },
          failures,
          fps: finished.length && last > first ? (1000 * doneFrames) / (last - first) : 0,
        },
        segJobs,
      });
    }
    // The queue's pace: frames of the segments finished lately, over the time since the earliest of them began.
    const recent = videos.flatMap((x) => x.segJobs).filter((j) => j?.finishedOn && j.processedOn && now - j.finishedOn < RECENT_MS);
    const since = Math.min(...recent.map((j) => j!.processedOn!));
    const frames = recent.reduce((s, j) => s + (j!.data.segment.end - j!.data.segment.start), 0);
    const fps = recent.length && now > since ? (1000 * frames) / (now - since) : 0;
    for (const { v } of videos) if (fps > 0 && v.state !== 'done') v.eta = (v.frames.total - v.frames.done) / fps;
    const workers = (await q.getWorkers()).length;
    return { videos: videos.map((x) => x.v), fps, workers };
  });
}

/** Runs the failed jobs of the named videos (all when none is named) again. Returns how many. */
export async function queueRetry(redis: string, names: readonly string[]): Promise<number> {
  return withQueue(redis, async (q, conn) => {
    let n = 0;
    for (const [key, e] of await pick(conn, names)) {
      const ids = [...Array.from({ length: e.segments }, (_, k) => segmentJobId(key, k)), joinJobId(key)];
      for (const id of ids) {
        const j = await q.getJob(id);
        if (j && (await j.getState()) === 'failed') {
          await j.retry('failed');
          n++;
        }
      }
    }
    return n;
  });
}

/**
 * Takes the named videos out of the queue: their jobs, their entry and their work folder (the segments done
 * so far); outputs already written stay. A video with a segment running is refused (stop its worker first).
 */
export async function queueRemove(redis: string, names: readonly string[]): Promise<string[]> {
  if (!names.length) throw new CliError('queue remove: name the videos to remove (by input or output)');
  return withQueue(redis, async (q, conn) => {
    const removed: string[] = [];
    for (const [key, e] of await pick(conn, names)) {
      const join = await q.getJob(joinJobId(key));
      if (join) {
        try {
          await q.remove(join.id!, { removeChildren: true });
        } catch (err) {
          throw new CliError(
            `${e.input}: a segment is being worked on (${(err as Error).message}); stop that worker, or wait for the segment, then remove again`,
          );
        }
      }
      await conn.hdel(VIDEOS_KEY, key);
      fs.rmSync(workFolder(e.output), { recursive: true, force: true });
      removed.push(e.input);
    }
    return removed;
  });
}
