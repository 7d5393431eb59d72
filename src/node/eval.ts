// `msvsr eval`: upscale LQ clips and score them against GT like PaddleGAN's `tools/main.py --evaluate-only`
// (MultiStageVSRModel.test_iter + ppgan/metrics/psnr_ssim.py): the 8-bit output (clip, x255, round) against
// the 8-bit GT, per frame; a clip's value is the mean over its frames, the result the mean over clips. Each
// clip is one forward pass, as in PaddleGAN's test mode, unless --chunk cuts it.
import * as path from 'node:path';
import { checkChunkSize, checkPrecision, getDevice, modelFrom, upscaleStream, type Precision } from '../index.js';
import { SequenceMetrics, scoreFrame, type MetricOptions } from '../metrics/psnr-ssim.js';
import { CliError } from './errors.js';
import { statOrUndefined } from './files.js';
import { checkSequence, findSequences, listPngs, readFrame, sequenceFrames, type Sequence } from './frames.js';
import { Progress, downloadReporter } from './progress.js';
import { resolveWeights } from './weights.js';

export interface EvalOptions {
  lq: string;
  gt: string;
  weights?: string;
  yChannel?: boolean;
  cropBorder?: number;
  /** Frames per forward pass; default: the whole clip. */
  chunk?: number;
  precision?: Precision;
  quiet?: boolean;
  tty?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Called with each clip's result as it completes. */
  onClip?: (name: string, r: { psnr: number; ssim: number; frames: number }) => void;
}

export interface EvalResult {
  psnr: number;
  ssim: number;
  clips: Record<string, { psnr: number; ssim: number; frames: number }>;
  frames: number;
  seconds: number;
  device: string;
  y_channel: boolean;
  crop_border: number;
}

function dirOrFail(p: string, what: string): void {
  const st = statOrUndefined(p);
  if (!st) throw new CliError(`${what} ${p}: no such folder`);
  if (!st.isDirectory()) throw new CliError(`${what} ${p}: not a folder`);
}

/** The GT frames matching an LQ clip: the same file names, in the same order. */
function gtFor(lq: Sequence, gtRoot: string): string {
  const dir = lq.name ? path.join(gtRoot, lq.name) : gtRoot;
  const st = statOrUndefined(dir);
  if (!st?.isDirectory()) throw new CliError(`GT ${dir}: no such folder (needed for the LQ clip ${lq.dir})`);
  const names = new Set(listPngs(dir));
  for (const f of lq.frames) if (!names.has(f)) throw new CliError(`GT ${path.join(dir, f)}: missing (the LQ clip ${lq.dir} has ${f})`);
  if (names.size !== lq.frames.length) {
    const lqNames = new Set(lq.frames);
    const extra = [...names].find((n) => !lqNames.has(n));
    throw new CliError(`GT ${dir} has ${names.size} frames but LQ ${lq.dir} has ${lq.frames.length} (e.g. ${extra} has no LQ frame)`);
  }
  return dir;
}

export async function runEval(o: EvalOptions): Promise<EvalResult> {
  const t0 = performance.now();
  dirOrFail(o.lq, 'LQ');
  dirOrFail(o.gt, 'GT');
  const crop = o.cropBorder ?? 0;
  if (!(Number.isInteger(crop) && crop >= 0)) throw new CliError(`--crop-border ${o.cropBorder}: must be an integer >= 0`);
  if (o.chunk !== undefined) checkChunkSize(o.chunk, '--chunk');
  checkPrecision(o.precision, '--precision');
  const seqs = findSequences(o.lq);
  const gts = seqs.map((s) => gtFor(s, o.gt));
  // Sizes before any GPU work: GT = 4x LQ, and the crop border leaves room for SSIM's 11x11 window.
  seqs.forEach((s, k) => {
    const g = checkSequence(gts[k], s.name, s.frames);
    if (g.width !== 4 * s.width || g.height !== 4 * s.height) {
      throw new CliError(
        `GT ${path.join(gts[k], s.frames[0])} is ${g.width}x${g.height}, but the x4 output of ${path.join(s.dir, s.frames[0])} is ${4 * s.width}x${4 * s.height}`,
      );
    }
    const left = Math.min(g.width, g.height) - 2 * crop;
    if (left <= 0) throw new CliError(`--crop-border ${crop}: crop border ${crop} leaves nothing of a ${g.width}x${g.height} image`);
    if (left < 11)
      throw new CliError(`--crop-border ${crop}: leaves ${g.width - 2 * crop}x${g.height - 2 * crop} of ${g.width}x${g.height}; SSIM needs at least 11x11`);
  });
  const total = seqs.reduce((n, s) => n + s.frames.length, 0);
  const progress = new Progress(total, { quiet: o.quiet, tty: o.tty, label: 'eval' });
  try {
    const w = await resolveWeights({
      weights: o.weights,
      env: o.env,
      log: (l) => progress.log(`msvsr: ${l}`),
      onDownload: downloadReporter({ quiet: o.quiet, tty: o.tty }),
    });
    const model = modelFrom(w.weights);
    const mo: MetricOptions = { cropBorder: crop, yChannel: !!o.yChannel };
    const metrics = new SequenceMetrics();
    const gpu = await getDevice();
    try {
      progress.start();
      for (let k = 0; k < seqs.length; k++) {
        const s = seqs[k];
        const clip = s.name || path.basename(path.resolve(s.dir));
        let i = 0;
        // PaddleGAN's numbers: independent chunks (no overlap), whole frames (no tiling), the direct conv.
        for await (const sr of upscaleStream(sequenceFrames(s), {
          model,
          overlap: 0,
          tiling: 'off',
          tune: 'off',
          device: gpu,
          chunkSize: o.chunk ?? s.frames.length,
          precision: o.precision,
          onProgress: () => progress.chunk(),
        })) {
          const file = path.join(gts[k], s.frames[i]);
          const gt = readFrame(file);
          if (gt.width !== sr.width || gt.height !== sr.height) {
            throw new CliError(`GT ${file} is ${gt.width}x${gt.height}, but the x4 output of ${path.join(s.dir, s.frames[i])} is ${sr.width}x${sr.height}`);
          }
          metrics.add(clip, scoreFrame({ ...sr, channels: 3 }, { ...gt, channels: 3 }, mo));
          i++;
          progress.frame();
        }
        o.onClip?.(clip, metrics.clip(clip));
      }
      const r = metrics.result();
      return {
        ...r,
        frames: total,
        seconds: Math.round(performance.now() - t0) / 1000,
        device: gpu.adapter.name,
        y_channel: !!o.yChannel,
        crop_border: crop,
      };
    } finally {
      gpu.destroy();
    }
  } finally {
    progress.end();
  }
}

/** JSON with +-Infinity as 1e999 / -1e999 (valid JSON numbers that parse back to Infinity in JS and Python) and NaN as null. */
export function toJson(v: unknown): string {
  const s = JSON.stringify(v, (_k, x: unknown) =>
    typeof x === 'number' && !Number.isFinite(x) ? (Number.isNaN(x) ? null : x > 0 ? '\u0000+inf' : '\u0000-inf') : x,
  );
  return s.replace(/"\\u0000\+inf"/g, '1e999').replace(/"\\u0000-inf"/g, '-1e999');
}
