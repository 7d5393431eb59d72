// `msvsr upscale <png>`: one PNG in, one PNG x4 out, written in one step (through a temporary name).
import * as path from 'node:path';
import { getDevice, modelFrom } from '../index.js';
import { CliError } from './errors.js';
import { checkOutputParent, statOrUndefined, writeFileAtomic } from './files.js';
import { readFrame } from './frames.js';
import { encodePng } from './png.js';
import { type Ctx, loadWeights, pump, result, type UpscaleResult } from './upscale-common.js';

export async function upscalePng(ctx: Ctx): Promise<UpscaleResult> {
  const { o } = ctx;
  if (o.resume) throw new CliError('--resume applies to videos and frame folders; a single PNG is written in one step');
  if (path.extname(o.output).toLowerCase() !== '.png') throw new CliError(`${o.output}: a PNG input gives a PNG output; name the output *.png`);
  const st = statOrUndefined(o.output);
  if (st?.isDirectory()) throw new CliError(`${o.output}: is a folder; give the output file name (*.png)`);
  if (st && !o.overwrite) throw new CliError(`${o.output}: already exists (use --overwrite to replace it)`);
  checkOutputParent(o.output);
  const frame = readFrame(o.input);
  const w = await loadWeights(ctx);
  const gpu = await getDevice();
  try {
    ctx.progress.total = 1;
    ctx.progress.start();
    const n = await pump([frame], modelFrom(w.weights), gpu, ctx, (f) => {
      writeFileAtomic(o.output, encodePng({ width: f.width, height: f.height, data: f.data as Uint8Array }));
      return false;
    });
    return result(ctx, { frames: n, skipped: 0, device: gpu.adapter.name, output: o.output, kind: 'png', width: frame.width * 4, height: frame.height * 4 });
  } finally {
    gpu.destroy();
  }
}
