// `msvsr upscale <input> -o <output>`: video, frame folder or PNG, x4 (the work is in src/node/upscale.ts).
import type { Command } from 'commander';
import { runUpscale } from '../../src/node/upscale.js';
import { ENVIRONMENT_HELP, intOption, precisionOption } from './options.js';

interface Opts {
  output: string;
  weights?: string;
  chunk: number;
  precision: 'f32' | 'f16';
  overwrite?: boolean;
  resume?: boolean;
  quiet?: boolean;
  json?: boolean;
}

export function registerUpscaleCommand(program: Command): void {
  program
    .command('upscale')
    .description('upscale a video, a folder of PNG frames or a PNG x4 with PP-MSVSR')
    .argument('<input>', 'a video file (anything ffmpeg reads), a folder of PNG frames (or of clip folders), or a PNG')
    .requiredOption('-o, --output <path>', 'output: a video file (.mp4 .mkv .mov .m4v .avi .ts) for a video, a folder for a folder, a .png for a PNG')
    .option(
      '-w, --weights <file>',
      'weights (.pdparams or .safetensors); default: MSVSR_WEIGHTS, else the official PP-MSVSR_reds_x4 weights (downloaded once into the cache)',
    )
    .option('-c, --chunk <n>', "frames per independent forward pass (as PaddleGAN's predictor)", intOption(1), 10)
    .option('-p, --precision <p>', 'f32, or f16 (needs shader-f16)', precisionOption, 'f32')
    .option('--overwrite', 'replace an existing output')
    .option('--resume', 'frame folders: keep the frames an earlier (interrupted) run finished and continue from the first incomplete chunk')
    .option('-q, --quiet', 'no progress or summary on stderr')
    .option('--json', 'print one JSON object on stdout: {frames, seconds, fps, device, output, ...}')
    .addHelpText(
      'after',
      `
Video: frames are piped through ffmpeg (raw RGB, no temporary files) and encoded as H.264 yuv420p CRF 16 at
the input's exact frame rate (e.g. 30000/1001), with its audio copied (or re-encoded to AAC when the
container cannot hold it). Frame folders keep the file names; frames are taken in natural order (2.png
before 10.png). Outputs appear only when complete; an existing output needs --overwrite.

--resume: chunks are independent forward passes, so a resumed run restarts at the first chunk that is
not completely written and recomputes it whole — the result is identical to an uninterrupted run. It
needs the same --chunk, --precision and weights (checked against the interrupted run).

Examples:
  msvsr upscale input.mp4 -o output_x4.mp4
  msvsr upscale data/REDS4/000 -o 000_x4 --chunk 10
  msvsr upscale data/Vid4/BDx4 -o Vid4_x4 --weights PP-MSVSR_vimeo90k_x4.pdparams   # every clip folder
  msvsr upscale frame.png -o frame_x4.png --precision f16
  msvsr upscale frames/ -o frames_x4/ --resume          # continue after Ctrl-C
  msvsr upscale clip.mkv -o clip_x4.mkv --json --quiet
${ENVIRONMENT_HELP}`,
    )
    .action(async (input: string, opts: Opts) => {
      const r = await runUpscale({
        input,
        output: opts.output,
        weights: opts.weights,
        chunk: opts.chunk,
        precision: opts.precision,
        overwrite: !!opts.overwrite,
        resume: !!opts.resume,
        quiet: !!opts.quiet || !!opts.json,
      });
      if (opts.json) {
        console.log(JSON.stringify(r));
      } else if (!opts.quiet) {
        const skipped = r.skipped ? `, ${r.skipped} kept from before` : '';
        const extra = r.kind === 'video' ? `, ${r.rate} fps, audio: ${r.audio}` : '';
        process.stderr.write(
          `msvsr: wrote ${r.output}: ${r.frames} frame${r.frames === 1 ? '' : 's'}${skipped}, ${r.width}x${r.height}${extra}, in ${r.seconds.toFixed(1)} s (${r.fps.toFixed(2)} fps) on ${r.device || 'no device'}\n`,
        );
      }
    });
}
