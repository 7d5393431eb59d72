// `msvsr eval`: PSNR / SSIM like PaddleGAN's evaluation (the work is in src/node/eval.ts, the metrics in
// src/metrics/psnr-ssim.ts).
import type { Command } from 'commander';
import { runEval, toJson } from '../../src/node/eval.js';
import { ENVIRONMENT_HELP, intOption, precisionOption } from './options.js';

interface Opts {
  weights?: string;
  lq: string;
  gt: string;
  yChannel?: boolean;
  cropBorder: number;
  chunk?: number;
  precision: 'f32' | 'f16';
  quiet?: boolean;
  json?: boolean;
}

const fmtPsnr = (v: number) => (v === Infinity ? 'inf' : v.toFixed(4));

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('upscale LQ clips and measure PSNR / SSIM against GT, exactly as PaddleGAN evaluates (psnr_ssim.py)')
    .requiredOption('--lq <dir>', 'low-resolution frames: <dir>/<clip>/<frame>.png (REDS, Vid4), or <dir>/<frame>.png for one clip')
    .requiredOption('--gt <dir>', 'ground truth, same layout and file names, 4x the size')
    .option('-w, --weights <file>', 'weights (.pdparams or .safetensors); default: MSVSR_WEIGHTS, else the official PP-MSVSR_reds_x4 weights')
    .option('--y-channel', 'measure BT.601 luma Y (Vid4 / Vimeo-90K / UDM10 convention) instead of RGB (REDS4)')
    .option('--crop-border <n>', 'pixels dropped at each edge before measuring', intOption(0), 0)
    .option('-c, --chunk <n>', 'frames per forward pass (default: each clip in one pass, like PaddleGAN test mode)', intOption(1))
    .option('-p, --precision <p>', 'f32, or f16 (needs shader-f16)', precisionOption, 'f32')
    .option('-q, --quiet', 'no progress on stderr')
    .option('--json', 'print one JSON object: {psnr, ssim, clips: {<clip>: {psnr, ssim, frames}}, ...}; PSNR of identical frames is +inf, written 1e999')
    .addHelpText(
      'after',
      `
PSNR and SSIM are those of PaddleGAN's ppgan/metrics/psnr_ssim.py on the 8-bit output: PSNR over all
values, SSIM with the 11x11 Gaussian window (sigma 1.5), valid region, per channel then averaged; a
clip's value is the mean over its frames, the result the mean over clips.

Examples:
  msvsr eval --lq data/REDS/REDS4_test_sharp_bicubic/X4 --gt data/REDS/REDS4_test_sharp/X4
  msvsr eval --lq data/Vid4/BDx4 --gt data/Vid4/GT --y-channel --weights PP-MSVSR_vimeo90k_x4.pdparams
  msvsr eval --lq lq/ --gt gt/ --chunk 10 --json
${ENVIRONMENT_HELP}`,
    )
    .action(async (opts: Opts) => {
      const r = await runEval({
        lq: opts.lq,
        gt: opts.gt,
        weights: opts.weights,
        yChannel: !!opts.yChannel,
        cropBorder: opts.cropBorder,
        chunk: opts.chunk,
        precision: opts.precision,
        quiet: !!opts.quiet || !!opts.json,
        onClip: opts.json ? undefined : (name, c) => console.log(`${name}\tPSNR ${fmtPsnr(c.psnr)} dB\tSSIM ${c.ssim.toFixed(4)}\t(${c.frames} frames)`),
      });
      if (opts.json) console.log(toJson(r));
      else {
        console.log(
          `mean\tPSNR ${fmtPsnr(r.psnr)} dB\tSSIM ${r.ssim.toFixed(4)}\t(${Object.keys(r.clips).length} clips, ${r.frames} frames, ${r.y_channel ? 'Y' : 'RGB'}, crop ${r.crop_border})`,
        );
      }
    });
}
