// Frame folders: a folder of PNG frames (one sequence, REDS/Vid4 clip layout) or a folder of such folders
// (REDS `<clip>/<%08d>.png`, Vid4 `<seq>/<name>.png`). Frames are taken in natural order ("2.png" before
// "10.png"; zero-padded names sort the same either way).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame } from '../index.js';
import { CliError, why } from './errors.js';
import { naturalCompare } from './files.js';
import { decodePng, readPngHeader, type PngHeader } from './png.js';

export interface Sequence {
  /** '' for a folder of frames, else the clip folder's name. */
  name: string;
  dir: string;
  /** File names, in order. */
  frames: string[];
  width: number;
  height: number;
}

const isPngName = (n: string) => /\.png$/i.test(n);

function readDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new CliError(`${dir}: cannot list the folder: ${why(e)}`);
  }
}

/** The PNG files directly in `dir`, in natural order. */
export function listPngs(dir: string): string[] {
  return readDir(dir)
    .filter((d) => (d.isFile() || d.isSymbolicLink()) && isPngName(d.name) && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort(naturalCompare);
}

/** Reads the first bytes of a file (enough for a PNG header). */
function head(file: string, n = 64): Uint8Array {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new CliError(`${file}: cannot read: ${why(e)}`);
  }
  try {
    const b = new Uint8Array(n);
    const got = fs.readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

/** The header of every frame, checking that each is a PNG and that all have one size (naming the first that differs). */
export function checkSequence(dir: string, name: string, frames: string[]): Sequence {
  if (frames.length === 0) throw new CliError(`${dir}: no PNG frames (zero frames)`);
  let first: PngHeader | undefined;
  for (const f of frames) {
    const file = path.join(dir, f);
    const h = readPngHeader(head(file), file);
    if (!first) first = h;
    else if (h.width !== first.width || h.height !== first.height) {
      throw new CliError(
        `${file}: frames differ in size: ${f} is ${h.width}x${h.height} but ${frames[0]} is ${first.width}x${first.height} (all frames of a sequence must have one size)`,
      );
    }
  }
  return { name, dir, frames, width: first!.width, height: first!.height };
}

/**
 * A folder of frames → one sequence; a folder without PNGs whose sub-folders hold PNGs → one sequence per
 * sub-folder (natural order). Anything else is an error.
 */
export function findSequences(dir: string): Sequence[] {
  const pngs = listPngs(dir);
  if (pngs.length) return [checkSequence(dir, '', pngs)];
  const subs = readDir(dir)
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort(naturalCompare);
  const seqs: Sequence[] = [];
  for (const s of subs) {
    const sub = path.join(dir, s);
    const frames = listPngs(sub);
    if (frames.length) seqs.push(checkSequence(sub, s, frames));
  }
  if (!seqs.length) throw new CliError(`${dir}: no PNG frames (zero frames), and no sub-folders of PNG frames`);
  return seqs;
}

/** Decodes one PNG frame file to 8-bit RGB. */
export function readFrame(file: string): Frame & { header: PngHeader } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new CliError(`${file}: cannot read: ${why(e)}`);
  }
  const img = decodePng(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
  return { width: img.width, height: img.height, data: img.data, channels: 3, header: img.header };
}

/** The frames of a sequence from index `from`, decoded one at a time as they are pulled. */
export function* sequenceFrames(seq: Sequence, from = 0): Generator<Frame> {
  for (let i = from; i < seq.frames.length; i++) {
    const file = path.join(seq.dir, seq.frames[i]);
    const f = readFrame(file);
    if (f.width !== seq.width || f.height !== seq.height) {
      throw new CliError(`${file}: frames differ in size: ${f.width}x${f.height}, expected ${seq.width}x${seq.height}`);
    }
    yield f;
  }
}
