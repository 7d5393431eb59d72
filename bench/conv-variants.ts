// Every variant of one conv, timed in the same run on the same data: the direct conv with each of its
// tilings (and in f16 with f16 arithmetic), Winograd F(4x4, 3x3) with each of its blockings, and with
// --unsafe-apis on an adapter that has them the subgroup-matrix conv with each of its blockings. Effective
// GFLOP/s counts the direct conv's flops (2 x MACs) for all, so a faster algorithm shows as more than the
// hardware does.
//   node dist/bench/conv-variants.js [--size 180x320] [--cin 32] [--cout 32] [--shuffle] [--reps 5] [--precision f32] [--unsafe-apis]
import { getDevice } from '../src/index.js';
import { describeVariant, tuneConv } from '../src/graph/tuner.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
}
const [H, W] = arg('--size', '180x320').split('x').map(Number);
const cin = Number(arg('--cin', '32'));
const cout = Number(arg('--cout', '32'));
const shuffle = process.argv.includes('--shuffle');
const reps = Number(arg('--reps', '5'));
const dtype = arg('--precision', 'f32') as 'f32' | 'f16';

const gpu = await getDevice({ unsafeApis: process.argv.includes('--unsafe-apis') });
try {
  const r = await tuneConv(gpu, { sources: [cin], cout, k: 3, shuffle, dtype }, H, W, reps, H);
  const gflop = (2 * H * W * cin * cout * 9) / 1e9;
  console.log(`device: ${gpu.adapter.name}`);
  console.log(`conv 3x3 ${cin}->${cout}${shuffle ? ' shuffle' : ''} ${dtype} at ${H}x${W}: ${gflop.toFixed(3)} GFLOP (direct count), median of ${reps}`);
  console.log('| variant | ms | effective GFLOP/s |');
  console.log('|---|---|---|');
  for (const t of r.times) {
    console.log(`| ${describeVariant(t.variant)} | ${t.ms?.toFixed(1) ?? t.error} | ${t.ms ? (gflop / (t.ms / 1000)).toFixed(2) : '-'} |`);
  }
  console.log(`fastest: ${r.choice.variant} (${r.ms.toFixed(1)} ms)`);
} finally {
  gpu.destroy();
}
