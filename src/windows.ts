// Temporal windows. A video runs as consecutive chunks of `chunk` output frames; each chunk is one forward
// pass over a window of frames that may add `overlap` context frames on each side, whose outputs are
// discarded. With overlap 0 the windows are PaddleGAN's predictor's chunks (the last one shorter). With
// overlap > 0 every window has the same length, min(n, chunk + 2·overlap) (one plan for the whole video):
// at the ends of the video the window slides inward, giving more context on the other side.
//
// Scene cuts: a cut at frame k separates frames k − 1 and k. Each scene (the frames between two cuts) runs
// as a video of its own: its chunks start at the scene's first frame and no window reaches across a cut,
// so the recurrence never carries features from one scene into the next. Without cuts, one scene.

export interface Window {
  /** Frames the forward pass runs on: [start, end). */
  start: number;
  end: number;
  /** Frames whose outputs are kept: [emitStart, emitEnd) ⊆ [start, end). */
  emitStart: number;
  emitEnd: number;
}

/** Window length for `overlap` > 0 (at most n); for overlap 0 windows are `chunk` long but the last. */
export function windowLength(chunk: number, overlap: number, n = Infinity): number {
  return Math.min(n, chunk + 2 * overlap);
}

/** Cut positions as given: integers >= 1 in strictly ascending order (a cut at k starts a scene at frame k). */
export function checkCuts(cuts: readonly number[] | undefined, option = 'cuts'): readonly number[] {
  const c = cuts ?? [];
  for (let i = 0; i < c.length; i++) {
    if (!(Number.isInteger(c[i]) && c[i] >= 1 && (i === 0 || c[i] > c[i - 1]))) {
      throw new Error(`${option} [${c.join(', ')}]: must be frame indices >= 1 in strictly ascending order`);
    }
  }
  return c;
}

/** The scene holding frame c: [start, end) between the cuts around it (end is Infinity after the last cut). */
export function sceneOf(c: number, cuts: readonly number[] = []): { start: number; end: number } {
  let start = 0;
  let end = Infinity;
  for (const k of cuts) {
    if (k <= c) start = k;
    else {
      end = k;
      break;
    }
  }
  return { start, end };
}

/** Whether a chunk starts at frame c: a multiple of `chunk` from the start of c's scene. */
export function isChunkStart(c: number, chunk: number, cuts: readonly number[] = []): boolean {
  return Number.isInteger(c) && c >= 0 && (c - sceneOf(c, cuts).start) % chunk === 0;
}

/** The first frame of every chunk of a video of n frames. */
export function chunkStarts(n: number, chunk: number, cuts: readonly number[] = []): number[] {
  const out: number[] = [];
  for (let c = 0; c < n; c = Math.min(c + chunk, sceneOf(c, cuts).end)) out.push(c);
  return out;
}

/** The chunk start at or before frame i (a resumed or partial run starts there). */
export function chunkStartAtOrBefore(i: number, chunk: number, cuts: readonly number[] = []): number {
  const s = sceneOf(i, cuts).start;
  return s + Math.floor((i - s) / chunk) * chunk;
}

/**
 * Frames a stream must have read (or reached its end) before the window of the chunk starting at c is
 * known: its future context, and a whole window's worth at the start of a scene; never past the scene.
 */
export function framesNeeded(c: number, chunk: number, overlap: number, cuts: readonly number[] = []): number {
  const s = sceneOf(c, cuts);
  const local = c - s.start;
  const need = overlap === 0 ? local + chunk : Math.max(local + chunk + overlap, windowLength(chunk, overlap));
  return Math.min(s.end, s.start + need);
}

/**
 * The window of the chunk that emits frames from c on (up to chunk frames, never past a cut). `n` is the
 * frame count, or, while a stream is still being read, the frames read so far, which must be at least
 * framesNeeded(c, chunk, overlap, cuts).
 */
export function windowAt(c: number, chunk: number, overlap: number, n: number, cuts: readonly number[] = []): Window {
  const s = sceneOf(c, cuts);
  const sceneEnd = Math.min(n, s.end);
  const local = c - s.start;
  const len = sceneEnd - s.start;
  const emitEnd = s.start + Math.min(len, local + chunk);
  if (overlap === 0) return { start: c, end: emitEnd, emitStart: c, emitEnd };
  const wl = windowLength(chunk, overlap, len);
  const start = s.start + Math.min(Math.max(0, local - overlap), len - wl);
  return { start, end: start + wl, emitStart: c, emitEnd };
}

/** The first frame any window from output frame `from` on can need (a resumed stream may start there). */
export function streamStart(from: number, chunk: number, overlap: number, cuts: readonly number[] = []): number {
  return overlap === 0 ? from : Math.max(sceneOf(from, cuts).start, from - windowLength(chunk, overlap));
}

/** Every window of a video of n frames. */
export function temporalWindows(n: number, chunk: number, overlap: number, cuts: readonly number[] = []): Window[] {
  if (!(Number.isInteger(chunk) && chunk >= 1)) throw new Error(`windows: chunk ${chunk} must be an integer >= 1`);
  if (!(Number.isInteger(overlap) && overlap >= 0)) throw new Error(`windows: overlap ${overlap} must be an integer >= 0`);
  checkCuts(cuts);
  return chunkStarts(n, chunk, cuts).map((c) => windowAt(c, chunk, overlap, n, cuts));
}

/** The last frame (exclusive) that the windows emitting frames before `to` read: a partial run reads no further. */
export function framesRead(to: number, n: number, chunk: number, overlap: number, cuts: readonly number[] = []): number {
  if (to <= 0) return 0;
  const c = chunkStartAtOrBefore(Math.min(to, n) - 1, chunk, cuts);
  return windowAt(c, chunk, overlap, n, cuts).end;
}
