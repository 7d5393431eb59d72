// File helpers for the CLI: temporary names beside the target, atomic writes, cleanup on failure and on
// Ctrl-C, and the checks that keep an output from replacing its input.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError, errno, why } from './errors.js';

/** A hidden temporary name in the same directory as `target` (so a rename is atomic), keeping its extension. */
export function tempPath(target: string, tag = 'partial'): string {
  const dir = path.dirname(path.resolve(target));
  const base = path.basename(target);
  const ext = path.extname(base);
  return path.join(dir, `.${base}.${tag}-${process.pid}-${randomBytes(3).toString('hex')}${ext}`);
}

/**
 * Removes the temporaries an earlier run on `target` left beside it when it was killed (kill -9, power loss):
 * `.NAME.TAG-PID-…` files of tempPath for any of `tags`, except this process's. Only for a caller that holds
 * `target`'s lock (lock.ts), so no other live run is writing them. Returns the names removed.
 */
export function removeLeftovers(target: string, tags: readonly string[]): string[] {
  const dir = path.dirname(path.resolve(target));
  const prefix = `.${path.basename(target)}.`;
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const m = /^([a-z-]+)-(\d+)-/.exec(n.slice(prefix.length));
    if (!m || !tags.includes(m[1]) || Number(m[2]) === process.pid) continue;
    try {
      fs.unlinkSync(path.join(dir, n));
      removed.push(n);
    } catch {
      // gone meanwhile, or not a file: nothing to do
    }
  }
  return removed;
}

/**
 * Writes `data` to a temporary file beside `file`, flushes it, then moves it into place: renamed over
 * `file`, or with overwrite false hard-linked, which fails if `file` appeared meanwhile (no check-then-write
 * race; file systems without hard links fall back to a check and a rename).
 */
export function writeFileAtomic(file: string, data: Uint8Array, opts: { overwrite?: boolean } = {}): void {
  const tmp = tempPath(file, 'tmp');
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
  } catch (e) {
    throw new CliError(`cannot write ${file}: ${why(e)}`);
  }
  try {
    try {
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (opts.overwrite ?? true) fs.renameSync(tmp, file);
    else {
      try {
        fs.linkSync(tmp, file);
      } catch (e) {
        if (errno(e) === 'EEXIST' || fs.existsSync(file)) throw new CliError(`${file}: already exists (use --overwrite to replace it)`);
        fs.renameSync(tmp, file);
      }
    }
  } catch (e) {
    throw e instanceof CliError ? e : new CliError(`cannot write ${file}: ${why(e)}`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Moves a finished temporary file to `target` unless `target` already exists, atomically (a hard link, which
 * fails on an existing name, then the temporary's removal): of two writers racing to publish the same file,
 * exactly one does. Returns whether this call published it; the temporary is gone either way.
 */
export function publishOnce(tmp: string, target: string): boolean {
  try {
    fs.linkSync(tmp, target);
    return true;
  } catch (e) {
    if (errno(e) === 'EEXIST') return false;
    // A file system without hard links (some SMB or FUSE mounts): a check and a rename, exact but for a
    // race between two writers of the same file, which the queue's locks make rare.
    if (['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(errno(e) ?? '')) {
      if (fs.existsSync(target)) return false;
      fs.renameSync(tmp, target);
      return true;
    }
    throw new CliError(`cannot write ${target}: ${why(e)}`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

// ---- cleanup on failure and on signals ----

type Cleanup = () => void;
const cleanups = new Set<Cleanup>();
let signalsInstalled = false;
const interruptHooks = new Set<() => void>();

function installSignals(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(sig, () => {
      for (const h of interruptHooks) {
        try {
          h();
        } catch {
          /* best effort */
        }
      }
      runCleanups();
      process.stderr.write(`\nmsvsr: interrupted (${sig})\n`);
      process.exit(code);
    });
  }
}

/** Registers a synchronous cleanup that runs on Ctrl-C / SIGTERM (and when `runCleanups` is called). */
export function onCleanup(fn: Cleanup): () => void {
  installSignals();
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Registers something to say or do first when the process is interrupted. */
export function onInterrupt(fn: () => void): () => void {
  installSignals();
  interruptHooks.add(fn);
  return () => interruptHooks.delete(fn);
}

export function runCleanups(): void {
  for (const fn of [...cleanups]) {
    cleanups.delete(fn);
    try {
      fn();
    } catch {
      /* best effort */
    }
  }
}

// ---- path checks ----

/** stat, or undefined when the path does not exist. */
export function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    if (errno(e) === 'ENOTDIR') return undefined;
    throw new CliError(`${p}: ${why(e)}`);
  }
}

/** True when a and b name the same file or directory (same path, or same device + inode). */
export function samePath(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/** The output's folder must exist and be a folder we can write into. */
export function checkOutputParent(out: string): void {
  const dir = path.dirname(path.resolve(out));
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    throw new CliError(`cannot write ${out}: the folder ${dir} ${errno(e) === 'ENOENT' ? 'does not exist' : `is not usable: ${why(e)}`}`);
  }
  if (!st.isDirectory()) throw new CliError(`cannot write ${out}: ${dir} is not a folder`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    throw new CliError(`cannot write ${out}: ${why(e)}`);
  }
}

/** Natural order: digit runs compare as numbers ("2.png" < "10.png"), then plain code-point order. */
export function naturalCompare(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i];
    const y = rb[i];
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = x.replace(/^0+(?=\d)/, '');
      const ny = y.replace(/^0+(?=\d)/, '');
      if (nx.length !== ny.length) return nx.length - ny.length;
      if (nx !== ny) return nx < ny ? -1 : 1;
      if (x.length !== y.length) return x.length - y.length; // "007" after "7"
      continue;
    }
    return x < y ? -1 : 1;
  }
  if (ra.length !== rb.length) return ra.length - rb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
