// The subgroup-matrix (tensor core) conv on every case of the conv test matrix, against the float64 reference.
// It needs an adapter with f16 subgroup matrices and the experimental APIs allowed: no GPU here has them, but
// Mesa >= 26 lavapipe implements VK_KHR_cooperative_matrix, so .ci/run runs this file in the Debian 13 root
// of tools/mesa26.sh (which sets MSVSR_MESA26=1: there a missing feature is a failure, not a skip).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { MsvsrRunner } from '../src/graph/msvsr-runner.js';
import { adapterKey, shapeKey, Tuner, tuneConv } from '../src/graph/tuner.js';
import { Tensor } from '../src/index.js';
import { deformConv } from '../src/kernels/deform_conv.js';
import { runDispatches } from '../src/kernels/kernel.js';
import { fromHalf, toHalf } from '../src/numeric/half.js';
import * as dcnRef from './reference/dcn.js';
import { img } from './reference/ops.js';
import { uniform } from './reference/rng.js';
import type { Conv2dShape } from '../src/kernels/conv2d.js';
import { cases, f16Storage, runCase } from './conv-cases.js';
import { loadGolden, outputError } from './fixtures.js';
import { convWeights, expectClose, openGpu, poison } from './helpers.js';

const gpu = await openGpu({ unsafeApis: true });
const errors: string[] = [];
afterAll(() => {
  gpu.destroy();
  if (errors.length) console.log(`subgroup-matrix conv measured max error (relative to the output's scale):\n  ${errors.join('\n  ')}`);
});

const why = gpu.matrix
  ? undefined
  : `adapter ${gpu.adapter.name} offers no f16 subgroup matrices (chromium-experimental-subgroup-matrix); run it on Mesa >= 26 lavapipe: tools/mesa26.sh -- node node_modules/vitest/vitest.mjs run test/matrix.test.ts (as root)`;
if (why) console.log(`test/matrix.test.ts skipped: ${why}`);

it('runs where the Mesa 26 root says it must', () => {
  if (process.env.MSVSR_MESA26) expect(why).toBeUndefined();
});

// Every case in f16 storage (the matrix kernel computes in f16, accumulates in f32). Tolerance 2e-3 of the
// output scale, as for f16 storage in conv2d.test.ts: inputs, weights and outputs rounded to f16 (relative
// 4.9e-4 each) with f32 sums; anything structural (a wrong tap, channel or pixel) is O(1).
const matrixCases = [...cases, ...f16Storage].map((c) => ({
  ...c,
  shape: { ...c.shape, dtype: 'f16', variant: 'matrix' } satisfies Conv2dShape,
}));

describe.skipIf(!!why)('conv2d on subgroup matrices vs float64 CPU reference', () => {
  it(`uses the adapter's matrix shape`, () => {
    const m = gpu.matrix!;
    console.log(`subgroup matrix: f16 ${m.M}x${m.N}x${m.K} -> f32, subgroups of ${m.subgroupSize}`);
    expect(m.M * m.N * m.K).toBeGreaterThan(0);
  });
  matrixCases.forEach((c, i) => {
    it(`matrix ${c.name}`, async () => {
      const { got, want } = await runCase(gpu, c, 1700 + 7 * i);
      errors.push(`matrix ${c.name}: ${expectClose(got, want, 2e-3, c.name).toExponential(2)}`);
    });
  });
  for (const tiling of [
    { TY: 1, MB: 1, NB: 1, NSG: 1 },
    { TY: 2, MB: 3, NB: 2, NSG: 4 },
  ]) {
    it(`another blocking ${JSON.stringify(tiling)}: concat [32,32,2]->32 lrelu + residual`, async () => {
      const shape: Conv2dShape = { sources: [32, 32, 2], cout: 32, k: 3, act: 'lrelu', residuals: 1, dtype: 'f16', variant: 'matrix', matrix: tiling };
      const { got, want } = await runCase(gpu, { name: 'blocking', h: 11, w: 29, shape }, 1600);
      errors.push(`matrix blocking ${JSON.stringify(tiling)}: ${expectClose(got, want, 2e-3).toExponential(2)}`);
    });
  }
});

// The command line's opt-in (a build in dist/ is needed: .ci/run builds before it runs this file).
describe.skipIf(!!why || !existsSync('dist/tools/cli.js'))('--unsafe-apis on the command line', () => {
  const info = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync(process.execPath, ['dist/tools/cli.js', 'info', '--json', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { matrix: { M: number; N: number; K: number }[]; enabled: string[] };
  };
  it('turns the subgroup matrices on (flag or MSVSR_UNSAFE_APIS=1) and leaves them off by default', () => {
    const m = gpu.matrix!;
    for (const on of [info(['--unsafe-apis']), info([], { MSVSR_UNSAFE_APIS: '1' })]) {
      expect(on.enabled).toContain('chromium-experimental-subgroup-matrix');
      expect(on.matrix[0]).toMatchObject({ M: m.M, N: m.N, K: m.K });
    }
    const off = info([], { MSVSR_UNSAFE_APIS: '' });
    expect(off.enabled).not.toContain('chromium-experimental-subgroup-matrix');
    expect(off.matrix).toEqual([]);
  });
});

describe.skipIf(!!why)('the tuner with subgroup matrices', () => {
  it('times the matrix blockings beside the other variants, and a kept matrix choice is used', async () => {
    const s: Conv2dShape = { sources: [32], cout: 32, k: 3, act: 'lrelu', dtype: 'f16' };
    const r = await tuneConv(gpu, s, 8, 16, 1);
    const kinds = r.times.map((t) => t.variant.variant);
    expect(kinds).toContain('direct');
    expect(kinds).toContain('winograd');
    const matrix = r.times.filter((t) => t.variant.variant === 'matrix');
    expect(matrix.length).toBeGreaterThanOrEqual(2);
    for (const t of matrix) expect(t.error, JSON.stringify(t.variant)).toBeUndefined();
    const choice = matrix[matrix.length - 1].variant;
    const t = new Tuner(gpu, 'cached', { [`${adapterKey(gpu)} | ${shapeKey(s, 8, 16)}`]: { choice, ms: 1, candidates: 1 } });
    expect(t.choose(s, 8, 16)).toEqual(choice);
    // without an entry: the subgroup-matrix conv, the default once the device has subgroup matrices
    expect(t.choose({ ...s, cout: 16 }, 8, 16)).toEqual({ variant: 'matrix' });
    // f32 storage never runs on them
    expect(t.choose({ ...s, dtype: 'f32' }, 8, 16).variant).toBe('direct');
  });
});

// The DCN's GEMM on subgroup matrices (deform_conv_matrix.wgsl), f16 storage, against the float64 reference on
// the same f16-rounded inputs; tolerance 2e-3 of the output scale as for the convs (f16 samples, weights and
// outputs, f32 sums over 9 taps x cin).
describe.skipIf(!!why)('deform_conv on subgroup matrices vs float64 reference', () => {
  const q = (a: Float32Array) => a.map((v) => fromHalf(toHalf(v)));
  const dcnCases = [
    { name: 'G=8 32->32, 13x17, offsets ±3', h: 13, w: 17, cin: 32, cout: 32, G: 8, off: (r: () => number) => 6 * r() - 3 },
    { name: 'G=4 32->32, 5x13, offsets ±20 (partly and fully outside)', h: 5, w: 13, cin: 32, cout: 32, G: 4, off: (r: () => number) => 40 * r() - 20 },
    { name: 'G=8 64->64 (-L), 6x11, offsets ±5', h: 6, w: 11, cin: 64, cout: 64, G: 8, off: (r: () => number) => 10 * r() - 5 },
    { name: 'G=4 16->8, 1x1, zero offsets', h: 1, w: 1, cin: 16, cout: 8, G: 4, off: () => 0 },
  ];
  dcnCases.forEach((c, i) => {
    it(`matrix DCN ${c.name}`, async () => {
      const om = q(dcnRef.makeOm(700 + i, c.h, c.w, c.G, c.off));
      const x = q(uniform(710 + i, c.h * c.w * c.cin));
      const weight = uniform(720 + i, c.cout * c.cin * 9, -1 / Math.sqrt(c.cin * 9), 1 / Math.sqrt(c.cin * 9));
      const bias = uniform(730 + i, c.cout, -0.5, 0.5);
      const { weights, wOff, bOff } = convWeights(gpu, weight, bias, { sources: [c.cin], cout: c.cout, k: 3 });
      const xt = Tensor.upload(gpu, x, c.h, c.w, c.cin, 'f16');
      const omt = Tensor.upload(gpu, om, c.h, c.w, 27 * c.G, 'f16');
      const out = Tensor.alloc(gpu, c.h, c.w, c.cout, 'f16');
      poison(out);
      const d = await deformConv(gpu, { cin: c.cin, cout: c.cout, groups: c.G, dtype: 'f16' }, { weights, wOff, bOff, x: xt, om: omt, out });
      expect(d.op).toMatch(/ matrix$/); // the default once the device has subgroup matrices
      await runDispatches(gpu, [d]);
      const got = await out.download();
      for (const t of [xt, omt, out]) t.destroy();
      weights.destroy();
      const want = dcnRef.deformConv(img(c.h, c.w, c.cin, x), img(c.h, c.w, 27 * c.G, om), weight, bias, c.cout, c.G);
      errors.push(`matrix DCN ${c.name}: ${expectClose(got, want.d, 2e-3, c.name).toExponential(2)}`);
    });
  });
});

// The whole network in f16 with every conv the matrix kernel can compute on subgroup matrices (the default once
// the device has them), against the PyTorch reference in f32, with the f16 budget of msvsr.test.ts: max abs
// 2e-2 (5 levels of 8-bit output) and PSNR >= 50 dB.
describe.skipIf(!!why)('PP-MSVSR in f16 on subgroup matrices vs the PyTorch reference', () => {
  const table: string[] = [];
  afterAll(() => {
    if (table.length) console.log(`subgroup-matrix network error per fixture (max abs over frames, lowest PSNR):\n${table.join('\n')}`);
  });
  for (const name of ['t2_32x48', 't7_40x56', 't3_5x7']) {
    it(name, async () => {
      const g = loadGolden(name);
      const runner = await MsvsrRunner.create(gpu, g.cfg, g.weights, g.T, g.H, g.W, 'f16');
      try {
        const ops = runner.plan.dispatches.map((d) => d.op);
        // every conv and every DCN runs on subgroup matrices (the default once the device has them)
        for (const kind of ['conv', 'deform_conv']) {
          const all = ops.filter((o) => o.startsWith(kind) && (kind !== 'conv' || !o.startsWith('deform')));
          expect(
            all.filter((o) => !o.endsWith(' matrix')),
            kind,
          ).toEqual([]);
          expect(all.length, kind).toBeGreaterThan(0);
        }
        const matrix = ops.filter((o) => o.endsWith(' matrix')).length;
        const outs = await runner.run(g.frames);
        const { worst, low } = outputError(outs, g);
        table.push(`| ${name} | ${matrix} of ${ops.length} dispatches on subgroup matrices | ${worst.toExponential(2)} | ${low.toFixed(1)} dB |`);
        expect(worst).toBeLessThanOrEqual(2e-2);
        expect(low).toBeGreaterThanOrEqual(50);
      } finally {
        runner.destroy();
      }
    });
  }
});
