#!/usr/bin/env node
// The msvsr command line. Commands stay thin: the work lives in src/.
import { Command } from 'commander';
import { getDevice } from '../src/index.js';
import { registerWeightCommands } from './commands/weights.js';

const program = new Command();
program.name('msvsr').description('PP-MSVSR x4 video super-resolution on WebGPU').showHelpAfterError();

program
  .command('info')
  .description('print the WebGPU adapter: name, backend, features and limits')
  .option('--json', 'print one JSON object')
  .action(async (opts: { json?: boolean }) => {
    const gpu = await getDevice();
    try {
      const limits: Record<string, number> = {};
      for (const k in gpu.limits) limits[k] = (gpu.limits as unknown as Record<string, number>)[k];
      const info = { adapter: gpu.adapter, features: [...gpu.device.features].sort(), limits };
      if (opts.json) console.log(JSON.stringify(info));
      else {
        console.log(`adapter:  ${gpu.adapter.name}`);
        console.log(`vendor:   ${gpu.adapter.vendor} (${gpu.adapter.architecture})`);
        console.log(`features: ${info.features.join(', ')}`);
        for (const [k, v] of Object.entries(limits)) console.log(`  ${k}: ${v}`);
      }
    } finally {
      gpu.destroy();
    }
  });

registerWeightCommands(program);

program.parseAsync().catch((e: unknown) => {
  console.error(`msvsr: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
