// The decisions behind writing a frame folder or a video job and --resume, as pure functions of what exists
// (the caller looks at the disk): where frames go, where each sequence restarts, what changed since the
// interrupted run; and the clean-up of what an interruption leaves.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError } from './errors.js';

export interface FolderState {
  resume: boolean;
  overwrite: boolean;
  /** The output folder exists. */
  outputExists: boolean;
  /** The hidden partial folder of an interrupted run exists. */
  partialExists: boolean;
  /** The output as the user named it, and the partial folder: for the messages. */
  output: string;
  partial: string;
  /** What the partial folder holds, for the messages (default 'frames'). */
  holds?: string;
}

export interface FolderTarget {
  /** Frames go into the hidden partial folder (renamed into place when complete), or into the output itself. */
  work: 'partial' | 'output';
  /** Start from an empty partial folder (any old one is removed); otherwise continue what `work` holds. */
  fresh: boolean;
}

/**
 * Where a frame-folder run writes: a resumed interrupted run continues its hidden folder; --resume on a
 * finished output continues it in place; otherwise a fresh hidden folder, renamed into place when complete.
 * Throws the CliError the user sees when the state calls for --overwrite or --resume.
 */
export function folderTarget(s: FolderState): FolderTarget {
  if (!s.resume) {
    if (s.outputExists && !s.overwrite) throw new CliError(`${s.output}: already exists (use --overwrite to replace it, or --resume to continue it)`);
    if (s.partialExists && !s.overwrite) {
      throw new CliError(
        `${s.output}: an interrupted run left its ${s.holds ?? 'frames'} in ${s.partial}; add --resume to continue it, or --overwrite to start over`,
      );
    }
    return { work: 'partial', fresh: true };
  }
  if (s.partialExists) {
    if (s.outputExists && !s.overwrite) {
      throw new CliError(`${s.output}: already exists, and an interrupted run is in ${s.partial}; add --overwrite to finish that run and replace ${s.output}`);
    }
    return { work: 'partial', fresh: false };
  }
  if (s.outputExists) return { work: 'output', fresh: false };
  return { work: 'partial', fresh: true };
}

/**
 * The first frame index of a sequence that must be (re)computed: the start of its first chunk with a frame not
 * `done` (chunks are independent passes, so a partly written chunk is computed again); `frames.length` when
 * all are done.
 */
export function resumePoint(frames: readonly string[], chunk: number, done: (name: string) => boolean): number {
  for (let s = 0; s < frames.length; s += chunk) {
    if (!frames.slice(s, s + chunk).every((n) => done(n))) return s;
  }
  return frames.length;
}

/** How a value of a resume manifest reads in a message (null: the option was not given). */
const shown = (v: unknown) => (v === null || v === undefined ? 'default' : Array.isArray(v) ? v.join(',') || 'none' : String(v));

/**
 * What differs between the options a job was started with (`prev`, read back from its manifest) and now, as
 * the user spells them: `labels` names each compared key ("--chunk"), or gives the whole phrase ("other
 * weights") when it starts with '='.
 */
export function optionDiff(prev: Record<string, unknown>, now: Record<string, unknown>, labels: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [k, label] of Object.entries(labels)) {
    if (JSON.stringify(prev[k] ?? null) === JSON.stringify(now[k] ?? null)) continue;
    out.push(label.startsWith('=') ? label.slice(1) : `${label} ${shown(prev[k])} (now ${shown(now[k])})`);
  }
  return out;
}

/** Removes what an interrupted writeFileAtomic may leave in `dir` (hidden temporary files), so a resumed job ends clean. */
export function removeStaleTemps(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) if (/^\..*\.(tmp|partial)-\d+-[0-9a-f]{6}/.test(n)) fs.rmSync(path.join(dir, n), { force: true });
}
