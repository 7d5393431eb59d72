// flow_warp against PyTorch: test/fixtures/ops_grid_sample.safetensors holds PaddleGAN's flow_warp computed
// with F.grid_sample (bilinear, align_corners=True, padding zeros and border) on the normalised grid exactly
// as basicvsr.flow_warp builds it, in float32 (tools/make_op_fixtures.py). The cases include integer flows,
// samples exactly on the edges and just outside, large flows (±20, ±50) and the H = 1 / W = 1 / 1x1 axes
// that grid_sample collapses to coordinate 0.
//
// Tolerance: rel = 1e-4 of the output's scale (expectClose). PyTorch's float32 normalise/unnormalise round
// trip moves each sample by up to a few ulps of the coordinate (~1e-6 px here), so agreement is ~1e-6.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/index.js';
import { readSafetensors } from '../src/weights/safetensors.js';
import { runDispatches } from '../src/kernels/kernel.js';
import { flowWarp } from '../src/kernels/flow_warp.js';
import { expectClose, useGpu } from './helpers.js';
import { chwToHwc } from './fixtures.js';

const fixture = readSafetensors(new Uint8Array(readFileSync(new URL('./fixtures/ops_grid_sample.safetensors', import.meta.url))), 'ops_grid_sample');
const count = Number(fixture.metadata.cases);

function get(name: string): { shape: number[]; data: Float32Array } {
  const t = fixture.tensors.get(name);
  if (!t) throw new Error(`fixture has no tensor ${name}`);
  return t;
}

const suite = useGpu('flow_warp vs torch grid_sample, max error (relative)');
const errors = suite.errors;

describe('flow_warp vs PyTorch grid_sample (PaddleGAN flow_warp construction)', () => {
  it('fixture has cases', () => {
    expect(count).toBeGreaterThanOrEqual(5);
  });
  for (let i = 0; i < count; i++) {
    for (const padding of ['zeros', 'border'] as const) {
      it(`case ${i} (${fixture.metadata[`case${i}.desc`]}) ${padding}`, async () => {
        const x = get(`case${i}.x`);
        const [c, h, w] = x.shape;
        const flowT = get(`case${i}.flow`);
        expect(flowT.shape).toEqual([h, w, 2]);
        const want = get(`case${i}.out_${padding}`);
        const src = Tensor.upload(suite.gpu, chwToHwc(x.data, c, h, w), h, w, c);
        const flow = Tensor.upload(suite.gpu, flowT.data, h, w, 2);
        const out = Tensor.alloc(suite.gpu, h, w, c);
        const n = h * w * out.c4 * 4;
        suite.gpu.device.queue.writeBuffer(out.buffer, 0, new Float32Array(n).fill(NaN));
        await runDispatches(suite.gpu, [await flowWarp(suite.gpu, { src, flow, out }, padding)]);
        const padded = await out.downloadPadded();
        const cp = out.c4 * 4;
        const got = new Float32Array(h * w * c);
        for (let p = 0; p < h * w; p++) {
          for (let k = 0; k < cp; k++) {
            if (k < c) got[p * c + k] = padded[p * cp + k];
            else expect(padded[p * cp + k], `padding lane ${k} of pixel ${p}`).toBe(0);
          }
        }
        const what = `case ${i} ${c}x${h}x${w} ${padding}`;
        errors.push(`${what}: ${expectClose(got, chwToHwc(want.data, c, h, w), 1e-4, what).toExponential(2)}`);
        for (const t of [src, flow, out]) t.destroy();
      });
    }
  }
});
