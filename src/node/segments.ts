// Segments of a video job: runs of whole chunks, each encoded to its own file, so an interrupted job resumes
// from the first segment not finished. Pure: frame counts, chunks and cuts in, segments out.
import { chunkStarts, sceneOf } from '../windows.js';

export interface Segment {
  index: number;
  /** The chunk start the segment's computation begins at (its first chunk). */
  from: number;
  /** The frames written to the segment's file: [start, end) ⊆ the requested range. */
  start: number;
  end: number;
}

/**
 * The segments of output frames [a, b) of a video of n frames: consecutive chunks (restarting at cuts) grouped
 * so that each segment's chunks span at most `segmentFrames` frames (at least one chunk each).
 */
export function planSegments(a: number, b: number, n: number, chunk: number, cuts: readonly number[], segmentFrames: number): Segment[] {
  if (!(Number.isInteger(segmentFrames) && segmentFrames >= 1)) throw new Error(`segment frames ${segmentFrames}: must be an integer >= 1`);
  const end = Math.min(b, n);
  const chunks = chunkStarts(n, chunk, cuts)
    .map((c) => ({ c, e: Math.min(c + chunk, sceneOf(c, cuts).end, n) }))
    .filter((k) => k.e > a && k.c < end);
  const out: Segment[] = [];
  let first = 0;
  for (let i = 1; i <= chunks.length; i++) {
    if (i === chunks.length || chunks[i].e - chunks[first].c > segmentFrames) {
      const from = chunks[first].c;
      out.push({ index: out.length, from, start: Math.max(a, from), end: Math.min(end, chunks[i - 1].e) });
      first = i;
    }
  }
  return out;
}

/** The default segment length: whole chunks of about `seconds` of work at the measured seconds per chunk. */
export function segmentFramesFor(chunk: number, secondsPerChunk: number, seconds = 180): number {
  return chunk * Math.max(1, Math.floor(seconds / Math.max(secondsPerChunk, 1e-3)));
}
