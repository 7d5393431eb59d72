// `msvsr upscale <input> -o <output>`: video, frame folder or PNG, x4 (the work is in src/node/upscale.ts).
import { type Command, InvalidArgumentError, Option } from 'commander';
import { runUpscale } from '../../src/node/upscale.js';
import { DEFAULT_HALO, DEFAULT_OVERLAP } from '../../src/index.js';
import { ENCODER_NAMES, VIDEO_EXTENSIONS } from '../../src/node/codecs.js';
import { DEFAULT_SCENE_THRESHOLD } from '../../src/node/scenes.js';
import { DROPPABLE, type Droppable } from '../../src/node/streams.js';
import { parseTime } from '../../src/node/video-job.js';
import { MODEL_NAMES, type ModelName } from '../../src/node/weights.js';
import { bytesOption, ENVIRONMENT_HELP, intOption, precisionOption } from './options.js';

/** "A:B": output frames A to B − 1. */
function framesOption(v: string): [number, number] {
  const m = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(v);
  if (!m || Number(m[1]) >= Number(m[2])) throw new InvalidArgumentError('expected A:B with A < B (frames A to B - 1, counted from 0).');
  return [Number(m[1]), Number(m[2])];
}

function dropOption(v: string): Droppable[] {
  const kinds = v.split(',').map((k) => k.trim());
  const bad = kinds.filter((k) => !(DROPPABLE as readonly string[]).includes(k));
  if (bad.length) throw new InvalidArgumentError(`${bad.join(', ')}: use a comma-separated list of ${DROPPABLE.join(', ')}.`);
  return kinds as Droppable[];
}

function timeOption(name: string): (v: string) => number {
  return (v) => {
    try {
      return parseTime(v, name);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}

function modelOption(v: string): ModelName {
  if (!(MODEL_NAMES as string[]).includes(v)) throw new InvalidArgumentError(`use one of ${MODEL_NAMES.join(', ')}.`);
  return v as ModelName;
}

function thresholdOption(v: string): number {
  const x = Number(v);
  if (!(x > 0 && x <= 1)) throw new InvalidArgumentError('a score in (0, 1].');
  return x;
}

/** What engineOptions and videoOptions parse. */
export interface EngineVideoOpts {
  weights?: string;
  model?: ModelName;
  chunk?: number;
  overlap: number;
  maxMemory?: number;
  halo: number;
  precision: 'f32' | 'f16';
  tune: 'off' | 'cached' | 'full';
  codec?: string;
  crf?: number;
  preset?: string;
  encoderArgs?: string;
  pixFmt?: string;
  copyStreams: boolean;
  drop?: Droppable[];
  deinterlace: boolean;
  segmentFrames?: number;
  sceneCuts: boolean;
  sceneThreshold?: number;
}

interface Opts extends EngineVideoOpts {
  output: string;
  start?: number;
  duration?: number;
  frames?: [number, number];
  compare?: boolean;
  overwrite?: boolean;
  resume?: boolean;
  quiet?: boolean;
  json?: boolean;
}

/** The network's options (weights, chunks, tiles, precision, conv variants), shared with `msvsr queue add`. */
export function engineOptions(cmd: Command): Command {
  return cmd
    .option(
      '-w, --weights <file>',
      'weights (.pdparams or .safetensors); default: MSVSR_WEIGHTS, else the official PP-MSVSR_reds_x4 weights (downloaded once into the cache)',
    )
    .option('-m, --model <name>', `one of PaddleGAN's published weights, downloaded once into the cache: ${MODEL_NAMES.join(', ')}`, modelOption)
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
    .addOption(
      new Option(
        '--tune <mode>',
        "conv variants: the direct conv everywhere (off), this adapter's measured choices (cached), or measure what is not measured yet (full)",
      )
        .choices(['off', 'cached', 'full'])
        .default('cached'),
    );
}

/** The encoding and stream options of a video job, shared with `msvsr queue add`. */
export function videoOptions(cmd: Command): Command {
  return cmd
    .option('--codec <name>', `video encoder: ${ENCODER_NAMES.join(', ')} (default libx264; refused, naming what it has, when the local ffmpeg lacks it)`)
    .option('--crf <n>', 'encoder quality (default: libx264 16, libx265 18, VP9/AV1 24)', intOption(0))
    .option('--preset <p>', 'encoder speed preset (libx264/libx265: ultrafast..veryslow; libsvtav1 0-13; VP9/AV1: cpu-used)')
    .option('--encoder-args <args>', 'more encoder options, passed to ffmpeg as they are (e.g. "-tune film")')
    .option('--pix-fmt <fmt>', "output pixel format (default: the input's chroma layout, 10-bit when the input is above 8 bits)")
    .option('--no-copy-streams', 'keep the video alone: no other stream, no chapters, no metadata')
    .option('--drop <kinds>', `leave out: a comma-separated list of ${DROPPABLE.join(', ')}`, dropOption)
    .option('--no-deinterlace', 'keep interlaced input as it is (default: deinterlaced with bwdif)')
    .option(
      '--segment-frames <n>',
      'frames per segment of a video job, a multiple of the chunk (default: a few minutes of work; queue: 30 chunks)',
      intOption(1),
    )
    .option('--no-scene-cuts', 'do not restart chunks at hard cuts')
    .option('--scene-threshold <x>', `scene-cut score from which a frame starts a new scene (default ${DEFAULT_SCENE_THRESHOLD})`, thresholdOption);
}

export function registerUpscaleCommand(program: Command): void {
  const cmd = program
    .command('upscale')
    .description('upscale a video, a folder of PNG frames or a PNG x4 with PP-MSVSR')
    .argument('<input>', 'a video file (anything ffmpeg reads), a folder of PNG frames (or of clip folders), or a PNG')
    .requiredOption('-o, --output <path>', `output: a video file (${VIDEO_EXTENSIONS.join(' ')}) for a video, a folder for a folder, a .png for a PNG`);
  videoOptions(engineOptions(cmd))
    .option('--overwrite', 'replace an existing output')
    .option('--resume', 'continue an interrupted run: a video from its first unfinished segment, a folder from its first incomplete chunk')
    .option('--start <time>', 'preview: start at this time (seconds, or [h:]m:s from the first frame)', timeOption('--start'))
    .option('--duration <time>', 'preview: this long (seconds, or [h:]m:s)', timeOption('--duration'))
    .option('--frames <A:B>', 'preview: output frames A to B - 1 (counted from 0)', framesOption)
    .option('--compare', 'write bicubic | ours side by side')
    .option('-q, --quiet', 'no progress or summary on stderr')
    .option('--json', 'print one JSON object on stdout: {frames, seconds, fps, device, output, ...}')
    .addHelpText(
      'after',
      `
Video: frames are piped through ffmpeg (RGB, no temporary images); each output frame keeps its input frame's
timestamp (constant or variable frame rate, start offset kept, no frame dropped or repeated). The encoder is
--codec (H.264 CRF 16 by default); the output keeps the input's colour matrix, range, primaries and
transfer (untagged input: BT.601 below 720 lines, BT.709 from 720), and 10 bits when the input has more
than 8. Every other stream is carried: audio, subtitles (converted where the container needs it, e.g. to
mov_text in MP4), attachments, data, chapters and metadata; what the output's container cannot hold is
refused before any work. Interlaced input is deinterlaced (bwdif). The video runs in segments, each encoded
to a file in a hidden folder beside the output and joined at the end; --resume continues after any
interruption. Hard cuts start new chunks (the recurrence does not carry one scene into the next).
Frame folders keep the file names; frames are taken in natural order (2.png before 10.png). Outputs appear
only when complete; an existing output needs --overwrite.

Chunks and overlap: the video runs as chunks of output frames; each is one forward pass over the chunk and
--overlap context frames on each side, so the recurrence does not restart at a chunk boundary.
--overlap 0 --chunk 10 is PaddleGAN's predictor, bit for bit.

Large frames: when a window of frames does not fit --max-memory (or a storage binding of the adapter), the
frames run as overlapping tiles with --halo pixels of context each side. 'msvsr plan' shows the plan.

--resume: a resumed run restarts at the first segment (video) or chunk (folder) that is not completely
written and recomputes it with its context — the result is identical to an uninterrupted run. It needs the
same options, weights and plan (checked against the interrupted run). One run per output at a time.

Preview: --start 1:00 --duration 5 (or --frames 1500:1625) writes just those frames — computed with the
context frames they have in a whole run — into a short clip; --compare puts bicubic x4 on its left.

Examples:
  msvsr upscale input.mp4 -o output_x4.mp4
  msvsr upscale data/REDS4/000 -o 000_x4 --chunk 10
  msvsr upscale data/Vid4/BDx4 -o Vid4_x4 --weights PP-MSVSR_vimeo90k_x4.pdparams   # every clip folder
  msvsr upscale frame.png -o frame_x4.png --precision f16
  msvsr upscale 1080p.mp4 -o 4k.mp4 --max-memory 2GiB --precision f16   # tiled as the budget needs
  msvsr upscale clip.mp4 -o clip_x4.mp4 --overlap 0 --chunk 10         # PaddleGAN's exact chunks
  msvsr upscale frames/ -o frames_x4/ --resume          # continue after Ctrl-C
  msvsr upscale clip.mkv -o clip_x4.mkv --json --quiet
  msvsr upscale clip.mkv -o clip_x4.mkv --tune full    # measure this adapter's fastest convs once
  msvsr upscale hdr10.mkv -o out.mkv --codec libx265 --crf 20 --preset slow   # 10-bit, tags kept
  msvsr upscale film.mkv -o film_x4.mkv --resume                          # after Ctrl-C or a crash
  msvsr upscale film.mkv -o preview.mp4 --start 1:00 --duration 5 --compare
  msvsr upscale old.avi -o old_x4.mkv --model vimeo90k --drop subtitles
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
        tune: opts.tune,
        overwrite: !!opts.overwrite,
        resume: !!opts.resume,
        quiet: !!opts.quiet || !!opts.json,
        model: opts.model,
        codec: opts.codec,
        crf: opts.crf,
        preset: opts.preset,
        encoderArgs: opts.encoderArgs,
        pixFmt: opts.pixFmt,
        copyStreams: opts.copyStreams,
        drop: opts.drop,
        deinterlace: opts.deinterlace,
        start: opts.start,
        duration: opts.duration,
        frames: opts.frames,
        compare: opts.compare,
        segmentFrames: opts.segmentFrames,
        sceneCuts: opts.sceneCuts,
        sceneThreshold: opts.sceneThreshold,
      });
      if (opts.json) {
        console.log(JSON.stringify(r));
      } else if (!opts.quiet) {
        const skipped = r.skipped ? `, ${r.skipped} kept from before` : '';
        const v = r.video;
        const extra = v
          ? `, ${v.codec} ${v.pixFmt}, ${v.colour}, timestamps of the input${v.deinterlaced ? ', deinterlaced' : ''}` +
            `, ${v.streams.length} other stream(s)${v.chapters ? ' and chapters' : ''} carried, ${v.cuts.length} scene cut(s), ${v.segments} segment(s)`
          : '';
        const tiles = r.plan?.tiled ? `, ${r.plan.tile.count} tiles of ${r.plan.tile.width}x${r.plan.tile.height}` : '';
        process.stderr.write(
          `msvsr: wrote ${r.output}: ${r.frames} frame${r.frames === 1 ? '' : 's'}${skipped}, ${r.width}x${r.height}${extra}${tiles}, in ${r.seconds.toFixed(1)} s (${r.fps.toFixed(2)} fps) on ${r.device || 'no device'}\n`,
        );
      }
    });
}
