import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/index.js';
import { conv2d } from '../src/kernels/conv2d.js';
import { deformConv } from '../src/kernels/deform_conv.js';
import { runDispatches } from '../src/kernels/kernel.js';
import * as ref from './reference/ops.js';
import * as dcnRef from './reference/dcn.js';
import { makeOm } from './reference/dcn.js';
import { uniform } from './reference/rng.js';
import { convWeights, expectClose, poison, useGpu } from './helpers.js';
import { chwToHwc } from './fixtures.js';
import { readFileSync } from 'node:fs';
import { readSafetensors } from '../src/weights/safetensors.js';

const suite = useGpu("deform_conv measured max error (relative to the output's scale)");
const errors = suite.errors;

/** Runs deform_conv on HWC inputs (om = [offsets | masks]) into a poisoned output and reads it back. */
async function gpuDcn(x: Float32Array, om: Float32Array, weight: Float32Array, bias: Float32Array, h: number, w: number, cin: number, cout: number, G: number) {
  const gpu = suite.gpu;
  const { weights, wOff, bOff } = convWeights(gpu, weight, bias, { sources: [cin], cout, k: 3 });
  const xt = Tensor.upload(gpu, x, h, w, cin);
  const omt = Tensor.upload(gpu, om, h, w, 27 * G);
  const out = Tensor.alloc(gpu, h, w, cout);
  poison(out);
  await runDispatches(gpu, [await deformConv(gpu, { cin, cout, groups: G }, { weights, wOff, bOff, x: xt, om: omt, out })]);
  const got = await out.download();
  for (const t of [xt, omt, out]) t.destroy();
  weights.destroy();
  return got;
}

async function runDcn(h: number, w: number, cin: number, cout: number, G: number, om: Float32Array, seed: number) {
  const x = uniform(seed, h * w * cin);
  const weight = uniform(seed + 1, cout * cin * 9, -1 / Math.sqrt(cin * 9), 1 / Math.sqrt(cin * 9));
  const bias = uniform(seed + 2, cout, -0.5, 0.5);
  const got = await gpuDcn(x, om, weight, bias, h, w, cin, cout, G);
  return { got, xi: ref.img(h, w, cin, x), omi: ref.img(h, w, 27 * G, om), weight, bias };
}

describe('deform_conv (modulated DCNv2) vs float64 reference', () => {
  const cases: { name: string; h: number; w: number; cin: number; cout: number; G: number; off: (r: () => number) => number }[] = [
    { name: 'G=4 32->32, 7x9, offsets ±3', h: 7, w: 9, cin: 32, cout: 32, G: 4, off: (r) => 6 * r() - 3 },
    { name: 'G=8 32->32, 13x17, integer offsets', h: 13, w: 17, cin: 32, cout: 32, G: 8, off: (r) => Math.round(8 * r() - 4) },
    { name: 'G=4 32->32, 5x13, large offsets ±20 (partly and fully outside)', h: 5, w: 13, cin: 32, cout: 32, G: 4, off: (r) => 40 * r() - 20 },
    { name: 'G=8 64->64, 6x11, offsets ±5', h: 6, w: 11, cin: 64, cout: 64, G: 8, off: (r) => 10 * r() - 5 },
    { name: 'G=4 32->32, 1x1 and zero offsets = plain 3x3 conv with masks', h: 1, w: 1, cin: 32, cout: 32, G: 4, off: () => 0 },
  ];
  cases.forEach((c, i) => {
    it(c.name, async () => {
      const om = makeOm(300 + i, c.h, c.w, c.G, c.off);
      const { got, xi, omi, weight, bias } = await runDcn(c.h, c.w, c.cin, c.cout, c.G, om, 400 + i);
      const want = dcnRef.deformConv(xi, omi, weight, bias, c.cout, c.G);
      errors.push(`${c.name}: ${expectClose(got, want.d, 1e-4, c.name).toExponential(2)}`);
    });
  });

  it('would catch a kernel that reads offsets as (x, y) instead of (y, x)', async () => {
    const h = 7,
      w = 9,
      G = 4;
    const om = makeOm(350, h, w, G, (r) => 6 * r() - 3);
    const { got, xi, omi, weight, bias } = await runDcn(h, w, 32, 32, G, om, 450);
    const right = dcnRef.deformConv(xi, omi, weight, bias, 32, G);
    const swapped = dcnRef.deformConv(xi, omi, weight, bias, 32, G, true);
    const okErr = ref.maxAbsDiff(got, right.d);
    const badErr = ref.maxAbsDiff(got, swapped.d);
    expect(okErr.err).toBeLessThanOrEqual(1e-4 * okErr.scale);
    // a swapped kernel would be off by O(1) relative, far beyond the 1e-4 tolerance
    expect(badErr.err).toBeGreaterThan(100 * 1e-4 * okErr.scale);
  });
});

describe('offset head fused into the conv epilogue', () => {
  for (const head of ['align', 'realign'] as const) {
    for (const G of [4, 8]) {
      it(`${head}, G=${G}, 9x11`, async () => {
        const h = 9,
          w = 11,
          cin = 32,
          cout = 27 * G;
        const x = uniform(500 + G, h * w * cin);
        const weight = uniform(501 + G, cout * cin * 9, -2 / Math.sqrt(cin * 9), 2 / Math.sqrt(cin * 9));
        const bias = uniform(502 + G, cout, -0.5, 0.5);
        const extraC = head === 'align' ? 2 : cout;
        const extra =
          head === 'align'
            ? uniform(503 + G, h * w * 2, -4, 4)
            : (() => {
                const e = makeOm(504 + G, h, w, G, (r) => 10 * r() - 5);
                return e;
              })();
        const shape = { sources: [cin], cout, k: 3, head } as const;
        const { weights, wOff, bOff } = convWeights(suite.gpu, weight, bias, shape);
        const xt = Tensor.upload(suite.gpu, x, h, w, cin);
        const et = Tensor.upload(suite.gpu, extra, h, w, extraC);
        const out = Tensor.alloc(suite.gpu, h, w, cout);
        poison(out);
        await runDispatches(suite.gpu, [await conv2d(suite.gpu, shape, { weights, wOff, bOff, sources: [xt], head: et, out })]);
        const got = await out.download();
        for (const t of [xt, et, out]) t.destroy();
        weights.destroy();
        const o = ref.conv2d(ref.img(h, w, cin, x), weight, bias, cout, 3);
        const e = ref.img(h, w, extraC, extra);
        const want = head === 'align' ? dcnRef.alignHead(o, e) : dcnRef.realignHead(o, e);
        errors.push(`${head} G=${G}: ${expectClose(got, want.d, 1e-4, `${head} G=${G}`).toExponential(2)}`);
      });
    }
  }
});

// An independent implementation: torchvision.ops.deform_conv2d (tools/make_op_fixtures.py). Tensors are
// NCHW there, HWC here.
describe('deform_conv vs torchvision.ops.deform_conv2d fixtures', () => {
  const file = new URL('./fixtures/ops_deform_conv.safetensors', import.meta.url);
  const { tensors, metadata } = readSafetensors(new Uint8Array(readFileSync(file)), 'ops_deform_conv.safetensors');
  const n = Number(metadata.cases);
  for (let i = 0; i < n; i++) {
    it(`case ${i}: ${metadata[`case${i}.desc`]}`, async () => {
      const G = Number(metadata[`case${i}.G`]);
      const get = (k: string) => tensors.get(`case${i}.${k}`)!;
      const [cin, h, w] = get('x').shape;
      const cout = get('out').shape[0];
      // our om tensor is [offsets | masks] along channels
      const om = new Float32Array(h * w * 27 * G);
      const off = chwToHwc(get('offset').data, 18 * G, h, w);
      const msk = chwToHwc(get('mask').data, 9 * G, h, w);
      for (let p = 0; p < h * w; p++) {
        om.set(off.subarray(p * 18 * G, (p + 1) * 18 * G), p * 27 * G);
        om.set(msk.subarray(p * 9 * G, (p + 1) * 9 * G), p * 27 * G + 18 * G);
      }
      const got = await gpuDcn(chwToHwc(get('x').data, cin, h, w), om, get('weight').data, get('bias').data, h, w, cin, cout, G);
      errors.push(`torchvision case ${i}: ${expectClose(got, chwToHwc(get('out').data, cout, h, w), 1e-4, `torchvision case ${i}`).toExponential(2)}`);
    });
  }
});
