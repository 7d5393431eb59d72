// Which weights the CLI uses: --weights, else MSVSR_WEIGHTS, else the cached official file — downloaded on
// first use into the cache (atomically, and only after it reads as valid PP-MSVSR weights).
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DownloadError, IDLE_TIMEOUT_MS, MAX_WEIGHTS_BYTES, fetchBytes } from '../platform/download.js';
import { readWeights, type LoadedWeights } from '../weights/load.js';
import { CliError, errno, why } from './errors.js';

export const OFFICIAL_WEIGHTS_URL = 'https://paddlegan.bj.bcebos.com/models/PP-MSVSR_reds_x4.pdparams';
export const DEFAULT_WEIGHTS_NAME = 'PP-MSVSR_reds_x4.pdparams';
/** A file or download past this is not a weights file. */
const MAX_DOWNLOAD = MAX_WEIGHTS_BYTES;

type Env = Record<string, string | undefined>;

/** MSVSR_CACHE_DIR, else $XDG_CACHE_HOME/msvsr (an absolute XDG_CACHE_HOME only), else ~/.cache/msvsr. */
export function cacheDir(env: Env = process.env): string {
  if (env.MSVSR_CACHE_DIR) return path.resolve(env.MSVSR_CACHE_DIR);
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'msvsr');
  if (process.platform === 'win32' && env.LOCALAPPDATA) return path.join(env.LOCALAPPDATA, 'msvsr', 'cache');
  return path.join(os.homedir(), '.cache', 'msvsr');
}

export function defaultWeightsPath(env: Env = process.env): string {
  return path.join(cacheDir(env), DEFAULT_WEIGHTS_NAME);
}

export function weightsUrl(env: Env = process.env): string {
  return env.MSVSR_WEIGHTS_URL || OFFICIAL_WEIGHTS_URL;
}

export interface ResolvedWeights {
  /** The file the weights came from (the cache path after a download). */
  file: string;
  how: 'option' | 'MSVSR_WEIGHTS' | 'cache' | 'download';
  weights: LoadedWeights;
  bytes: number;
  sha256: string;
}

export interface ResolveOptions {
  /** --weights */
  weights?: string;
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

/** The weights to use, downloading the official file into the cache when nothing else is given. */
export async function resolveWeights(o: ResolveOptions = {}): Promise<ResolvedWeights> {
  const env = o.env ?? process.env;
  if (o.weights) {
    const bytes = readLocal(o.weights, 'weights');
    return { file: o.weights, how: 'option', weights: parse(bytes, o.weights), bytes: bytes.length, sha256: sha256(bytes) };
  }
  if (env.MSVSR_WEIGHTS) {
    const bytes = readLocal(env.MSVSR_WEIGHTS, 'MSVSR_WEIGHTS');
    return { file: env.MSVSR_WEIGHTS, how: 'MSVSR_WEIGHTS', weights: parse(bytes, env.MSVSR_WEIGHTS), bytes: bytes.length, sha256: sha256(bytes) };
  }
  const file = defaultWeightsPath(env);
  if (fs.existsSync(file)) {
    const bytes = readLocal(file, 'cached weights');
    try {
      return { file, how: 'cache', weights: readWeights(bytes, file), bytes: bytes.length, sha256: sha256(bytes) };
    } catch (e) {
      throw new CliError(`cached weights ${file} are not valid (${(e as Error).message}); delete the file to download it again`);
    }
  }
  const url = weightsUrl(env);
  o.log?.(`downloading the PP-MSVSR weights (once) from ${url}\n  into ${file}`);
  const { bytes, weights } = await downloadWeights(url, file, o.onDownload);
  return { file, how: 'download', weights, bytes: bytes.length, sha256: sha256(bytes) };
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
