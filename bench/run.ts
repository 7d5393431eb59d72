// `npm run bench` and `msvsr bench`: one commander command for both.
//   node dist/bench/run.js [--size 64x64,180x320] [--frames T] [--config PP-MSVSR] [--precision f32]
//        [--peers torch,ort-cpu] [--json] [--results bench/RESULTS.md]
import { appendFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { getDevice } from '../src/index.js';
import { formatBench, resultsRow, runBench, type BenchResult, type PeerName } from './bench.js';

interface Opts {
  size: string;
  frames?: string;
  config: 'PP-MSVSR' | 'PP-MSVSR-L';
  precision: 'f32' | 'f16';
  weights?: string;
  seed: string;
  warmup: string;
  reps: string;
  profile: boolean;
  peers: string;
  python: string;
  torchDevice: 'cpu' | 'cuda';
  threads?: string;
  json?: boolean;
  results?: string;
  tune: 'off' | 'cached' | 'full';
  unsafeApis?: boolean;
}

function parseSize(s: string): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(s.trim());
  if (!m || +m[1] < 1 || +m[2] < 1) throw new Error(`--size ${s}: expected HxW, e.g. 180x320`);
  return [+m[1], +m[2]];
}

function int(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} ${v}: expected an integer >= ${min}`);
  return n;
}

export function benchCommand(): Command {
  return new Command('bench')
    .description('throughput, first-run latency, per-op GPU time and memory, with PyTorch / onnxruntime peers on the same weights and frames')
    .option('--size <HxW,...>', 'low-resolution sizes', '64x64,180x320')
    .option('--frames <T>', 'frames per chunk (default 10; 2 on a software adapter)')
    .addOption(new Option('--config <name>', 'architecture').choices(['PP-MSVSR', 'PP-MSVSR-L']).default('PP-MSVSR'))
    .addOption(new Option('--precision <p>', 'activation storage').choices(['f32', 'f16']).default('f32'))
    .option('--weights <file>', '.pdparams / .safetensors (default: seeded random weights)')
    .option('--seed <n>', 'seed of the random weights', '1')
    .option('--warmup <n>', 'extra warm-up chunks after the first run (which is not timed)', '0')
    .option('--reps <n>', 'timed chunks (the median is reported)', '3')
    .option('--no-profile', 'skip the per-op timestamp run')
    .option('--peers <list>', 'torch, ort-cpu, ort-webgpu, or none', 'torch,ort-cpu')
    .option('--python <path>', 'Python with PyTorch for the peers', existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')
    .addOption(new Option('--torch-device <d>', 'device of the PyTorch peer').choices(['cpu', 'cuda']).default('cpu'))
    .option('--threads <n>', 'threads of the CPU peers (default: all cores)')
    .addOption(
      new Option('--tune <mode>', "conv variants: the direct conv (off), this adapter's kept choices (cached), or measure them (full)")
        .choices(['off', 'cached', 'full'])
        .default('off'),
    )
    .option('--unsafe-apis', "the adapter's experimental features: f16 convs and DCNs on subgroup matrices where it has them (as msvsr --unsafe-apis)")
    .option('--json', 'print one JSON object (an array of them for several sizes)')
    .option('--results <file>', 'append a dated markdown row per size to this file (e.g. bench/RESULTS.md)')
    .addHelpText(
      'after',
      `
Examples:
  msvsr bench --size 180x320 --frames 10 --json
  msvsr bench --size 64x64 --precision f16 --peers none
  npm run bench:peers && msvsr bench --peers torch,ort-cpu,ort-webgpu --results bench/RESULTS.md

Ratios are ours/peer in speed (peer seconds per frame over ours): above 1 we are faster.`,
    )
    .action(async (o: Opts) => {
      if (o.unsafeApis) process.env.MSVSR_UNSAFE_APIS = '1'; // read by getDevice
      const sizes = o.size.split(',').map(parseSize);
      const peers = o.peers === 'none' ? [] : (o.peers.split(',').map((s) => s.trim()) as PeerName[]);
      for (const p of peers) if (!['torch', 'ort-cpu', 'ort-webgpu'].includes(p)) throw new Error(`--peers: unknown peer '${p}'`);
      let frames = o.frames ? int('--frames', o.frames, 1) : undefined;
      if (frames === undefined) {
        const g = await getDevice();
        frames = g.adapter.architecture === 'software' || /llvmpipe|swiftshader/i.test(g.adapter.name) ? 2 : 10;
        g.destroy();
      }
      const log = o.json ? (s: string) => process.stderr.write(`${s}\n`) : (s: string) => console.log(s);
      const results: BenchResult[] = [];
      for (const [h, w] of sizes) {
        const r = await runBench({
          config: o.config,
          h,
          w,
          frames,
          precision: o.precision,
          weights: o.weights,
          weightsSeed: int('--seed', o.seed, 0),
          warmup: int('--warmup', o.warmup, 0),
          reps: int('--reps', o.reps, 1),
          profile: o.profile,
          peers,
          python: o.python,
          torchDevice: o.torchDevice,
          threads: o.threads ? int('--threads', o.threads, 1) : undefined,
          tune: o.tune,
          log,
        });
        results.push(r);
        if (!o.json) console.log(`\n${formatBench(r)}\n`);
        if (o.results) appendFileSync(o.results, `${resultsRow(r)}\n`);
      }
      if (o.json) console.log(JSON.stringify(results.length === 1 ? results[0] : results));
    });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchCommand()
    .name('bench')
    .parseAsync(process.argv)
    .catch((e: unknown) => {
      console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    });
}
