// `msvsr upscale <video>`: a video in, a video out, nothing lost. Before any work: the encoder, pixel format,
// colour, deinterlacing and every other stream are decided (and impossible combinations refused); the whole
// video is analysed once (each frame's timestamp, the hard cuts). Then the frames [a, b) asked for run
// through the network in segments of whole chunks, each encoded to its own file in a work folder beside the
// output with the input frames' own timestamps, and the segments are joined (no re-encode) with the other
// streams, chapters and metadata. After an interruption, --resume continues from the first unfinished
// segment, with the context frames its first window needs: the frames are those of an uninterrupted run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkHalo, DEFAULT_CHUNK, type Frame, getDevice, type Gpu, type Model, modelFrom, planUpscale } from '../index.js';
import { chunkStartAtOrBefore, framesRead, streamStart } from '../windows.js';
import { type ChildProcess, killIfRunning } from './child.js';
import { containerOf, VIDEO_EXTENSIONS } from './codecs.js';
import { describeColour } from './colour.js';
import { bicubic } from '../index.js';
import { sideBySide } from './compare.js';
import { decodeFrames } from './decode.js';
import { Encoder } from './encode.js';
import { CliError, why } from './errors.js';
import { findFfmpeg } from './ffmpeg.js';
import { checkOutputParent, onCleanup, onInterrupt, publishOnce, removeLeftovers, statOrUndefined, tempPath, writeFileAtomic } from './files.js';
import { join, writeConcatList } from './join.js';
import { acquireLock } from './lock.js';
import { MUX_CHECK } from './streams.js';
import { probeVideo, rationalString } from './probe.js';
import { folderTarget, optionDiff, removeStaleTemps } from './resume.js';
import { planSegments, type Segment, segmentFramesFor } from './segments.js';
import { type Ctx, loadWeights, pump, result, type UpscaleResult } from './upscale-common.js';
import { planKey } from './upscale-folder.js';
import { type Analysis, analyseVideo, resolveRange, type VideoJob, videoJob } from './video-job.js';

/** The hidden folder beside the output that holds a job's segments until they are joined. */
export function workFolder(output: string): string {
  const out = path.resolve(output);
  return path.join(path.dirname(out), `.${path.basename(out)}.msvsr-work`);
}

/** Segment k's file (mov or mp4: see Encoder.segment in codecs.ts). */
export const segmentFile = (work: string, k: number, ext: string) => path.join(work, `seg-${String(k).padStart(5, '0')}.${ext}`);

export async function upscaleVideo(ctx: Ctx): Promise<UpscaleResult> {
  const { o } = ctx;
  const container = containerOf(o.output);
  if (!container) throw new CliError(`${o.output}: a video input gives a video output; use one of ${VIDEO_EXTENSIONS.join(' ')}`);
  const st = statOrUndefined(o.output);
  if (st?.isDirectory()) throw new CliError(`${o.output}: is a folder; give the output video file name`);
  if (st && !o.overwrite && !o.resume) throw new CliError(`${o.output}: already exists (use --overwrite to replace it)`);
  checkOutputParent(o.output);
  const tools = findFfmpeg(o.env);
  const info = probeVideo(tools, o.input);
  const unlock = acquireLock(o.output);
  try {
    // What a killed run left beside the output (the join's output, the stream checks' scratch files).
    const stale = removeLeftovers(o.output, ['partial', MUX_CHECK]);
    if (stale.length) ctx.progress.log(`msvsr: removed ${stale.join(', ')}, left by an interrupted run`);
    return await runJob(ctx, videoJob(ctx, tools, info, container));
  } finally {
    unlock();
  }
}

async function runJob(ctx: Ctx, job: VideoJob): Promise<UpscaleResult> {
  const { o } = ctx;
  const { tools } = job;
  const work = workFolder(o.output);
  const workExists = !!statOrUndefined(work);
  const target = folderTarget({
    resume: !!o.resume,
    overwrite: !!o.overwrite,
    outputExists: fs.existsSync(o.output),
    partialExists: workExists,
    output: o.output,
    partial: work,
    holds: 'segments',
  });
  if (target.work === 'output') {
    // --resume on a finished output: nothing to do.
    const done = probeVideo(tools, o.output);
    return result(ctx, { frames: 0, skipped: done.frames ?? 0, device: '', output: o.output, kind: 'video', width: done.width, height: done.height });
  }
  if (target.fresh) {
    fs.rmSync(work, { recursive: true, force: true });
    try {
      fs.mkdirSync(work);
    } catch (e) {
      throw new CliError(`cannot write ${o.output}: ${why(e)}`);
    }
  } else removeStaleTemps(work);
  let keep = !target.fresh;
  let interrupted = false;
  const stopInterrupt = onInterrupt(() => {
    interrupted = true;
    process.stderr.write(`\nmsvsr: the finished segments are in ${work}; run the same command with --resume to continue\n`);
  });
  try {
    const r = await runSegments(ctx, job, work, () => (keep = true));
    fs.rmSync(work, { recursive: true, force: true });
    return r;
  } finally {
    stopInterrupt();
    if (fs.existsSync(work) && !interrupted) {
      if (keep) process.stderr.write(`msvsr: the segments finished so far are kept in ${work}; run again with --resume to continue\n`);
      else fs.rmSync(work, { recursive: true, force: true });
    }
  }
}

interface Manifest extends Record<string, unknown> {
  version: 3;
  segmentFrames: number | null;
}

/** The manifest's options, as the user spells them in a message. */
const VIDEO_OPTIONS: Record<string, string> = {
  input: '=another input (or the input file changed)',
  weights: '=other weights',
  chunk: '--chunk',
  overlap: '--overlap',
  halo: '--halo',
  maxMemory: '--max-memory',
  precision: '--precision',
  tune: '--tune',
  codec: '--codec',
  crf: '--crf',
  preset: '--preset',
  encoderArgs: '--encoder-args',
  pixFmt: '--pix-fmt',
  deinterlace: 'deinterlacing',
  range: 'frames',
  compare: '--compare',
  cuts: 'scene cuts',
  drop: '--drop',
  plan: 'the plan',
};

function checkManifest(file: string, m: Manifest, work: string): Manifest | undefined {
  if (!fs.existsSync(file)) return undefined;
  let prev: Partial<Manifest> = {};
  try {
    prev = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  } catch {
    /* unreadable: treat as different */
  }
  const diff = prev.version !== m.version ? ['another version of msvsr'] : optionDiff(prev, m, VIDEO_OPTIONS);
  if (diff.length) throw new CliError(`--resume: ${work} was started with ${diff.join(', ')}; resume with the same options, or drop --resume to start over`);
  return prev as Manifest;
}

async function runSegments(ctx: Ctx, job: VideoJob, work: string, kept: () => void): Promise<UpscaleResult> {
  const { o } = ctx;
  const { info } = job;
  const { pts, cuts } = await analyseVideo(job, work);
  const n = pts.length;
  const [a, b] = resolveRange(o, pts, info);
  const w = await loadWeights(ctx);
  const model = modelFrom(w.weights);
  const gpu = await getDevice();
  try {
    const plan = planUpscale(
      gpu,
      model.cfg,
      { width: info.width, height: info.height, chunk: o.chunk ?? DEFAULT_CHUNK, chunkExplicit: o.chunk !== undefined, overlap: ctx.overlap, frames: n },
      { precision: o.precision, maxMemory: o.maxMemory, halo: o.halo },
    );
    const chunk = plan.chunk;
    if (o.segmentFrames !== undefined && o.segmentFrames % chunk !== 0)
      throw new CliError(`--segment-frames ${o.segmentFrames}: must be a multiple of the chunk (${chunk})`);
    const manifest: Manifest = {
      version: 3,
      ...job.identity,
      weights: w.sha256,
      chunk: o.chunk ?? null,
      overlap: ctx.overlap,
      halo: checkHalo(o.halo),
      maxMemory: o.maxMemory ?? null,
      precision: o.precision ?? 'f32',
      tune: o.tune ?? 'cached',
      range: [a, b],
      cuts,
      plan: planKey(plan),
      segmentFrames: o.segmentFrames ?? null,
    };
    const manifestFile = path.join(work, 'manifest.json');
    const prev = checkManifest(manifestFile, manifest, work);
    if (o.segmentFrames !== undefined && prev?.segmentFrames && prev.segmentFrames !== o.segmentFrames) {
      throw new CliError(
        `--resume: ${work} was started with --segment-frames ${prev.segmentFrames} (now ${o.segmentFrames}); resume with the same options, or drop --resume to start over`,
      );
    }
    manifest.segmentFrames ??= prev?.segmentFrames ?? null;
    const save = () => writeFileAtomic(manifestFile, new TextEncoder().encode(JSON.stringify(manifest)));
    save();
    let segs = manifest.segmentFrames ? planSegments(a, b, n, chunk, cuts, manifest.segmentFrames) : undefined;
    const done = segs ? segs.findIndex((s) => !fs.existsSync(segmentFile(work, s.index, job.segment))) : 0;
    const first = done < 0 ? undefined : segs ? segs[done] : undefined;
    const from = first ? first.from : segs ? b : chunkStartAtOrBefore(a, chunk, cuts);
    const skipped = segs ? segs.slice(0, done < 0 ? segs.length : done).reduce((s, g) => s + g.end - g.start, 0) : 0;
    if (skipped) {
      kept();
      ctx.progress.log(`msvsr: --resume: ${skipped} frames in ${done < 0 ? segs!.length : done} segment(s) already done; continuing at frame ${from}`);
    }
    let frames = 0;
    if (from < b) {
      const decided = (sf: number) => {
        manifest.segmentFrames = sf;
        save();
      };
      const r = await computeSegments(ctx, job, { work, model, gpu, chunk, cuts, pts, a, b, from, segs, kept, decided });
      frames = r.frames;
      segs = r.segs;
    }
    if (!segs) throw new Error('no segments');
    await joinSegments(job, work, segs, pts, [a, b], n);
    return result(ctx, {
      frames,
      skipped,
      device: gpu.adapter.name,
      output: o.output,
      kind: 'video',
      width: info.width * 4 * (o.compare ? 2 : 1),
      height: info.height * 4,
      rate: rationalString(info.rate),
      video: {
        codec: job.codec,
        pixFmt: job.pixFmt,
        colour: describeColour(job.colourOut),
        deinterlaced: job.deinterlace,
        range: [a, b],
        inputFrames: n,
        cuts,
        segments: segs.length,
        streams: job.streams.streams.map((s) => `#${s.index} ${s.kind} ${s.codec} -> ${s.to}`),
        chapters: job.streams.chapters && !(a > 0 || b < n), // a preview leaves them out
      },
    });
  } finally {
    gpu.destroy();
  }
}

interface Run {
  work: string;
  model: Model;
  gpu: Gpu;
  chunk: number;
  cuts: number[];
  pts: number[];
  a: number;
  b: number;
  /** The chunk start computing begins at. */
  from: number;
  /** The segments, when their length is known (else decided after the first window). */
  segs?: Segment[];
  kept: () => void;
  /** Told the segment length once it is decided (after the first window). */
  decided: (segmentFrames: number) => void;
}

/** Runs the network from `r.from` and encodes each segment's frames into its file. */
async function computeSegments(ctx: Ctx, job: VideoJob, r: Run): Promise<{ frames: number; segs: Segment[]; published: number }> {
  const { o } = ctx;
  const { tools, info } = job;
  const { work, chunk, cuts, pts, a, b, from } = r;
  const n = pts.length;
  const s = streamStart(from, chunk, ctx.overlap, cuts);
  const e = framesRead(b, n, chunk, ctx.overlap, cuts);
  const tb = info.timeBase;
  const seek = s > 0 ? Math.max(0, (pts[s - 1] * tb.num) / tb.den - info.startTime - 1) : 0;
  let decoder: ChildProcess | undefined;
  let encoder: Encoder | undefined;
  let tmp: string | undefined;
  const stop = () => {
    encoder?.kill();
    killIfRunning(decoder);
  };
  // Ctrl-C: stop ffmpeg and drop the unfinished segment (finished ones stay for --resume)
  const unregister = onCleanup(() => {
    stop();
    if (tmp) fs.rmSync(tmp, { force: true });
  });
  const lr = new Map<number, Frame>();
  const source = (async function* () {
    let i = s;
    for await (const f of decodeFrames(
      tools,
      {
        info,
        colour: job.colourIn,
        bits: job.bits,
        deinterlace: job.deinterlace,
        range: { startPts: s > 0 ? pts[s] : undefined, endPts: e < n ? pts[e] : undefined, seek },
        expect: e - s,
      },
      (p) => (decoder = p),
    )) {
      if (o.compare && i >= a) lr.set(i, f);
      i++;
      yield f;
    }
  })();
  let segs = r.segs;
  let k = segs ? segs.findIndex((g) => g.from === from) : 0;
  let written = 0;
  let published = 0;
  const t0 = performance.now();
  ctx.progress.total = b - from;
  ctx.progress.start();
  try {
    await pump(
      source,
      r.model,
      r.gpu,
      ctx,
      async (f, i) => {
        if (!segs) {
          // The first window is done: segments of a few minutes of work at its pace.
          const sf = segmentFramesFor(chunk, (performance.now() - t0) / 1000);
          segs = planSegments(a, b, n, chunk, cuts, sf);
          r.decided(sf);
          k = 0;
        }
        if (i < a) return false;
        const seg = segs[k];
        const lq = lr.get(i);
        lr.delete(i);
        const out = lq ? sideBySide(bicubic(lq), f) : f;
        if (!encoder) {
          tmp = tempPath(segmentFile(work, seg.index, job.segment), 'partial');
          encoder = new Encoder(tools, {
            output: tmp,
            muxer: job.segment,
            width: out.width,
            height: out.height,
            bits: job.bits,
            timeBase: tb,
            firstPts: pts[seg.start],
            frameNs: (1e9 * info.rate.den) / info.rate.num,
            codec: job.codec,
            codecArgs: job.codecArgs,
            pixFmt: job.pixFmt,
            colour: job.colourOut,
            extra: job.extra,
          });
        }
        await encoder.write(out, pts[i]);
        written++;
        if (i + 1 === seg.end) {
          await encoder.finish();
          if (encoder.frames !== seg.end - seg.start)
            throw new Error(`segment ${seg.index}: ${encoder.frames} frames encoded, expected ${seg.end - seg.start}`);
          // A queued segment may have been published meanwhile by a worker that was taken for dead.
          if (publishOnce(tmp!, segmentFile(work, seg.index, job.segment))) published++;
          encoder = undefined;
          tmp = undefined;
          r.kept();
          k++;
        }
        return i + 1 >= b;
      },
      { chunk, from, start: s, total: n, cuts },
    );
    if (!segs || k < segs.length) throw new CliError(`${info.file}: the video ended before frame ${b}`);
    return { frames: written, segs, published };
  } finally {
    stop();
    unregister();
    if (tmp) fs.rmSync(tmp, { force: true });
  }
}

/**
 * One segment of a queued video (queue-worker.ts): its chunks computed with their context frames, encoded and
 * published into the work folder. Returns the frames written and whether this call published the file (false:
 * another worker published it first, and this one's copy was dropped).
 */
export async function upscaleSegment(
  ctx: Ctx,
  job: VideoJob,
  work: string,
  seg: Segment,
  analysis: Analysis,
  model: Model,
  gpu: Gpu,
): Promise<{ frames: number; published: boolean }> {
  const { pts, cuts } = analysis;
  const chunk = ctx.o.chunk ?? DEFAULT_CHUNK;
  const r = await computeSegments(ctx, job, {
    work,
    model,
    gpu,
    chunk,
    cuts,
    pts,
    a: seg.start,
    b: seg.end,
    from: seg.from,
    segs: [seg],
    kept: () => {},
    decided: () => {},
  });
  return { frames: r.frames, published: r.published === 1 };
}

/** Joins the segments and the other streams into a temporary file, then moves it into place. */
export async function joinSegments(job: VideoJob, work: string, segs: Segment[], pts: number[], [a, b]: [number, number], n: number): Promise<void> {
  const { o } = job.ctx;
  const { tools, info } = job;
  const list = path.join(work, 'concat.ffconcat');
  const files = segs.map((g) => segmentFile(work, g.index, job.segment));
  writeConcatList(
    list,
    files,
    segs.map((g) => pts[g.start]),
    info.timeBase,
  );
  const tmp = tempPath(o.output);
  let p: ChildProcess | undefined;
  const unregister = onCleanup(() => {
    killIfRunning(p);
    fs.rmSync(tmp, { force: true });
  });
  try {
    const secs = (i: number) => (pts[i] * info.timeBase.num) / info.timeBase.den - info.startTime;
    const preview = a > 0 || b < n ? { from: secs(a), to: b < n ? secs(b) : undefined } : undefined;
    await join(
      tools,
      { source: info, list, firstPts: pts[segs[0].start], streams: job.streams, colour: job.colourOut, muxer: job.container.muxer, output: tmp, preview },
      (c) => (p = c),
    );
    if (!o.overwrite && fs.existsSync(o.output)) throw new CliError(`${o.output}: appeared while working (use --overwrite to replace it)`);
    fs.renameSync(tmp, o.output);
  } finally {
    unregister();
    fs.rmSync(tmp, { force: true });
  }
}
