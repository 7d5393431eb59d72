#!/usr/bin/env node
// The msvsr command line. Commands stay thin: the work lives in src/.
import { Command } from 'commander';
import { CliError } from '../src/node/errors.js';
import { runCleanups } from '../src/node/files.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerInfoCommand } from './commands/info.js';
import { registerPlanCommand } from './commands/plan.js';
import { registerQueueCommands } from './commands/queue.js';
import { registerUpscaleCommand } from './commands/upscale.js';
import { registerWeightCommands } from './commands/weights.js';
import { benchCommand } from '../bench/run.js';

const program = new Command();
program.name('msvsr').description('PP-MSVSR x4 video super-resolution on WebGPU').showHelpAfterError();
program.option(
  '--unsafe-apis',
  "allow the adapter's experimental WebGPU features (Dawn's allow_unsafe_apis): the f16 convs then run on subgroup matrices (tensor cores) where the adapter has them; off by default (also MSVSR_UNSAFE_APIS=1)",
);
// Every command opens its device through getDevice, which reads MSVSR_UNSAFE_APIS.
program.hook('preAction', () => {
  if (program.opts().unsafeApis) process.env.MSVSR_UNSAFE_APIS = '1';
});
program.addHelpText(
  'after',
  `
Examples:
  msvsr upscale input.mp4 -o output_x4.mp4          # video -> video (audio kept, exact frame rate)
  msvsr upscale frames/ -o frames_x4/ --resume      # PNG folder -> PNG folder
  msvsr eval --lq REDS4/X4_bicubic --gt REDS4/X4 --json
  msvsr info
  msvsr queue add films/*.mkv -o /shared/out --redis redis://queue-host   # many machines: msvsr worker on each
Run 'msvsr <command> --help' for a command's options.`,
);

registerUpscaleCommand(program);
registerEvalCommand(program);
registerInfoCommand(program);
registerPlanCommand(program);
registerWeightCommands(program);
registerQueueCommands(program);
program.addCommand(benchCommand());

program.parseAsync().catch((e: unknown) => {
  runCleanups();
  console.error(`msvsr: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(e instanceof CliError ? e.exitCode : 1);
});
