// Scenes and measures shared by bench/approximations.ts and the tests of tiles and windows: seeded moving
// frames (so SPyNet finds motion), a seeded-weights model, the difference of two outputs, and a memory
// budget that makes the planner tile at about a given core size.
import { type Frame, type Model, modelFrom } from '../src/index.js';
import { CONFIGS, manifestOf } from '../src/weights/manifest.js';
import { seededStateDict } from '../src/weights/seeded.js';

/** Smooth moving content (so SPyNet finds motion) plus seeded noise, 8-bit. */
export function movingFrames(n: number, w: number, h: number, seed: number): Frame[] {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const [fx, fy, vx, vy] = [0.05 + 0.1 * rnd(), 0.05 + 0.1 * rnd(), 1 + 2 * rnd(), 0.5 + rnd()];
  return Array.from({ length: n }, (_, t) => {
    const d = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < 3; k++) {
          const v = 127 + 90 * Math.sin((x - vx * t) * fx * (k + 1) + (y - vy * t) * fy) + 30 * (rnd() - 0.5);
          d[(y * w + x) * 3 + k] = Math.max(0, Math.min(255, Math.round(v)));
        }
    return { width: w, height: h, data: d };
  });
}

export function seededModel(seed: number): Model {
  const cfg = CONFIGS['PP-MSVSR'];
  const tensors = seededStateDict(
    seed,
    manifestOf(cfg).map((e) => [e.name, e.shape] as const),
  );
  return modelFrom({ config: cfg.name, cfg, tensors, dtype: 'f32', format: 'safetensors', filled: [] });
}

export function diff(a: readonly Frame[], b: readonly Frame[]): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  let n = 0;
  a.forEach((f, i) => {
    const x = f.data as Float32Array;
    const y = b[i].data as Float32Array;
    for (let j = 0; j < x.length; j++) {
      const e = Math.abs(x[j] - y[j]);
      if (e > max) max = e;
      sum += e;
      n++;
    }
  });
  return { max, mean: sum / n };
}

/** 8-bit frames as floats in [0, 1] (float output keeps the network's values for comparisons). */
export const toFloat = (fs: Frame[]): Frame[] => fs.map((f) => ({ ...f, data: Float32Array.from(f.data, (v) => v / 255) }));
