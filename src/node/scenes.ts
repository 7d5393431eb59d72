// Hard cuts, from small gray copies of the decoded frames (32x32, area-averaged by ffmpeg). Pure: pixels in,
// scores and cuts out.
//
// The score of frame i is min(h, 2·d) for the previous frame and this one, where h is half the L1 distance of
// their 16-bin luma histograms (0: same histogram, 1: disjoint) and d their mean absolute pixel difference
// over 255. A cut changes both; motion within a scene moves pixels (d) but hardly the histogram (h); a
// brightness drift or a fade moves the histogram a little per frame with a small d. Frame i starts a new
// scene when its score reaches the threshold.

export const SCENE_SIZE = 32;
export const DEFAULT_SCENE_THRESHOLD = 0.3;
const BINS = 16;

function histogram(px: Uint8Array): Float64Array {
  const h = new Float64Array(BINS);
  for (let i = 0; i < px.length; i++) h[px[i] >> 4]++;
  for (let b = 0; b < BINS; b++) h[b] /= px.length;
  return h;
}

/** The score of `b` following `a` (see the top of this file). */
export function sceneScore(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length || a.length === 0) throw new Error(`scene score: frames of ${a.length} and ${b.length} pixels`);
  const ha = histogram(a);
  const hb = histogram(b);
  let h = 0;
  for (let k = 0; k < BINS; k++) h += Math.abs(ha[k] - hb[k]);
  let d = 0;
  for (let i = 0; i < a.length; i++) d += Math.abs(a[i] - b[i]);
  return Math.min(h / 2, (2 * d) / (255 * a.length));
}

/** Scores frame by frame: scores[0] is 0, scores[i] compares frame i with frame i − 1. */
export class SceneScorer {
  private prev: Uint8Array | undefined;
  readonly scores: number[] = [];

  push(px: Uint8Array): number {
    const s = this.prev ? sceneScore(this.prev, px) : 0;
    this.prev = px;
    this.scores.push(s);
    return s;
  }
}

/** The frames that start a new scene: score >= threshold (frame 0 never is a cut). */
export function cutsFrom(scores: readonly number[], threshold: number): number[] {
  const cuts: number[] = [];
  for (let i = 1; i < scores.length; i++) if (scores[i] >= threshold) cuts.push(i);
  return cuts;
}
