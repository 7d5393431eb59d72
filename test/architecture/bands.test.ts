// The row-band geometry of the high-resolution heads (src/graph/bands.ts), GPU-free: bands cover the image
// exactly once, every conv of a band finds the input rows it reads in the buffer the band gives it, the
// buffers reused by all bands are as large as the largest band needs, and small cases match hand counts.
import { describe, expect, it } from 'vitest';
import { auxBands, bandHeight, conv3Rows, halfUp, reconstructionBands, splitRows, upsampleRows, type Rows } from '../../src/graph/bands.js';

const within = (need: Rows, held: Rows) => need[0] >= held[0] && need[1] <= held[1];
const size = ([a, b]: Rows) => b - a;

describe('band geometry', () => {
  it('splitRows covers [0, n) once, in order', () => {
    expect(splitRows(10, 4)).toEqual([
      [0, 4],
      [4, 8],
      [8, 10],
    ]);
    expect(splitRows(8, 8)).toEqual([[0, 8]]);
    expect(splitRows(3, 8)).toEqual([[0, 3]]);
    expect(() => splitRows(3, 0)).toThrow(/step 0/);
  });

  it('halfUp and conv3Rows by hand', () => {
    expect(halfUp([3, 8])).toEqual([1, 4]);
    expect(conv3Rows([0, 4], 10)).toEqual([0, 5]); // pad 1: row -1 is zero padding, clipped
    expect(conv3Rows([4, 8], 10)).toEqual([3, 9]);
    expect(conv3Rows([8, 10], 10)).toEqual([7, 10]);
    expect(conv3Rows([2, 4], 12, 2)).toEqual([3, 8]); // stride 2: output 2 reads inputs 3..5, output 3 reads 5..7
  });

  it('bandHeight: a multiple of 4, at least 8, one band when everything fits', () => {
    const rowBytes = 4 * 100 * 32 * 4; // a 4w-wide, 32-channel f32 row at w = 100
    expect(bandHeight(50, rowBytes, 1e12)).toBe(200);
    expect(bandHeight(50, rowBytes, 1)).toBe(8);
    const R = bandHeight(50, rowBytes, 64 * rowBytes);
    expect(R % 4).toBe(0);
    expect((R + 8) * rowBytes).toBeLessThanOrEqual(64 * rowBytes);
  });

  for (const h of [1, 2, 5, 13, 32, 45]) {
    for (const R of [8, 12, 16, 4 * h + 4]) {
      it(`aux branch h=${h}, R=${R}: bands tile 2h; every conv's input rows are in its source buffer`, () => {
        const { bands, hiHeld, d1Held } = auxBands(h, R);
        expect(bands.flatMap((b) => b.out)).toEqual(splitRows(2 * h, R / 2).flat());
        for (const b of bands) {
          // aux_block_down1.2 (3x3 on d1) reads d1 rows; aux_block_down1.0 (stride 2 on aux|hi) reads aux rows;
          // aux_conv_last (3x3 on hi at 4h) reads hi rows 2·hi.
          expect(within(conv3Rows(b.out, 2 * h), b.d1)).toBe(true);
          expect(within(conv3Rows(b.d1, 4 * h, 2), b.aux)).toBe(true);
          expect(within(conv3Rows(b.aux, 4 * h), [2 * b.hi[0], Math.min(4 * h, 2 * b.hi[1])])).toBe(true);
          expect(size(b.hi)).toBeLessThanOrEqual(hiHeld);
          expect(size(b.d1)).toBeLessThanOrEqual(d1Held);
          expect(b.hi[1]).toBeLessThanOrEqual(2 * h);
        }
        if (R >= 4 * h) expect(bands).toHaveLength(1);
      });

      for (const onlyLast of [true, false]) {
        it(`reconstruction h=${h}, R=${R}, only_last=${onlyLast}: bands tile 4h; inputs in their buffers`, () => {
          const { bands, lhHeld, xHeld } = reconstructionBands(h, R, onlyLast);
          expect(bands.flatMap((b) => b.out)).toEqual(splitRows(4 * h, R).flat());
          for (const b of bands) {
            // conv_last + hybrid_conv_last (3x3 at 4h) read lh rows; conv_hr (PP-MSVSR-L) reads x rows for lh.
            expect(within(conv3Rows(b.out, 4 * h), b.lh)).toBe(true);
            expect(b.lh[0] % 2).toBe(0); // whole pixel-shuffle pairs
            if (onlyLast) expect(b.x).toEqual(b.lh);
            else expect(within(conv3Rows(b.lh, 4 * h), b.x)).toBe(true);
            for (const [rows, held] of [
              [b.lh, lhHeld],
              [b.x, xHeld],
            ] as const) {
              const { g1, g2 } = upsampleRows(rows, h);
              // the second shuffle conv produces 4h rows [2·g2) ⊇ rows, reading g1's output rows 2·g1 at 2h
              expect(within(rows, [2 * g2[0], 2 * g2[1]])).toBe(true);
              expect(within(conv3Rows(g2, 2 * h), [2 * g1[0], Math.min(2 * h, 2 * g1[1])])).toBe(true);
              expect(g1[1]).toBeLessThanOrEqual(h);
              expect(size(g2)).toBeLessThanOrEqual(held.r2);
              expect(size(g1)).toBeLessThanOrEqual(held.r1);
            }
          }
        });
      }
    }
  }

  it('reconstruction at h = 8, R = 8, by hand', () => {
    // 4h = 32 rows in 4 bands of 8; band [8, 16) reads 4h rows [7, 17) -> pairs [6, 18)
    const { bands } = reconstructionBands(8, 8, true);
    expect(bands[1]).toEqual({ out: [8, 16], lh: [6, 18], x: [6, 18] });
    expect(upsampleRows([6, 18], 8)).toEqual({ g2: [3, 9], g1: [1, 5] });
  });
});
