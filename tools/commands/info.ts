// `msvsr info`: the WebGPU adapter (name, backend, features, limits), ffmpeg, the default weights and which
// of PaddleGAN's published models (--model) are cached.
import type { Command } from 'commander';
import { formatInfo, gatherInfo } from '../../src/node/info.js';

export function registerInfoCommand(program: Command): void {
  program
    .command('info')
    .description('print the WebGPU adapter (name, backend, features, limits), ffmpeg, the default weights and the cached models')
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  msvsr info
  MSVSR_ADAPTER=nvidia msvsr info --json`,
    )
    .action(async (opts: { json?: boolean }) => {
      const info = await gatherInfo();
      console.log(opts.json ? JSON.stringify(info) : formatInfo(info));
    });
}
