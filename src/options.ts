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

export function checkPrecision(p: unknown, option = 'precision'): Precision {
  const v = p ?? 'f32';
  if (!isPrecision(v)) throw new OptionError(`${option} '${String(v)}': use 'f32' or 'f16'`, option);
  return v;
}
