// The one place where the options shared by the library and the CLI are validated. Each check names the
// option as the caller knows it ('chunkSize' in the library, '--chunk' on the command line).
import { isPrecision, type Precision } from './numeric/precision.js';

/** A bad option value: `option` is its name as the caller spelled it. */
export class OptionError extends Error {
  override name = 'OptionError';
  constructor(
    message: string,
    readonly option: string,
  ) {
    super(message);
  }
}

/** PaddleGAN's predictor runs chunks of 10 frames. */
export const DEFAULT_CHUNK = 10;

export function checkChunkSize(n: number | undefined, option = 'chunkSize'): number {
  const c = n ?? DEFAULT_CHUNK;
  if (!(Number.isInteger(c) && c >= 1)) throw new OptionError(`${option} ${n}: must be an integer >= 1`, option);
  return c;
}

/**
 * Context frames on each side of a chunk. 0 is PaddleGAN's predictor (independent chunks); the default comes
 * from the measurement in docs/tiling-and-overlap.md.
 */
export const DEFAULT_OVERLAP = 2;

export function checkOverlap(n: number | undefined, option = 'overlap'): number {
  const v = n ?? DEFAULT_OVERLAP;
  if (!(Number.isInteger(v) && v >= 0)) throw new OptionError(`${option} ${n}: must be an integer >= 0`, option);
  return v;
}

/** Context around each tile's core, in low-resolution pixels (see docs/tiling-and-overlap.md). */
export const DEFAULT_HALO = 48;

export function checkHalo(n: number | undefined, option = 'halo'): number {
  const v = n ?? DEFAULT_HALO;
  if (!(Number.isInteger(v) && v >= 0)) throw new OptionError(`${option} ${n}: must be an integer >= 0`, option);
  return v;
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** A byte count: a number with an optional unit (B, kB, MB, GB, KiB, MiB, GiB, TiB; case-insensitive). */
export function parseBytes(text: string, option = 'maxMemory'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new OptionError(`${option} '${text}': not a size (e.g. 2GiB, 512MiB, 1500000000)`, option);
  const n = Math.floor(Number(m[1]) * unit);
  if (!(n > 0)) throw new OptionError(`${option} '${text}': must be more than 0 bytes`, option);
  return n;
}

export function checkPrecision(p: unknown, option = 'precision'): Precision {
  const v = p ?? 'f32';
  if (!isPrecision(v)) throw new OptionError(`${option} '${String(v)}': use 'f32' or 'f16'`, option);
  return v;
}

/** Which conv variants run (see graph/tuner.ts): default 'cached'. */
export function checkTune(t: unknown, option = 'tune'): 'off' | 'cached' | 'full' {
  const v = t ?? 'cached';
  if (v !== 'off' && v !== 'cached' && v !== 'full') throw new OptionError(`${option} '${String(v)}': use 'off', 'cached' or 'full'`, option);
  return v;
}
