// Child processes (ffmpeg): whether one still runs, stopping it, waiting for it, and the end of its stderr.
import type { ChildProcess } from 'node:child_process';
export type { ChildProcess };

/** Neither exited nor killed by a signal yet. */
export function isRunning(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

/** SIGKILL unless it has already ended; safe to call any number of times. */
export function killIfRunning(p: ChildProcess | undefined): void {
  if (p && isRunning(p)) p.kill('SIGKILL');
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves when the process has ended (at once if it already has). */
export function exited(p: ChildProcess): Promise<Exit> {
  if (!isRunning(p)) return Promise.resolve({ code: p.exitCode, signal: p.signalCode });
  return new Promise((resolve) => p.once('close', (code, signal) => resolve({ code, signal })));
}

/** Keeps the last `max` characters a child wrote to stderr. */
export function collectStderr(p: ChildProcess, max = 8000): () => string {
  let s = '';
  p.stderr?.setEncoding('utf8');
  p.stderr?.on('data', (d: string) => {
    s += d;
    if (s.length > 2 * max) s = s.slice(-max);
  });
  return () => s.slice(-max);
}

/** The last `n` characters of a message, trimmed. */
export function tail(s: string, n = 600): string {
  const t = s.trim();
  return t.length > n ? `…${t.slice(-n)}` : t;
}
