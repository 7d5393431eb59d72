// Temporal windows. A video runs as consecutive chunks of `chunk` output frames; each chunk is one forward
// pass over a window of frames that may add `overlap` context frames on each side, whose outputs are
// discarded. With overlap 0 the windows are PaddleGAN's predictor's chunks (the last one shorter). With
// overlap > 0 every window has the same length, min(n, chunk + 2·overlap) (one plan for the whole video):
// at the ends of the video the window slides inward, giving more context on the other side.

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

/**
 * Frames a stream must have read (or reached its end) before the window of the chunk starting at c is
 * known: its future context, and a whole window's worth at the start of the video.
 */
export function framesNeeded(c: number, chunk: number, overlap: number): number {
  return overlap === 0 ? c + chunk : Math.max(c + chunk + overlap, windowLength(chunk, overlap));
}

/**
 * The window of the chunk that emits frames [c, c + chunk). `n` is the frame count, or, while a stream is
 * still being read, the frames read so far, which must be at least framesNeeded(c, chunk, overlap).
 */
export function windowAt(c: number, chunk: number, overlap: number, n: number): Window {
  const emitEnd = Math.min(n, c + chunk);
  if (overlap === 0) return { start: c, end: emitEnd, emitStart: c, emitEnd };
  const len = windowLength(chunk, overlap, n);
  const start = Math.min(Math.max(0, c - overlap), n - len);
  return { start, end: start + len, emitStart: c, emitEnd };
}

/** The first frame any window from output frame `from` on can need (a resumed stream may start there). */
export function streamStart(from: number, chunk: number, overlap: number): number {
  return overlap === 0 ? from : Math.max(0, from - windowLength(chunk, overlap));
}

/** Every window of a video of n frames. */
export function temporalWindows(n: number, chunk: number, overlap: number): Window[] {
  if (!(Number.isInteger(chunk) && chunk >= 1)) throw new Error(`windows: chunk ${chunk} must be an integer >= 1`);
  if (!(Number.isInteger(overlap) && overlap >= 0)) throw new Error(`windows: overlap ${overlap} must be an integer >= 0`);
  const out: Window[] = [];
  for (let c = 0; c < n; c += chunk) out.push(windowAt(c, chunk, overlap, n));
  return out;
}
