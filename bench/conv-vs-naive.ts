// Issue 3's measurement: conv 32->32 3x3 at 180x320 with the tiled conv2d kernel and with a naive
// one-output-per-invocation kernel, same device, same data, same run; also checks both agree.
//   node dist/bench/conv-vs-naive.js [--size 180x320] [--reps 5]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getDevice, Tensor } from '../src/index.js';
import { conv2d, packConv2d } from '../src/kernels/conv2d.js';
import { Kernel, runDispatches, type Dispatch } from '../src/kernels/kernel.js';
import { ParamBuffer } from '../src/gpu/params.js';
import { median, timeDispatches } from '../src/graph/profiler.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
}

const [H, W] = arg('--size', '180x320').split('x').map(Number);
const reps = Number(arg('--reps', '5'));
const C = 32;

const gpu = await getDevice();
try {
  let seed = 1;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed / 2 ** 32) * 2 - 1;
  };
  const x = Float32Array.from({ length: H * W * C }, rnd);
  const weight = Float32Array.from({ length: C * C * 9 }, () => rnd() / 17);
  const bias = Float32Array.from({ length: C }, rnd);
  const shape = { sources: [C], cout: C, k: 3 };
  const params = new ParamBuffer();
  const p = packConv2d(weight, bias, shape);
  const wOff = params.add(p.w);
  const bOff = params.add(p.b);
  const weights = params.upload(gpu);
  const src = Tensor.upload(gpu, x, H, W, C);
  const outTiled = Tensor.alloc(gpu, H, W, C);
  const outNaive = gpu.createBuffer('naive out', H * W * C * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);

  const tiled = await conv2d(gpu, shape, { weights, wOff, bOff, sources: [src], out: outTiled });
  const naiveKernel = new Kernel('conv2d_naive', readFileSync(fileURLToPath(new URL('../../bench/kernels/conv2d_naive.wgsl', import.meta.url)), 'utf8'));
  const naive: Dispatch = {
    label: 'conv2d_naive',
    op: tiled.op,
    pipeline: await naiveKernel.pipeline(gpu, {}),
    bindGroup: naiveKernel.bindGroup(gpu, { weights, src: src.binding, dst: outNaive }, { h: H, w: W, wOff, bOff }),
    workgroups: [Math.ceil((H * W * C) / 64), 1, 1],
    flops: tiled.flops,
    bytes: tiled.bytes,
  };
  await runDispatches(gpu, [tiled, naive]); // warm-up
  const a = await outTiled.download();
  const b = new Float32Array(await gpu.read(outNaive));
  let err = 0;
  for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));

  const tt: number[] = [];
  const tn: number[] = [];
  for (let r = 0; r < reps; r++) {
    const [t1, t2] = await timeDispatches(gpu, [tiled, naive]);
    tt.push(t1);
    tn.push(t2);
  }
  const mt = median(tt);
  const mn = median(tn);
  const gf = (ms: number) => tiled.flops / ms / 1e6;
  console.log(`device: ${gpu.adapter.name}`);
  console.log(`conv 32->32 3x3 at ${H}x${W}: ${(tiled.flops / 1e9).toFixed(3)} GFLOP, tiled vs naive max |diff| = ${err.toExponential(2)}`);
  console.log(`tiled conv2d : median ${mt.toFixed(2)} ms  ${gf(mt).toFixed(2)} GFLOP/s  (runs: ${tt.map((t) => t.toFixed(1)).join(', ')})`);
  console.log(`naive        : median ${mn.toFixed(2)} ms  ${gf(mn).toFixed(2)} GFLOP/s  (runs: ${tn.map((t) => t.toFixed(1)).join(', ')})`);
  console.log(`speed-up     : ${(mn / mt).toFixed(2)}x`);
} finally {
  gpu.destroy();
}
