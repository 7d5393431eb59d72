// A loaded model: validated weights and the architecture they belong to. Portable: a path or URL is read
// through the platform (fs in Node, fetch in browsers).
import type { Precision } from './numeric/precision.js';
import { platform } from './platform/platform.js';
import { type LoadedWeights, readWeights } from './weights/load.js';
import { type ConfigName, countParameters, type MsvsrConfig } from './weights/manifest.js';
import type { NamedTensor } from './weights/named-tensor.js';

export interface Model {
  readonly config: ConfigName;
  readonly cfg: MsvsrConfig;
  /** Trainable parameters (1,453,607 for PP-MSVSR). */
  readonly parameters: number;
  /** Precision the file stored. */
  readonly fileDtype: Precision;
  readonly format: 'pdparams' | 'safetensors';
  readonly tensors: ReadonlyMap<string, NamedTensor>;
}

export async function loadModel(source: string | URL | Uint8Array | ArrayBuffer, opts: { name?: string } = {}): Promise<Model> {
  let bytes: Uint8Array;
  let name = opts.name;
  if (source instanceof Uint8Array) bytes = source;
  else if (source instanceof ArrayBuffer) bytes = new Uint8Array(source);
  else {
    name ??= String(source);
    bytes = await platform().readFile(source);
  }
  return modelFrom(readWeights(bytes, name ?? 'weights'));
}

export function modelFrom(w: LoadedWeights): Model {
  return Object.freeze({
    config: w.config,
    cfg: w.cfg,
    parameters: countParameters(w.tensors, w.cfg),
    fileDtype: w.dtype,
    format: w.format,
    tensors: w.tensors,
  });
}
