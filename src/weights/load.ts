// One entry point for weights: detects .pdparams vs safetensors by content, parses, detects the
// architecture (PP-MSVSR or PP-MSVSR-L) and validates every tensor against its manifest.
import { fromHalf, toHalf } from '../numeric/half.js';
import { WeightsError } from './errors.js';
import { countParameters, detectConfig, manifestOf, validateTensors, type ConfigName, type MsvsrConfig } from './manifest.js';
import { readPdparams } from './pdparams.js';
import type { NamedTensor } from './named-tensor.js';
import { looksLikeSafetensors, readSafetensors, writeSafetensors } from './safetensors.js';
import type { Precision } from '../numeric/precision.js';

export type WeightsFormat = 'pdparams' | 'safetensors';

export interface LoadedWeights {
  config: ConfigName;
  cfg: MsvsrConfig;
  /** Every manifest tensor, in Paddle's state_dict order, float32 and C order (OIHW for convolutions). */
  tensors: Map<string, NamedTensor>;
  /** 'f16' when any tensor was stored as float16 (the file's precision is then that of f16), else 'f32'. */
  dtype: Precision;
  format: WeightsFormat;
  /** Manifest entries the file lacked and that were filled in (only the constant spynet.mean/std). */
  filled: string[];
}

/**
 * 'safetensors' for a u64 header length that fits the file followed by '{'; 'pdparams' for a pickle (PROTO
 * 0x80 first); else null. Safetensors is tested first: its header length may well start with a 0x80 byte,
 * while a pickle's first 8 bytes never read as a length that fits and is followed by '{'.
 */
export function detectFormat(bytes: Uint8Array): WeightsFormat | null {
  if (looksLikeSafetensors(bytes)) return 'safetensors';
  if (bytes.length >= 2 && bytes[0] === 0x80) return 'pdparams';
  return null;
}

/** Reads a weights file's tensors without checking them against an architecture. */
export function readStateDict(bytes: Uint8Array, file: string): { tensors: Map<string, NamedTensor>; dtypes: Map<string, Precision>; format: WeightsFormat } {
  const format = detectFormat(bytes);
  if (format === 'pdparams') {
    const r = readPdparams(bytes, file);
    return { tensors: r.tensors, dtypes: r.dtypes, format };
  }
  if (format === 'safetensors') {
    const r = readSafetensors(bytes, file);
    return { tensors: r.tensors, dtypes: r.dtypes, format };
  }
  if (bytes.length === 0) throw new WeightsError(`${file}: the file is empty`);
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new WeightsError(`${file}: not a .pdparams (pickle protocol 2–5) or safetensors file (starts with ${head})`);
}

/** Reads, detects the config of, and validates a PP-MSVSR / PP-MSVSR-L weights file. */
export function readWeights(bytes: Uint8Array, file: string): LoadedWeights {
  const { tensors: raw, dtypes, format } = readStateDict(bytes, file);
  const cfg = detectConfig(raw, file);
  const tensors = validateTensors(raw, cfg, file);
  let dtype: Precision = 'f32';
  for (const d of dtypes.values()) if (d === 'f16') dtype = 'f16';
  const filled = [...tensors.keys()].filter((k) => !raw.has(k));
  return { config: cfg.name, cfg, tensors, dtype, format, filled };
}

export interface WeightsSummary {
  config: ConfigName;
  format: WeightsFormat;
  dtype: Precision;
  /** State-dict entries (buffers included). */
  tensors: number;
  /** Trainable parameters (spynet.mean/std excluded). */
  parameters: number;
}

export function summarize(w: LoadedWeights): WeightsSummary {
  return { config: w.config, format: w.format, dtype: w.dtype, tensors: manifestOf(w.cfg).length, parameters: countParameters(w.tensors, w.cfg) };
}

/** Largest |f16(x) − x| over the tensors: what a conversion to F16 changes. */
export function f16MaxError(tensors: ReadonlyMap<string, NamedTensor>): { abs: number; rel: number } {
  let abs = 0;
  let rel = 0;
  for (const t of tensors.values()) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      const x = d[i];
      const e = Math.abs(roundToHalf(x) - x);
      if (e > abs) abs = e;
      if (x !== 0 && e / Math.abs(x) > rel && Math.abs(x) >= 2 ** -14) rel = e / Math.abs(x);
    }
  }
  return { abs, rel };
}

function roundToHalf(x: number): number {
  return fromHalf(toHalf(x));
}

/** Serialises validated weights as safetensors, with the config recorded in the metadata. */
export function toSafetensors(w: LoadedWeights, dtype: Precision = 'f32', metadata: Record<string, string> = {}): Uint8Array {
  return writeSafetensors(w.tensors, dtype, { format: 'msvsr-webgpu', config: w.config, ...metadata });
}
