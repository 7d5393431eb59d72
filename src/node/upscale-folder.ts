// `msvsr upscale <folder>`: a folder of PNG frames (or of clip folders) -> the same layout x4. The output is
// built in a hidden sibling folder that is renamed into place at the end, and that --resume continues after
// an interruption (Ctrl-C or kill -9: complete frames only, from the first incomplete chunk, identical to an
// uninterrupted run). One run per output (lock.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ChunkPlan, checkHalo, DEFAULT_CHUNK, type Gpu, getDevice, type Model, modelFrom, type Precision, planUpscale, streamStart } from '../index.js';
import { VIDEO_EXTENSIONS } from './codecs.js';
import { CliError, why } from './errors.js';
import { checkOutputParent, onInterrupt, statOrUndefined, tempPath, writeFileAtomic } from './files.js';
import { findSequences, type Sequence, sequenceFrames } from './frames.js';
import { acquireLock } from './lock.js';
import { encodePng } from './png.js';
import { folderTarget, optionDiff, removeStaleTemps, resumePoint } from './resume.js';
import { type Ctx, loadWeights, pump, refuseSame, result, type UpscaleResult } from './upscale-common.js';

export const RESUME_MANIFEST = '.msvsr-resume.json';

/** The hidden folder a frame-folder output is built in (deterministic, so --resume finds it). */
export function partialFolder(output: string): string {
  const out = path.resolve(output);
  return path.join(path.dirname(out), `.${path.basename(out)}.msvsr-partial`);
}

/**
 * What a resumed run must share with the interrupted one for its frames to be those of one uninterrupted
 * run: the options, the weights and, per sequence, the plan (chunk and tiles; a different device or memory
 * budget could plan differently).
 */
interface Manifest {
  version: 2;
  chunk: number | null;
  overlap: number;
  halo: number;
  maxMemory: number | null;
  precision: Precision;
  tune: 'off' | 'cached' | 'full';
  weights: string;
  plans: Record<string, string>;
}

/** The manifest's options, as the user spells them in a message. */
const FOLDER_OPTIONS = {
  chunk: '--chunk',
  overlap: '--overlap',
  halo: '--halo',
  maxMemory: '--max-memory',
  precision: '--precision',
  tune: '--tune',
  weights: '=other weights',
};

export const planKey = (p: ChunkPlan) => `chunk ${p.chunk}, ${p.tile.count} tile(s) of ${p.tile.width}x${p.tile.height} (halo ${p.tile.halo})`;

export async function upscaleFolder(ctx: Ctx): Promise<UpscaleResult> {
  const { o } = ctx;
  const out = path.resolve(o.output);
  if (VIDEO_EXTENSIONS.includes(path.extname(out).toLowerCase()) || path.extname(out).toLowerCase() === '.png') {
    throw new CliError(
      `${o.output}: a folder of frames gives a folder of frames (name the output folder without ${path.extname(out)}); ` +
        'to make a video of the result: ffmpeg -framerate <fps> -i <output>/%08d.png -c:v libx264 -pix_fmt yuv420p -crf 16 out.mp4',
    );
  }
  const seqs = findSequences(o.input);
  const st = statOrUndefined(out);
  if (st && !st.isDirectory()) throw new CliError(`${o.output}: exists and is not a folder (a folder of frames gives a folder of frames)`);
  for (const s of seqs) refuseSame(s.dir, path.join(out, s.name));
  checkOutputParent(out);
  // One run at a time, before anything looks at what an earlier run left.
  const unlock = acquireLock(out);
  try {
    const partial = partialFolder(out);
    const partialExists = !!statOrUndefined(partial);
    // Where frames go (see folderTarget): the hidden folder, or the output itself for --resume on a finished one.
    const target = folderTarget({ resume: !!o.resume, overwrite: !!o.overwrite, outputExists: !!st, partialExists, output: o.output, partial });
    const work = target.work === 'partial' ? partial : out;
    return await planAndRun(ctx, { seqs, out, work, fresh: target.fresh, partial, partialExists });
  } finally {
    unlock();
  }
}

async function planAndRun(
  ctx: Ctx,
  r: { seqs: Sequence[]; out: string; work: string; fresh: boolean; partial: string; partialExists: boolean },
): Promise<UpscaleResult> {
  const { o } = ctx;
  const { seqs, out, work, fresh, partial, partialExists } = r;
  const w = await loadWeights(ctx);
  const model = modelFrom(w.weights);
  const gpu = await getDevice();
  try {
    // Every sequence's plan first: its chunk sets the resume points.
    const plans = seqs.map((s) =>
      planUpscale(
        gpu,
        model.cfg,
        {
          width: s.width,
          height: s.height,
          chunk: o.chunk ?? DEFAULT_CHUNK,
          chunkExplicit: o.chunk !== undefined,
          overlap: ctx.overlap,
          frames: s.frames.length,
        },
        { precision: o.precision, maxMemory: o.maxMemory, halo: o.halo },
      ),
    );
    const manifest: Manifest = {
      version: 2,
      chunk: o.chunk ?? null,
      overlap: ctx.overlap,
      halo: checkHalo(o.halo),
      maxMemory: o.maxMemory ?? null,
      precision: o.precision ?? 'f32',
      tune: o.tune ?? 'cached',
      weights: w.sha256,
      plans: Object.fromEntries(seqs.map((s, i) => [s.name, planKey(plans[i])])),
    };
    return await runFolder(ctx, { seqs, plans, manifest, model, gpu, out, work, fresh, partial, partialExists });
  } finally {
    gpu.destroy();
  }
}

async function runFolder(
  ctx: Ctx,
  r: {
    seqs: Sequence[];
    plans: ChunkPlan[];
    manifest: Manifest;
    model: Model;
    gpu: Gpu;
    out: string;
    work: string;
    fresh: boolean;
    partial: string;
    partialExists: boolean;
  },
): Promise<UpscaleResult> {
  const { o } = ctx;
  const { seqs, plans, manifest, model, gpu, out, work, fresh, partial, partialExists } = r;
  const manifestFile = path.join(work, RESUME_MANIFEST);
  if (!fresh && fs.existsSync(manifestFile)) {
    let prev: Partial<Manifest> & Record<string, unknown> = {};
    try {
      prev = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as typeof prev;
    } catch {
      /* unreadable: treat as different */
    }
    const diff =
      prev.version !== manifest.version ? ['another version of msvsr'] : optionDiff(prev, manifest as unknown as Record<string, unknown>, FOLDER_OPTIONS);
    // Same options but other plans: the device (its limits) changed.
    for (const [name, p] of diff.length ? [] : Object.entries(manifest.plans)) {
      if (prev.plans?.[name] !== p) diff.push(`${name ? `sequence ${name}: ` : ''}the plan ${prev.plans?.[name] ?? 'none'} (now ${p}: another device)`);
    }
    if (diff.length) {
      throw new CliError(`--resume: ${work} was started with ${diff.join(', ')}; resume with the same options, or drop --resume to start over`);
    }
  }
  if (fresh) {
    if (partialExists) fs.rmSync(partial, { recursive: true, force: true });
    try {
      fs.mkdirSync(partial);
    } catch (e) {
      throw new CliError(`cannot write ${o.output}: ${why(e)}`);
    }
  }
  let ok = false;
  let interrupted = false;
  const stopInterrupt = onInterrupt(() => {
    interrupted = true;
    process.stderr.write(`\nmsvsr: the finished frames are in ${work}; run the same command with --resume to continue\n`);
  });
  try {
    removeStaleTemps(work);
    writeFileAtomic(manifestFile, new TextEncoder().encode(JSON.stringify(manifest)));
    const todo = seqs.map((s, k) => {
      const dir = path.join(work, s.name);
      if (!fresh) removeStaleTemps(dir);
      const chunk = plans[k].chunk;
      const from = fresh || !fs.existsSync(dir) ? 0 : resumePoint(s.frames, chunk, (name) => fs.existsSync(path.join(dir, name)));
      return { s, dir, from, chunk };
    });
    const total = todo.reduce((n, p) => n + p.s.frames.length - p.from, 0);
    const skipped = todo.reduce((n, p) => n + p.from, 0);
    if (skipped) ctx.progress.log(`msvsr: --resume: ${skipped} frames already done, restarting at chunk boundaries`);
    let frames = 0;
    const device = gpu.adapter.name;
    if (total > 0) {
      ctx.progress.total = total;
      ctx.progress.start();
      for (const p of todo) {
        if (p.from >= p.s.frames.length) continue;
        fs.mkdirSync(p.dir, { recursive: true });
        // The stream starts early enough that the first resumed window has the context an uninterrupted run
        // gives it; frames before `from` are read for that context only, not computed.
        const start = streamStart(p.from, p.chunk, ctx.overlap);
        frames += await pump(
          sequenceFrames(p.s, start),
          model,
          gpu,
          ctx,
          (f, i) => {
            writeFileAtomic(path.join(p.dir, p.s.frames[i]), encodePng({ width: f.width, height: f.height, data: f.data as Uint8Array }));
            return false;
          },
          { chunk: p.chunk, from: p.from, start, total: p.s.frames.length },
        );
      }
    }
    // Complete: drop the manifest and move the folder into place.
    fs.rmSync(manifestFile, { force: true });
    if (work !== out) {
      if (fs.existsSync(out)) {
        const old = tempPath(out, 'old');
        fs.renameSync(out, old);
        fs.renameSync(work, out);
        fs.rmSync(old, { recursive: true, force: true });
      } else fs.renameSync(work, out);
    }
    ok = true;
    const s0 = seqs[0];
    return result(ctx, { frames, skipped, device, output: o.output, kind: 'frames', width: s0.width * 4, height: s0.height * 4 });
  } finally {
    stopInterrupt();
    if (!ok && !interrupted) {
      if (fresh) fs.rmSync(partial, { recursive: true, force: true });
      else process.stderr.write(`msvsr: the frames finished so far are kept in ${work}; run again with --resume to continue\n`);
    }
  }
}
