// `msvsr upscale`: a video (upscale-video.ts), a folder of PNG frames or of clip folders (upscale-folder.ts),
// or one PNG (upscale-png.ts), x4. Outputs appear only when complete: a video or PNG through a temporary
// name and a rename, a frame folder through a hidden sibling folder; a video or a folder interrupted in any
// way continues with --resume. What they share is in upscale-common.ts.
import * as fs from 'node:fs';
import { checkChunkSize, checkHalo, checkOverlap, checkPrecision } from '../index.js';
import { CliError, why } from './errors.js';
import { statOrUndefined } from './files.js';
import { isPng } from './png.js';
import { Progress } from './progress.js';
import { type Ctx, refuseSame, type UpscaleCommandOptions, type UpscaleResult } from './upscale-common.js';
import { upscaleFolder } from './upscale-folder.js';
import { upscalePng } from './upscale-png.js';
import { upscaleVideo } from './upscale-video.js';

export { VIDEO_EXTENSIONS } from './codecs.js';
export { type PlanSummary, planSummary, type UpscaleCommandOptions, type UpscaleResult, type VideoSummary } from './upscale-common.js';
export { partialFolder, RESUME_MANIFEST } from './upscale-folder.js';
export { workFolder } from './upscale-video.js';

type Kind = 'video' | 'frames' | 'png';

function inputKind(input: string): Kind {
  const st = statOrUndefined(input);
  if (!st) throw new CliError(`${input}: no such file or directory`);
  if (st.isDirectory()) return 'frames';
  if (!st.isFile()) throw new CliError(`${input}: not a file or folder`);
  const b = new Uint8Array(8);
  let n: number;
  try {
    const fd = fs.openSync(input, 'r');
    try {
      n = fs.readSync(fd, b, 0, 8, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw new CliError(`${input}: cannot read: ${why(e)}`);
  }
  if (n === 0) throw new CliError(`${input}: the file is empty (not an image or a video)`);
  return isPng(b.subarray(0, n)) ? 'png' : 'video';
}

/** Options that only a video input has, as the user spells them. */
const VIDEO_ONLY: Array<[keyof UpscaleCommandOptions, string]> = [
  ['codec', '--codec'],
  ['crf', '--crf'],
  ['preset', '--preset'],
  ['encoderArgs', '--encoder-args'],
  ['pixFmt', '--pix-fmt'],
  ['drop', '--drop'],
  ['start', '--start'],
  ['duration', '--duration'],
  ['frames', '--frames'],
  ['compare', '--compare'],
  ['segmentFrames', '--segment-frames'],
  ['sceneThreshold', '--scene-threshold'],
];

export async function runUpscale(o: UpscaleCommandOptions): Promise<UpscaleResult> {
  const t0 = performance.now();
  if (o.chunk !== undefined) checkChunkSize(o.chunk, '--chunk');
  const overlap = checkOverlap(o.overlap, '--overlap');
  checkHalo(o.halo, '--halo');
  checkPrecision(o.precision, '--precision');
  const kind = inputKind(o.input);
  if (kind !== 'video') {
    const given = VIDEO_ONLY.filter(([k]) => o[k] !== undefined && o[k] !== false).map(([, name]) => name);
    if (given.length)
      throw new CliError(
        `${given.join(', ')}: ${given.length > 1 ? 'apply' : 'applies'} to a video input; ${o.input} is ${kind === 'png' ? 'a PNG' : 'a folder of frames'}`,
      );
  }
  refuseSame(o.input, o.output);
  const ctx: Ctx = { o, overlap, progress: new Progress(undefined, { quiet: o.quiet, tty: o.tty }), t0 };
  try {
    if (kind === 'png') return await upscalePng(ctx);
    if (kind === 'video') return await upscaleVideo(ctx);
    return await upscaleFolder(ctx);
  } finally {
    ctx.progress.end();
  }
}
