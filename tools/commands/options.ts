// Option parsers and output helpers shared by the msvsr commands.
import { InvalidArgumentError } from 'commander';
import { OptionError, checkPrecision, parseBytes, type Precision } from '../../src/index.js';

/** An integer option >= min ("--chunk 10"). */
export function intOption(min: number): (v: string) => number {
  return (v: string) => {
    if (!/^\s*\d+\s*$/.test(v)) throw new InvalidArgumentError(`not an integer >= ${min}.`);
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer >= ${min}.`);
    return n;
  };
}

export function precisionOption(v: string): Precision {
  try {
    return checkPrecision(v, '--precision');
  } catch (e) {
    throw e instanceof OptionError ? new InvalidArgumentError(e.message) : e;
  }
}

/** A byte size ("2GiB", "512MiB", "1500000000"). */
export function bytesOption(v: string): number {
  try {
    return parseBytes(v, '--max-memory');
  } catch (e) {
    throw e instanceof OptionError ? new InvalidArgumentError(e.message) : e;
  }
}

export const ENVIRONMENT_HELP = `
Environment:
  MSVSR_WEIGHTS       weights file to use when --weights is not given
  MSVSR_CACHE_DIR     folder of the downloaded weights and the tuner's choices (default $XDG_CACHE_HOME/msvsr or ~/.cache/msvsr)
  MSVSR_WEIGHTS_URL   where the default weights are downloaded from
  MSVSR_MODELS_URL    a folder URL the --model files are downloaded from (default PaddleGAN's server)
  MSVSR_FFMPEG        path to ffmpeg (ffprobe next to it, or MSVSR_FFPROBE)
  MSVSR_ADAPTER       WebGPU adapter name filter
  MSVSR_UNSAFE_APIS   1: as --unsafe-apis (experimental WebGPU features: subgroup matrices)`;
