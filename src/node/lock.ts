// One run per output: a lock file beside the output (`.<name>.msvsr-lock`) holding the pid of the run that
// writes it. A second run on the same output while that process lives is refused; the lock of a process
// that has died (killed, crashed) is taken over.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CliError, errno, why } from './errors.js';
import { onCleanup } from './files.js';

export function lockPath(output: string): string {
  const out = path.resolve(output);
  return path.join(path.dirname(out), `.${path.basename(out)}.msvsr-lock`);
}

/** Whether a process with this pid exists (a process of another user counts). */
export function alive(pid: number): boolean {
  if (!(Number.isInteger(pid) && pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === 'EPERM';
  }
}

interface LockContent {
  pid: number;
  host: string;
}

function readLock(file: string): LockContent | undefined {
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockContent>;
    return typeof j.pid === 'number' ? { pid: j.pid, host: String(j.host ?? '') } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock of `output` for this process, or throws the CliError the user sees when another live run
 * holds it. Returns the release (also run on Ctrl-C / SIGTERM).
 */
export function acquireLock(output: string): () => void {
  const file = lockPath(output);
  const mine: LockContent = { pid: process.pid, host: os.hostname() };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o644);
      try {
        fs.writeSync(fd, JSON.stringify(mine));
      } finally {
        fs.closeSync(fd);
      }
      break;
    } catch (e) {
      if (errno(e) !== 'EEXIST') throw new CliError(`cannot write ${output}: cannot create the lock ${file}: ${why(e)}`);
      const held = readLock(file);
      // An unreadable lock younger than a few seconds is one being written right now.
      const fresh = !held && Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 5000;
      const other = fresh || (held && (held.host !== mine.host || alive(held.pid)));
      if (other || attempt > 0) {
        throw new CliError(
          `${output}: another msvsr run (pid ${held?.pid ?? '?'}${held && held.host !== mine.host ? ` on ${held.host}` : ''}) is writing it; ` +
            `wait for it to finish or stop it (if none is running, delete ${file})`,
        );
      }
      // A dead process's lock (or an unreadable one): take it over.
      fs.rmSync(file, { force: true });
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    if (readLock(file)?.pid === process.pid) fs.rmSync(file, { force: true });
  };
  const unregister = onCleanup(release);
  return () => {
    unregister();
    release();
  };
}
