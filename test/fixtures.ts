// Reading the golden fixtures written by tools/reference/make_fixtures.py (PyTorch reference).
import { readFileSync } from 'node:fs';
import type { NamedTensor } from '../src/weights/named-tensor.js';
import { readSafetensors } from '../src/weights/safetensors.js';
import { readWeights } from '../src/weights/load.js';
import { CONFIGS, manifestOf, type MsvsrConfig } from '../src/weights/manifest.js';
import { seededStateDict } from '../src/weights/seeded.js';
import { loadModel, type Model } from '../src/index.js';
import { psnr } from './helpers.js';
import { maxAbsDiff } from './reference/ops.js';

export const fixturePath = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

export interface GoldenCase {
  name: string;
  T: number;
  H: number;
  W: number;
  cfg: MsvsrConfig;
  weights: Map<string, NamedTensor>;
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
  /** lq as T frames of HWC RGB */
  frames: Float32Array[];
}

/** CHW (or the trailing 3 dims of [..., C, H, W] at index t) to HWC */
export function chwToHwc(d: Float32Array, c: number, h: number, w: number, t = 0): Float32Array {
  const o = new Float32Array(h * w * c);
  const base = t * c * h * w;
  for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) o[p * c + k] = d[base + k * h * w + p];
  return o;
}

const weightCache = new Map<string, Map<string, NamedTensor>>();

export function loadGolden(name: string): GoldenCase {
  const file = `msvsr_${name}.safetensors`;
  const { tensors, metadata } = readSafetensors(new Uint8Array(readFileSync(fixturePath(file))), file);
  const T = Number(metadata.T);
  const H = Number(metadata.H);
  const W = Number(metadata.W);
  let cfg: MsvsrConfig;
  let weights: Map<string, NamedTensor>;
  if (metadata.weights_file) {
    const wf = metadata.weights_file;
    if (!weightCache.has(wf)) weightCache.set(wf, readWeights(new Uint8Array(readFileSync(fixturePath(wf))), wf).tensors);
    weights = weightCache.get(wf)!;
    cfg = readWeights(new Uint8Array(readFileSync(fixturePath(wf))), wf).cfg;
  } else {
    // PP-MSVSR-L: weights regenerated from the seed by the TS twin of tools/reference/seeded.py
    cfg = metadata.config === 'msvsr_l' ? CONFIGS['PP-MSVSR-L'] : CONFIGS['PP-MSVSR'];
    weights = seededStateDict(
      Number(metadata.weights_seed),
      manifestOf(cfg).map((e) => [e.name, e.shape] as const),
    );
  }
  const lq = tensors.get('lq')!;
  const frames = Array.from({ length: T }, (_, t) => chwToHwc(lq.data, 3, H, W, t));
  return { name, T, H, W, cfg, weights, tensors, metadata, frames };
}

/** The committed seeded-random PP-MSVSR weights as a Model. */
export function loadFixtureModel(): Promise<Model> {
  return loadModel(new Uint8Array(readFileSync(fixturePath('msvsr_random.pdparams'))), { name: 'msvsr_random.pdparams' });
}

/** The x4 outputs of a run against the fixture's: the largest abs error over frames and the lowest PSNR (dB). */
export function outputError(outs: readonly Float32Array[], g: GoldenCase): { worst: number; low: number } {
  const ref = g.tensors.get('out')!;
  let worst = 0;
  let low = Infinity;
  outs.forEach((o, t) => {
    const want = chwToHwc(ref.data, 3, 4 * g.H, 4 * g.W, t);
    worst = Math.max(worst, maxAbsDiff(o, want).err);
    low = Math.min(low, psnr(o, want));
  });
  return { worst, low };
}
