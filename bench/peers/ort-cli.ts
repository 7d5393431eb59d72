// Command-line wrapper of runOrtPeer (bench/peers/ort.ts), for running the onnxruntime-node peer by hand
// and for checking an export_onnx.py model against the PyTorch output it saved with --save-io:
//   node dist/bench/peers/ort-cli.js --model bench/.cache/m.onnx --input DIR/input.f32 --T 2 --size 64x64 \
//        [--ep cpu|webgpu] [--warmup 1] [--reps 3] [--threads N] [--compare DIR/out.f32] [--probe|--no-probe]
// Prints one JSON object (the result without the output array; with maxAbsErr / meanAbsErr against
// --compare when given).
import { readFileSync } from 'node:fs';
import { runOrtPeer, type OrtEp } from './ort.js';

function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(name);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (def === undefined) throw new Error(`missing ${name}`);
  return def;
}

function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

const [h, w] = arg('--size').toLowerCase().split('x').map(Number);
const T = Number(arg('--T'));
const threads = Number(arg('--threads', '0'));
const r = await runOrtPeer({
  model: arg('--model'),
  frames: readF32(arg('--input')),
  T,
  h,
  w,
  ep: arg('--ep', 'cpu') as OrtEp,
  warmup: Number(arg('--warmup', '1')),
  reps: Number(arg('--reps', '3')),
  threads: threads || undefined,
  placementProbe: process.argv.includes('--probe') ? true : process.argv.includes('--no-probe') ? false : undefined,
});
const { output, ...rest } = r;
const report: Record<string, unknown> = { ...rest, outputMean: output.reduce((s, v) => s + v, 0) / output.length };
const cmp = process.argv.includes('--compare') ? arg('--compare') : undefined;
if (cmp) {
  const ref = readF32(cmp);
  if (ref.length !== output.length) throw new Error(`--compare: ${ref.length} floats, output has ${output.length}`);
  let max = 0;
  let sum = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ref[i] - output[i]);
    if (!(d <= max)) max = d; // NaN propagates
    sum += d;
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
  }
  Object.assign(report, { compare: cmp, maxAbsErr: max, meanAbsErr: sum / ref.length, refMaxAbs: maxRef });
}
console.log(JSON.stringify(report));
