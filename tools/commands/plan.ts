// `msvsr plan --size WxH`: the plan of a run, without running it (the work is in src/graph/planner.ts).
import { type Command, InvalidArgumentError, Option } from 'commander';
import { CONFIGS, type ConfigName, DEFAULT_CHUNK, DEFAULT_HALO, DEFAULT_OVERLAP, getDevice, planUpscale } from '../../src/index.js';
import { formatPlan } from '../../src/node/plan.js';
import { planSummary } from '../../src/node/upscale.js';
import { bytesOption, intOption, precisionOption } from './options.js';

interface Opts {
  size: string;
  frames?: number;
  chunk?: number;
  overlap: number;
  halo: number;
  precision: 'f32' | 'f16';
  maxMemory?: number;
  maxBinding?: number;
  config: ConfigName;
  json?: boolean;
}

function size(v: string): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(v.trim());
  if (!m || +m[1] < 1 || +m[2] < 1) throw new InvalidArgumentError('expected WIDTHxHEIGHT of the input, e.g. 1920x1080.');
  return [+m[1], +m[2]];
}

export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description('print the plan a run would use for an input size on this adapter: chunk, window, tiles, halo, GPU memory, largest binding, work per frame')
    .requiredOption('--size <WxH>', 'input frame size, e.g. 1920x1080')
    .option('--frames <n>', 'frames in the video (a window is never longer)', intOption(1))
    .option('-c, --chunk <n>', `output frames per forward pass (default ${DEFAULT_CHUNK}, which the planner may shorten)`, intOption(1))
    .option('--overlap <n>', 'context frames before and after each chunk', intOption(0), DEFAULT_OVERLAP)
    .option('--halo <n>', 'context around each tile, in input pixels', intOption(0), DEFAULT_HALO)
    .option('-p, --precision <p>', 'f32, or f16', precisionOption, 'f32')
    .option('--max-memory <size>', 'GPU memory a plan may use, e.g. 2GiB (default: from the adapter)', bytesOption)
    .option('--max-binding <size>', "plan for a smaller storage binding limit than this adapter's (e.g. 128MiB, a browser's default)", bytesOption)
    .addOption(new Option('--config <name>', 'architecture').choices(['PP-MSVSR', 'PP-MSVSR-L']).default('PP-MSVSR'))
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  msvsr plan --size 1920x1080
  msvsr plan --size 3840x2160 --precision f16 --max-memory 2GiB --json`,
    )
    .action(async (opts: Opts) => {
      const [width, height] = size(opts.size);
      const gpu = await getDevice();
      try {
        const plan = planUpscale(
          gpu,
          CONFIGS[opts.config],
          { width, height, chunk: opts.chunk ?? DEFAULT_CHUNK, chunkExplicit: opts.chunk !== undefined, overlap: opts.overlap, frames: opts.frames },
          { precision: opts.precision, maxMemory: opts.maxMemory, halo: opts.halo, limits: opts.maxBinding ? { maxBinding: opts.maxBinding } : undefined },
        );
        if (opts.json)
          console.log(JSON.stringify({ device: gpu.adapter.name, width, height, precision: plan.precision, config: plan.config, ...planSummary(plan) }));
        else console.log(formatPlan(plan, gpu.adapter.name));
      } finally {
        gpu.destroy();
      }
    });
}
