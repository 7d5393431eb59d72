import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor, type Gpu } from '../src/index.js';
import { conv2d, packConv2d, type Conv2dShape } from '../src/kernels/conv2d.js';
import { runDispatches } from '../src/kernels/kernel.js';
import * as ref from './reference/ops.js';
import { uniform } from './reference/rng.js';
import { ParamBuffer, expectClose, openGpu } from './helpers.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => gpu?.destroy());

interface Case {
  name: string;
  h: number;
  w: number;
  shape: Conv2dShape;
}

async function runCase({ h, w, shape }: Case, seed: number) {
  const cin = shape.sources.reduce((a, b) => a + b, 0);
  const k = shape.k;
  const nres = shape.residuals ?? 0;
  // Weights scaled like a Kaiming init so outputs stay O(1) whatever the fan-in.
  const weight = uniform(seed, shape.cout * cin * k * k, -1 / Math.sqrt(cin * k * k), 1 / Math.sqrt(cin * k * k));
  const bias = uniform(seed + 1, shape.cout, -0.5, 0.5);
  const xs = shape.sources.map((c, i) => uniform(seed + 10 + i, h * w * c));
  const stride = shape.stride ?? 1;
  const pad = shape.pad ?? k >> 1;
  const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - k) / stride) + 1;
  const [eh, ew, ec] = shape.shuffle ? [2 * oh, 2 * ow, shape.cout / 4] : [oh, ow, shape.cout];
  const rs = Array.from({ length: nres }, (_, i) => uniform(seed + 20 + i, eh * ew * ec));

  // float64 reference
  let want = ref.conv2d(ref.concat(xs.map((x, i) => ref.img(h, w, shape.sources[i], x))), weight, bias, shape.cout, k, stride, pad);
  if (shape.act === 'lrelu') want = ref.lrelu(want);
  if (shape.act === 'relu') want = ref.relu(want);
  if (shape.shuffle) want = ref.pixelShuffle(want);
  for (const r of rs) want = ref.add(want, ref.img(eh, ew, ec, r));

  const params = new ParamBuffer();
  const packed = packConv2d(weight, bias, shape);
  const wOff = params.add(packed.w);
  const bOff = params.add(packed.b);
  const weights = params.upload(gpu);
  const sources = xs.map((x, i) => Tensor.upload(gpu, x, h, w, shape.sources[i]));
  const residuals = rs.map((r) => Tensor.upload(gpu, r, eh, ew, ec));
  const out = Tensor.alloc(gpu, eh, ew, ec);
  // poison the output so unwritten elements cannot pass
  out.write(new Float32Array(eh * ew * ec).fill(NaN));
  const d = await conv2d(gpu, shape, { weights, wOff, bOff, sources, residuals, out });
  await runDispatches(gpu, [d]);
  const got = await out.downloadPadded();
  // padding channels stay zero
  const cp = Math.ceil(ec / 4) * 4;
  const real = new Float32Array(eh * ew * ec);
  for (let p = 0; p < eh * ew; p++) {
    for (let c = 0; c < cp; c++) {
      if (c < ec) real[p * ec + c] = got[p * cp + c];
      else expect(got[p * cp + c], `padding channel ${c} at pixel ${p}`).toBe(0);
    }
  }
  for (const t of [...sources, ...residuals, out]) t.destroy();
  weights.destroy();
  return { got: real, want: want.d };
}

const cases: Case[] = [
  { name: '3x3 3->32 +bias +lrelu, 17x23', h: 17, w: 23, shape: { sources: [3], cout: 32, k: 3, act: 'lrelu' } },
  { name: '3x3 32->32 no act, 13x17', h: 13, w: 17, shape: { sources: [32], cout: 32, k: 3 } },
];

describe('conv2d (f32) vs float64 CPU reference', () => {
  cases.forEach((c, i) => {
    it(c.name, async () => {
      const { got, want } = await runCase(c, 100 + i);
      expectClose(got, want, 1e-4, c.name);
    });
  });
});
