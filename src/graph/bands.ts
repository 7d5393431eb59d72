// Row-band geometry of the high-resolution heads, kept apart from the network so that it can be tested
// without a GPU. The heads (the auxiliary branch's x4 image and its stride-2 way back down, and the
// reconstruction's two PixelShufflePacks and last convs) run at 2h and 4h rows; computing them in bands
// of R output rows, each with the halo rows its convolutions read, keeps every buffer to a band of a
// tensor instead of the whole 4h x 4w x mid one. Row ranges are half-open [a, b) in image rows.
import { inputRows } from '../kernels/conv2d.js';

export type Rows = [number, number];

/** Consecutive ranges of `step` rows covering [0, n). */
export function splitRows(n: number, step: number): Rows[] {
  if (!(step >= 1)) throw new Error(`bands: step ${step} must be >= 1`);
  const out: Rows[] = [];
  for (let a = 0; a < n; a += step) out.push([a, Math.min(n, a + step)]);
  return out;
}

/** Rows of a half-resolution image that hold rows [a, b) of the image twice its size (PixelShuffle(2)). */
export function halfUp([a, b]: Rows): Rows {
  return [Math.floor(a / 2), Math.ceil(b / 2)];
}

/** Input rows of a 3x3 conv (pad 1) for output rows r, clipped to an input of inH rows. */
export function conv3Rows(r: Rows, inH: number, stride = 1): Rows {
  return inputRows(r[0], r[1], inH, 3, stride, 1);
}

/**
 * Output rows per band (at 4h scale): a multiple of 4, at least 8, sized so that one band of a mid-channel
 * 4w-wide tensor plus its halo rows stays within `bandBytes`; one band when the whole image fits.
 */
export function bandHeight(h: number, rowBytes: number, bandBytes: number): number {
  const H4 = 4 * h;
  const fit = Math.floor((bandBytes / rowBytes - 8) / 4) * 4;
  return Math.min(Math.ceil(H4 / 4) * 4, Math.max(8, fit));
}

/**
 * One band of the auxiliary branch, computed for rows `out` of aux_block_down1's output (2h scale):
 * `d1` are the rows of aux_block_down1.0's output that conv .2 reads, `aux` the rows of the x4 aux image
 * (4h scale) that the stride-2 conv .0 reads, and `hi` the rows of aux_upsample2's PixelShuffle grid (2h
 * scale, i.e. 4h rows halved) that aux_conv_last's halo needs.
 */
export interface AuxBand {
  out: Rows;
  d1: Rows;
  aux: Rows;
  hi: Rows;
}

export interface AuxBands {
  bands: AuxBand[];
  /** Rows held by the buffers reused across bands: hi grid rows and d1 rows. */
  hiHeld: number;
  d1Held: number;
}

export function auxBands(h: number, R: number): AuxBands {
  const H2 = 2 * h;
  const H4 = 4 * h;
  const bands = splitRows(H2, R / 2).map((out) => {
    const d1 = conv3Rows(out, H2);
    const aux = conv3Rows(d1, H4, 2);
    const hi = halfUp(conv3Rows(aux, H4));
    return { out, d1, aux, hi };
  });
  return {
    bands,
    hiHeld: Math.max(...bands.map((b) => b.hi[1] - b.hi[0])),
    d1Held: Math.max(...bands.map((b) => b.d1[1] - b.d1[0])),
  };
}

/** Grid rows of the two PixelShufflePacks (h -> 2h -> 4h) that produce high-resolution rows `rows`. */
export interface UpsampleRows {
  /** rows of the second shuffle conv's grid (2h scale), producing 4h rows [2·g2[0], 2·g2[1]) */
  g2: Rows;
  /** rows of the first shuffle conv's grid (h scale), producing the 2h rows g2's 3x3 conv reads */
  g1: Rows;
}

export function upsampleRows(rows: Rows, h: number): UpsampleRows {
  const g2 = halfUp(rows);
  return { g2, g1: halfUp(conv3Rows(g2, 2 * h)) };
}

/**
 * One band of the reconstruction, for output rows `out` (4h scale). `lh` are the high-resolution rows of the
 * local connection (the stage-1 feature through the aux upsamplers) that conv_last + hybrid_conv_last read,
 * widened to what a shuffle conv produces (whole pairs); `x` the rows of the reconstruction branch's
 * upsampled feature: the same rows with only_last (PP-MSVSR), one more halo row each side for conv_hr
 * (PP-MSVSR-L).
 */
export interface ReconstructionBand {
  out: Rows;
  lh: Rows;
  x: Rows;
}

export interface ReconstructionBands {
  bands: ReconstructionBand[];
  /** Shuffle-grid rows held per band by the buffers of each upsampler pair (r1: h scale, r2: 2h scale). */
  lhHeld: { r1: number; r2: number };
  xHeld: { r1: number; r2: number };
}

export function reconstructionBands(h: number, R: number, onlyLast: boolean): ReconstructionBands {
  const H4 = 4 * h;
  const bands = splitRows(H4, R).map((out) => {
    const [a, c] = halfUp(conv3Rows(out, H4));
    const lh: Rows = [2 * a, Math.min(H4, 2 * c)];
    return { out, lh, x: onlyLast ? lh : conv3Rows(lh, H4) };
  });
  const held = (f: (b: ReconstructionBand) => Rows) => ({
    r2: Math.max(...bands.map((b) => extent(upsampleRows(f(b), h).g2))),
    r1: Math.max(...bands.map((b) => extent(upsampleRows(f(b), h).g1))),
  });
  return { bands, lhHeld: held((b) => b.lh), xHeld: held((b) => b.x) };
}

function extent([a, b]: Rows): number {
  return b - a;
}
