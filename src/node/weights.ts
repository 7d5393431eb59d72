// Which weights the CLI uses: --weights, else --model (one of PaddleGAN's published PP-MSVSR files), else
// MSVSR_WEIGHTS, else the official REDS file. A published file is downloaded on first use into the cache
// (atomically, and only after it reads as valid weights of the architecture it is published for).
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DownloadError, IDLE_TIMEOUT_MS, MAX_WEIGHTS_BYTES, fetchBytes } from '../platform/download.js';
import { cacheDir } from '../platform/node.js';
import { readWeights, type LoadedWeights } from '../weights/load.js';
import type { ConfigName } from '../weights/manifest.js';
import { CliError, errno, why } from './errors.js';

/** Where PaddleGAN publishes its weights. */
export const MODELS_URL = 'https://paddlegan.bj.bcebos.com/models/';

/** PaddleGAN's published PP-MSVSR x4 weights. */
export const MODELS = {
  reds: { file: 'PP-MSVSR_reds_x4.pdparams', config: 'PP-MSVSR', about: 'PP-MSVSR trained on REDS (the default)' },
  vimeo90k: { file: 'PP-MSVSR_vimeo90k_x4.pdparams', config: 'PP-MSVSR', about: 'PP-MSVSR trained on Vimeo-90K' },
  large: { file: 'PP-MSVSR-L_reds_x4.pdparams', config: 'PP-MSVSR-L', about: 'PP-MSVSR-L (the larger network) trained on REDS' },
} as const satisfies Record<string, { file: string; config: ConfigName; about: string }>;

export type ModelName = keyof typeof MODELS;
export const MODEL_NAMES = Object.keys(MODELS) as ModelName[];

export const OFFICIAL_WEIGHTS_URL = `${MODELS_URL}${MODELS.reds.file}`;
export const DEFAULT_WEIGHTS_NAME: string = MODELS.reds.file;
/** A file or download past this is not a weights file. */
const MAX_DOWNLOAD = MAX_WEIGHTS_BYTES;

type Env = Record<string, string | undefined>;

export { cacheDir };

export function defaultWeightsPath(env: Env = process.env): string {
  return modelPath('reds', env);
}

/** Where a published model is cached. */
export function modelPath(model: ModelName, env: Env = process.env): string {
  return path.join(cacheDir(env), MODELS[model].file);
}

/**
 * Where a published model is downloaded from: MSVSR_MODELS_URL (a folder URL holding PaddleGAN's file names)
 * when set, and for the default model MSVSR_WEIGHTS_URL; else PaddleGAN's server.
 */
export function modelUrl(model: ModelName, env: Env = process.env): string {
  if (model === 'reds' && env.MSVSR_WEIGHTS_URL) return env.MSVSR_WEIGHTS_URL;
  const base = env.MSVSR_MODELS_URL || MODELS_URL;
  return `${base.endsWith('/') ? base : `${base}/`}${MODELS[model].file}`;
}

export function weightsUrl(env: Env = process.env): string {
  return modelUrl('reds', env);
}

export function checkModel(name: string, option = '--model'): ModelName {
  if (!(name in MODELS)) throw new CliError(`${option} ${name}: use one of ${MODEL_NAMES.join(', ')}`);
  return name as ModelName;
}

/** Which published models are in the cache (present: the file exists; it is validated when used). */
export function cachedModels(env: Env = process.env): Array<{ name: ModelName; file: string; present: boolean; bytes?: number; url: string; about: string }> {
  return MODEL_NAMES.map((name) => {
    const file = modelPath(name, env);
    const st = fs.statSync(file, { throwIfNoEntry: false });
    return { name, file, present: !!st?.isFile(), ...(st?.isFile() ? { bytes: st.size } : {}), url: modelUrl(name, env), about: MODELS[name].about };
  });
}

export interface ResolvedWeights {
  /** The file the weights came from (the cache path after a download). */
  file: string;
  how: 'option' | 'MSVSR_WEIGHTS' | 'cache' | 'download';
  /** The published model, when the weights are one. */
  model?: ModelName;
  weights: LoadedWeights;
  bytes: number;
  sha256: string;
}

export interface ResolveOptions {
  /** --weights */
  weights?: string;
  /** --model */
  model?: ModelName;
  env?: Env;
  /** Download progress (bytes so far, total when known). */
  onDownload?: (got: number, total: number | undefined, url: string) => void;
  /** Said once before a download starts. */
  log?: (line: string) => void;
}

function readLocal(file: string, what: string): Uint8Array {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new CliError(`${what} ${file}: ${errno(e) === 'ENOENT' ? 'no such file' : why(e)}`);
  }
  if (!st.isFile()) throw new CliError(`${what} ${file}: not a file`);
  if (st.size > MAX_DOWNLOAD) throw new CliError(`${what} ${file}: ${st.size} bytes is far larger than any PP-MSVSR weights file`);
  const b = fs.readFileSync(file);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function parse(bytes: Uint8Array, file: string): LoadedWeights {
  try {
    return readWeights(bytes, file);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The weights to use, downloading a published file into the cache when no file is given. */
export async function resolveWeights(o: ResolveOptions = {}): Promise<ResolvedWeights> {
  const env = o.env ?? process.env;
  if (o.weights && o.model) throw new CliError(`--weights and --model ${o.model}: give one of them`);
  if (o.weights) {
    const bytes = readLocal(o.weights, 'weights');
    return { file: o.weights, how: 'option', weights: parse(bytes, o.weights), bytes: bytes.length, sha256: sha256(bytes) };
  }
  if (env.MSVSR_WEIGHTS && !o.model) {
    const bytes = readLocal(env.MSVSR_WEIGHTS, 'MSVSR_WEIGHTS');
    return { file: env.MSVSR_WEIGHTS, how: 'MSVSR_WEIGHTS', weights: parse(bytes, env.MSVSR_WEIGHTS), bytes: bytes.length, sha256: sha256(bytes) };
  }
  const model = o.model ?? 'reds';
  const file = modelPath(model, env);
  if (fs.existsSync(file)) {
    const bytes = readLocal(file, 'cached weights');
    let weights: LoadedWeights;
    try {
      weights = checkConfig(readWeights(bytes, file), model, file);
    } catch (e) {
      throw new CliError(`cached weights ${file} are not valid (${(e as Error).message}); delete the file to download it again`);
    }
    return { file, how: 'cache', model, weights, bytes: bytes.length, sha256: sha256(bytes) };
  }
  const url = modelUrl(model, env);
  o.log?.(`downloading the ${MODELS[model].config} weights (once) from ${url}\n  into ${file}`);
  const { bytes, weights } = await downloadWeights(url, file, o.onDownload, MODELS[model].config);
  return { file, how: 'download', model, weights, bytes: bytes.length, sha256: sha256(bytes) };
}

/** The weights, if they are of the architecture `model` is published for. */
function checkConfig(w: LoadedWeights, model: ModelName, source: string): LoadedWeights {
  const want = MODELS[model].config;
  if (w.config !== want) throw new Error(`${source} holds ${w.config} weights, but --model ${model} is ${want}`);
  return w;
}

function offline(url: string, dest: string, reason: string): CliError {
  return new CliError(
    `could not download the PP-MSVSR weights from ${url}: ${reason}.\n` +
      `Without network access, fetch that file elsewhere and put it at ${dest} ` +
      `(or pass --weights <file.pdparams|.safetensors>, or set MSVSR_WEIGHTS=<file>).`,
  );
}

/**
 * Downloads `url` (fetchBytes: a 512 MiB cap, a 60 s idle timeout, the Content-Length checked), checks that
 * it reads as PP-MSVSR weights, and only then renames it into `dest` (through a temporary file in the same
 * folder). Nothing is left at `dest` or beside it on any failure. Returns the bytes and the weights they hold.
 */
export async function downloadWeights(
  url: string,
  dest: string,
  onProgress?: (got: number, total: number | undefined, url: string) => void,
  config?: ConfigName,
): Promise<{ bytes: Uint8Array; weights: LoadedWeights }> {
  let data: Uint8Array;
  try {
    data = await fetchBytes(url, {
      maxBytes: MAX_DOWNLOAD,
      idleTimeoutMs: IDLE_TIMEOUT_MS,
      onProgress: onProgress && ((got, total) => onProgress(got, total, url)),
    });
  } catch (e) {
    if (!(e instanceof DownloadError)) throw e;
    const f = e.failure;
    throw offline(url, dest, f.kind === 'too-large' ? `the server announces ${f.announced} bytes, far more than a weights file` : f.reason);
  }
  let weights: LoadedWeights;
  try {
    weights = readWeights(data, url);
    if (config && weights.config !== config) throw new Error(`it holds ${weights.config} weights, not ${config}`);
  } catch (e) {
    throw new CliError(`the file downloaded from ${url} is not valid PP-MSVSR weights, so it was not saved: ${(e as Error).message}`);
  }
  const dir = path.dirname(dest);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CliError(`cannot create the cache folder ${dir}: ${why(e)} (set MSVSR_CACHE_DIR to another folder, or pass --weights)`);
  }
  const tmp = path.join(dir, `.${path.basename(dest)}.${process.pid}-${randomBytes(3).toString('hex')}.download`);
  try {
    const fd = fs.openSync(tmp, 'wx', 0o644);
    try {
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new CliError(`cannot save the weights to ${dest}: ${why(e)}`);
  }
  return { bytes: data, weights };
}
