// The architecture is described twice: the weights manifest (every state-dict name and shape, in Paddle's
// order) and the network graph (which weights each op reads, with the shape it needs). This GPU-free test
// builds the graph and holds the two against each other, so they cannot drift apart.
import { describe, expect, it } from 'vitest';
import { Builder } from '../../src/graph/builder.js';
import { buildMsvsr } from '../../src/graph/msvsr.js';
import { CONFIGS, manifestOf } from '../../src/weights/manifest.js';
import { seededStateDict } from '../../src/weights/seeded.js';

describe('the graph reads exactly the manifest', () => {
  for (const cfg of Object.values(CONFIGS)) {
    it(`${cfg.name}: every manifest tensor is read with the manifest's shape, and nothing else`, () => {
      const manifest = manifestOf(cfg);
      const weights = seededStateDict(
        1,
        manifest.map((e) => [e.name, e.shape] as const),
      );
      const b = new Builder(weights, 'f32');
      // T = 3 exercises both propagation directions and both neighbours of stage 1; 8 x 8 keeps it small.
      buildMsvsr(b, cfg, 3, 8, 8);
      const used = [...b.used].map(([name, shape]) => `${name} [${shape.join(', ')}]`).sort();
      const want = manifest.map((e) => `${e.name} [${e.shape.join(', ')}]`).sort();
      expect(used).toEqual(want);
    });
  }

  it('a manifest entry the graph does not read is found', () => {
    const cfg = CONFIGS['PP-MSVSR'];
    const manifest = [...manifestOf(cfg), { name: 'extra.weight', shape: [1], buffer: false }];
    const weights = seededStateDict(
      1,
      manifest.map((e) => [e.name, e.shape] as const),
    );
    const b = new Builder(weights, 'f32');
    buildMsvsr(b, cfg, 2, 8, 8);
    expect(b.used.has('extra.weight')).toBe(false);
    expect(b.used.size).toBe(manifest.length - 1);
  });

  it('a shape the graph does not expect is refused with both shapes', () => {
    const cfg = CONFIGS['PP-MSVSR'];
    const manifest = manifestOf(cfg).map((e) => (e.name === 'aux_fusion.weight' ? { ...e, shape: [32, 63, 3, 3] } : e));
    const weights = seededStateDict(
      1,
      manifest.map((e) => [e.name, e.shape] as const),
    );
    expect(() => buildMsvsr(new Builder(weights, 'f32'), cfg, 2, 8, 8)).toThrow("weights: 'aux_fusion.weight' is [32,63,3,3], the network needs [32,64,3,3]");
  });
});
