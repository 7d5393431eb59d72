// `msvsr upscale <input> -o <output>`: video, frame folder or PNG, x4 (the work is in src/node/upscale.ts).
import type { Command } from 'commander';
import { runUpscale } from '../../src/node/upscale.js';
import { DEFAULT_HALO, DEFAULT_OVERLAP } from '../../src/index.js';
import { bytesOption, ENVIRONMENT_HELP, intOption, precisionOption } from './options.js';

interface Opts {
  output: string;
  weights?: string;
  chunk?: number;
  overlap: number;
  maxMemory?: number;
  halo: number;
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
    .option(
      '-c, --chunk <n>',
      "output frames per forward pass (default 10, as PaddleGAN's predictor; the planner may shorten the default when memory is short)",
      intOption(1),
    )
    .option(
      '--overlap <n>',
      `context frames run before and after each chunk, their outputs discarded (0: PaddleGAN's independent chunks)`,
      intOption(0),
      DEFAULT_OVERLAP,
    )
    .option('--max-memory <size>', "GPU memory a plan may use, e.g. 2GiB (default: the adapter's maxBufferSize, clamped to 1..4 GiB)", bytesOption)
    .option('--halo <n>', 'context around each tile, in input pixels, when frames are too large to run whole', intOption(0), DEFAULT_HALO)
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

Chunks and overlap: the video runs as chunks of output frames; each is one forward pass over the chunk and
--overlap context frames on each side, so the recurrence does not restart at a chunk boundary.
--overlap 0 --chunk 10 is PaddleGAN's predictor, bit for bit.

Large frames: when a window of frames does not fit --max-memory (or a storage binding of the adapter), the
frames run as overlapping tiles with --halo pixels of context each side. 'msvsr plan' shows the plan.

--resume: a resumed run restarts at the first chunk that is not completely written and recomputes it with
its context — the result is identical to an uninterrupted run. It needs the same options, weights and
plan (checked against the interrupted run).

Examples:
  msvsr upscale input.mp4 -o output_x4.mp4
  msvsr upscale data/REDS4/000 -o 000_x4 --chunk 10
  msvsr upscale data/Vid4/BDx4 -o Vid4_x4 --weights PP-MSVSR_vimeo90k_x4.pdparams   # every clip folder
  msvsr upscale frame.png -o frame_x4.png --precision f16
  msvsr upscale 1080p.mp4 -o 4k.mp4 --max-memory 2GiB --precision f16   # tiled as the budget needs
  msvsr upscale clip.mp4 -o clip_x4.mp4 --overlap 0 --chunk 10         # PaddleGAN's exact chunks
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
        overlap: opts.overlap,
        maxMemory: opts.maxMemory,
        halo: opts.halo,
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
        const tiles = r.plan?.tiled ? `, ${r.plan.tile.count} tiles of ${r.plan.tile.width}x${r.plan.tile.height}` : '';
        process.stderr.write(
          `msvsr: wrote ${r.output}: ${r.frames} frame${r.frames === 1 ? '' : 's'}${skipped}, ${r.width}x${r.height}${extra}${tiles}, in ${r.seconds.toFixed(1)} s (${r.fps.toFixed(2)} fps) on ${r.device || 'no device'}\n`,
        );
      }
    });
}
