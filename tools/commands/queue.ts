// `msvsr queue add|status|retry|remove` and `msvsr worker`: segment jobs on BullMQ + Redis (the work is in
// src/node/queue-*.ts).
import { type Command, Option } from 'commander';
import { formatDuration } from '../../src/node/progress.js';
import { queueAdd } from '../../src/node/queue-add.js';
import { queueRemove, queueRetry, queueStatus } from '../../src/node/queue-status.js';
import { runWorker } from '../../src/node/queue-worker.js';
import { ENVIRONMENT_HELP, intOption } from './options.js';
import { type EngineVideoOpts, engineOptions, videoOptions } from './upscale.js';

const REDIS_HELP = 'Redis URL, redis://[user:password@]host[:port][/db] (default: MSVSR_REDIS, else redis://127.0.0.1:6379; the password is never printed)';

/** Not a commander default: a default is printed in --help, and this one may hold a password. */
const redisUrl = (o: { redis?: string }) => o.redis ?? process.env.MSVSR_REDIS ?? 'redis://127.0.0.1:6379';

interface AddOpts extends EngineVideoOpts {
  output: string;
  redis?: string;
  ext?: string;
  overwrite?: boolean;
  quiet?: boolean;
  json?: boolean;
}

export function registerQueueCommands(program: Command): void {
  const queue = program
    .command('queue')
    .description('spread videos over many workers: segment jobs on BullMQ + Redis (see msvsr worker)')
    .addHelpText(
      'after',
      `
A video is cut into segments of whole chunks (with their context frames); each segment is a job any worker
can take, and a join job concatenates the segments (no re-encoding) with the source's other streams once
all are done. The result is the file 'msvsr upscale' writes with the same --segment-frames. Inputs, outputs
and weights must be on a path every worker sees (a shared folder), inside the workers' --root folders.

Examples:
  msvsr queue add films/*.mkv -o /shared/out --redis redis://:secret@queue-host:6379 --segment-frames 300
  msvsr worker --redis redis://:secret@queue-host:6379 --root /shared    # on each GPU machine
  msvsr queue status --redis redis://:secret@queue-host:6379
  msvsr queue retry --redis ...        # the failed jobs, again
  msvsr queue remove films/a.mkv --redis ...`,
    );

  const add = queue
    .command('add')
    .description('probe, analyse and queue videos: one job per segment and a join job per video')
    .argument('<inputs...>', 'video files')
    .requiredOption('-o, --output <dir>', 'the folder the upscaled videos are written to (named after their inputs)')
    .option('--redis <url>', REDIS_HELP)
    .option('--ext <ext>', "the outputs' container: mkv, mp4, mov, webm… (default: the input's when we write it, else mkv)");
  videoOptions(engineOptions(add))
    .option('--overwrite', 'replace outputs that exist (when the join runs)')
    .option('-q, --quiet', 'no messages on stderr')
    .option('--json', 'print what was queued as JSON on stdout')
    .addHelpText('after', ENVIRONMENT_HELP)
    .action(async (inputs: string[], o: AddOpts) => {
      const r = await queueAdd({
        inputs,
        outDir: o.output,
        redis: redisUrl(o),
        ext: o.ext,
        weights: o.weights,
        model: o.model,
        chunk: o.chunk,
        overlap: o.overlap,
        maxMemory: o.maxMemory,
        halo: o.halo,
        precision: o.precision,
        tune: o.tune,
        codec: o.codec,
        crf: o.crf,
        preset: o.preset,
        encoderArgs: o.encoderArgs,
        pixFmt: o.pixFmt,
        copyStreams: o.copyStreams,
        drop: o.drop,
        deinterlace: o.deinterlace,
        segmentFrames: o.segmentFrames,
        sceneCuts: o.sceneCuts,
        sceneThreshold: o.sceneThreshold,
        overwrite: !!o.overwrite,
        quiet: !!o.quiet || !!o.json,
      });
      if (o.json) console.log(JSON.stringify(r));
    });

  queue
    .command('status')
    .description('per video: segments done, running, failed (with the reasons), frames, fps and ETA')
    .option('--redis <url>', REDIS_HELP)
    .option('--json', 'print the status as JSON')
    .action(async (o: { redis?: string; json?: boolean }) => {
      const s = await queueStatus(redisUrl(o));
      if (o.json) {
        console.log(JSON.stringify(s));
        return;
      }
      if (!s.videos.length) console.log('the queue holds no video');
      for (const v of s.videos) {
        const g = v.segments;
        const eta = v.eta !== undefined ? `, ETA ${formatDuration(v.eta)}` : '';
        console.log(
          `${v.input} -> ${v.output}: ${v.state}; segments ${g.done}/${g.total} done, ${g.running} running, ${g.waiting} waiting, ${g.failed} failed; ` +
            `frames ${v.frames.done}/${v.frames.total}${v.fps ? `, ${v.fps.toFixed(2)} fps` : ''}${eta}`,
        );
        for (const f of v.failures) console.log(`  ${f.job} (attempt ${f.attempts}): ${f.reason}`);
      }
      console.log(`queue: ${s.fps.toFixed(2)} fps over the last 10 minutes, ${s.workers} worker connection(s)`);
    });

  queue
    .command('retry')
    .description('run the failed jobs of the named videos (default: all) again')
    .argument('[videos...]', 'queued videos, by input or output path')
    .option('--redis <url>', REDIS_HELP)
    .action(async (videos: string[], o: { redis?: string }) => {
      const n = await queueRetry(redisUrl(o), videos);
      console.error(`msvsr: ${n} failed job(s) queued again`);
    });

  queue
    .command('remove')
    .description('take videos out of the queue (their jobs and the segments done so far; outputs written stay)')
    .argument('<videos...>', 'queued videos, by input or output path')
    .option('--redis <url>', REDIS_HELP)
    .action(async (videos: string[], o: { redis?: string }) => {
      const removed = await queueRemove(redisUrl(o), videos);
      console.error(`msvsr: removed ${removed.join(', ')}`);
    });

  program
    .command('worker')
    .description('take segment and join jobs from the queue (msvsr queue) until stopped')
    .option('--redis <url>', REDIS_HELP)
    .option('--concurrency <n>', 'jobs at once in this process (they share its GPU)', intOption(1), 1)
    .option('--adapter <name>', 'WebGPU adapter name filter (default: MSVSR_ADAPTER, else the first adapter)')
    .option(
      '--root <dir...>',
      'folders whose videos, weights and outputs this worker serves; a job naming a path elsewhere is refused (default: the current folder)',
    )
    .option('--allow-encoder-args', 'accept jobs with --encoder-args (free ffmpeg arguments: only from a queue you trust)')
    .addOption(
      new Option('--lock-seconds <n>', 'how long a job stays with a worker that stopped answering before another takes it').argParser(intOption(5)).default(30),
    )
    .option('-q, --quiet', 'no messages on stderr')
    .addHelpText(
      'after',
      `
Stop a worker with Ctrl-C or SIGTERM: the jobs it held go back to the queue after --lock-seconds (and after
a crash or kill -9 the same way); a segment already published is never redone.${ENVIRONMENT_HELP}
  MSVSR_REDIS         the Redis URL when --redis is not given`,
    )
    .action(
      async (o: {
        redis?: string;
        concurrency: number;
        adapter?: string;
        root?: string[];
        allowEncoderArgs?: boolean;
        lockSeconds: number;
        quiet?: boolean;
      }) => {
        await runWorker({
          redis: redisUrl(o),
          concurrency: o.concurrency,
          adapter: o.adapter,
          roots: o.root,
          allowEncoderArgs: !!o.allowEncoderArgs,
          lockSeconds: o.lockSeconds,
          quiet: !!o.quiet,
        });
      },
    );
}
