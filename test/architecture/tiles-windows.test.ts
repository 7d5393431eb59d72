// Tile grids and temporal windows, GPU-free: cores partition the frame, tiles have one size and hold their
// core plus the halo the frame allows; windows emit every frame exactly once, contain their emitted frames
// with the requested context, and a stream that knows only a lower bound of the length gets the same windows;
// with scene cuts no window reaches across a cut and each scene's windows are those of a video of its own.
import { describe, expect, it } from 'vitest';
import { spans, tileGrid, tileOverhead, upCrop, wholeFrame } from '../../src/graph/tiles.js';
import {
  checkCuts,
  chunkStartAtOrBefore,
  chunkStarts,
  framesNeeded,
  framesRead,
  isChunkStart,
  streamStart,
  temporalWindows,
  windowAt,
} from '../../src/windows.js';

describe('tiles', () => {
  it('spans by hand: 100 rows, 3 cores, halo 8', () => {
    // resized grid 128: a tile of 50 rows runs SPyNet on floor(50·128/100 / 4)·4 = 64 grid rows, starting at
    // 0 (top edge), 128 − 64 (bottom edge), and round((25.5·1.28)/4)·4 = 32 in between
    expect(spans(100, 3, 8)).toEqual({
      size: 50, // largest core 34 + 2 x 8
      upSize: 64,
      spans: [
        { start: 0, up: 0, coreStart: 0, coreEnd: 33 },
        { start: 25, up: 32, coreStart: 33, coreEnd: 67 },
        { start: 50, up: 64, coreStart: 67, coreEnd: 100 },
      ],
    });
  });

  for (const [H, W, ch, cw, halo] of [
    [37, 53, 16, 16, 4],
    [100, 100, 30, 45, 16],
    [1080, 1920, 300, 300, 32],
    [5, 7, 2, 3, 1],
    [64, 64, 64, 64, 48],
    [40, 40, 20, 20, 48],
  ] as const) {
    it(`${W}x${H}, cores <= ${cw}x${ch}, halo ${halo}: partition, one size, context`, () => {
      const g = tileGrid(H, W, ch, cw, halo);
      const owner = new Int32Array(H * W).fill(-1);
      g.tiles.forEach((t, i) => {
        expect(t.y.coreEnd - t.y.coreStart).toBeLessThanOrEqual(ch);
        expect(t.x.coreEnd - t.x.coreStart).toBeLessThanOrEqual(cw);
        // the tile lies in the frame and holds its core with min(halo, distance to the frame edge) around it
        for (const [s, size, n] of [
          [t.y, g.th, H],
          [t.x, g.tw, W],
        ] as const) {
          expect(s.start).toBeGreaterThanOrEqual(0);
          expect(s.start + size).toBeLessThanOrEqual(n);
          expect(s.coreStart - s.start).toBeGreaterThanOrEqual(Math.min(halo, s.coreStart));
          expect(s.start + size - s.coreEnd).toBeGreaterThanOrEqual(Math.min(halo, n - s.coreEnd));
        }
        for (let y = t.y.coreStart; y < t.y.coreEnd; y++)
          for (let x = t.x.coreStart; x < t.x.coreEnd; x++) {
            expect(owner[y * W + x]).toBe(-1);
            owner[y * W + x] = i;
          }
      });
      expect(owner.every((o) => o >= 0)).toBe(true);
      expect(g.tiles).toHaveLength(g.ny * g.nx);
      // every tile's crop of SPyNet's resized grid is pyramid-aligned, inside the grid, the same size for
      // all tiles, and touches the grid's edge exactly where the tile touches the frame's
      for (const t of g.tiles) {
        for (const [s, size, up, n, nUp] of [
          [t.y, g.th, g.thUp, H, g.frame.hUp],
          [t.x, g.tw, g.twUp, W, g.frame.wUp],
        ] as const) {
          expect(s.up % 4).toBe(0);
          expect(up % 4).toBe(0);
          expect(s.up + up).toBeLessThanOrEqual(nUp);
          expect(s.up === 0).toBe(s.start === 0 || up === nUp);
          if (s.start + size === n) expect(s.up + up).toBe(nUp);
        }
      }
      expect(tileOverhead(g, H, W)).toBeGreaterThanOrEqual(1);
    });
  }

  it('a halo that covers the frame makes every tile the whole frame', () => {
    const g = tileGrid(40, 40, 20, 20, 48);
    expect(g.tiles).toHaveLength(4);
    expect([g.th, g.tw]).toEqual([40, 40]);
    expect(g.tiles.every((t) => t.y.start === 0 && t.x.start === 0)).toBe(true);
  });

  it('the whole frame is one tile without halo', () => {
    expect(wholeFrame(13, 37)).toEqual({
      th: 13,
      tw: 37,
      frame: { h: 13, w: 37, hUp: 32, wUp: 64 },
      thUp: 32,
      twUp: 64,
      halo: 0,
      ny: 1,
      nx: 1,
      tiles: [{ y: { start: 0, up: 0, coreStart: 0, coreEnd: 13 }, x: { start: 0, up: 0, coreStart: 0, coreEnd: 37 } }],
    });
  });

  it('upCrop by hand: the whole frame is the whole grid; -L aligns to 32', () => {
    expect(upCrop(180, 180, 0, 4)).toEqual({ size: 192, start: 0 });
    expect(upCrop(180, 100, 40, 4)).toEqual({ size: 104, start: 44 }); // 100·192/180 = 106.7 -> 104; (40.5·192/180)/4 = 10.8 -> 44
    expect(upCrop(180, 100, 80, 32)).toEqual({ size: 96, start: 96 }); // bottom edge: 192 − 96
  });

  it('refuses impossible grids', () => {
    expect(() => spans(10, 11, 0)).toThrow(/cannot cut 10 into 11/);
    expect(() => spans(10, 2, -1)).toThrow(/halo -1/);
  });
});

describe('temporal windows', () => {
  it("overlap 0 is PaddleGAN's chunks, the last one shorter", () => {
    expect(temporalWindows(23, 10, 0)).toEqual([
      { start: 0, end: 10, emitStart: 0, emitEnd: 10 },
      { start: 10, end: 20, emitStart: 10, emitEnd: 20 },
      { start: 20, end: 23, emitStart: 20, emitEnd: 23 },
    ]);
  });

  it('overlap 2, chunk 10, 30 frames, by hand: one length (14), sliding inward at the ends', () => {
    expect(temporalWindows(30, 10, 2)).toEqual([
      { start: 0, end: 14, emitStart: 0, emitEnd: 10 },
      { start: 8, end: 22, emitStart: 10, emitEnd: 20 },
      { start: 16, end: 30, emitStart: 20, emitEnd: 30 },
    ]);
  });

  for (const [n, chunk, overlap] of [
    [1, 10, 2],
    [7, 10, 4],
    [31, 10, 2],
    [31, 10, 8],
    [100, 7, 3],
    [12, 5, 0],
  ] as const) {
    it(`n=${n}, chunk=${chunk}, overlap=${overlap}: each frame emitted once, with context, one length`, () => {
      const ws = temporalWindows(n, chunk, overlap);
      const emitted = ws.flatMap((w) => Array.from({ length: w.emitEnd - w.emitStart }, (_, i) => w.emitStart + i));
      expect(emitted).toEqual(Array.from({ length: n }, (_, i) => i));
      for (const w of ws) {
        expect(w.start).toBeGreaterThanOrEqual(0);
        expect(w.end).toBeLessThanOrEqual(n);
        expect(w.start).toBeLessThanOrEqual(Math.max(0, w.emitStart - overlap));
        expect(w.end).toBeGreaterThanOrEqual(Math.min(n, w.emitEnd + overlap));
        if (overlap > 0) expect(w.end - w.start).toBe(Math.min(n, chunk + 2 * overlap));
        // a stream that has read exactly what framesNeeded asks for gets the same window
        const read = Math.min(n, framesNeeded(w.emitStart, chunk, overlap));
        if (read < n) expect(windowAt(w.emitStart, chunk, overlap, read)).toEqual(w);
      }
    });
  }
});

describe('temporal windows with scene cuts', () => {
  it('by hand: 20 frames, cut at 7, chunk 4, overlap 1: chunks restart at the cut, windows stop at it', () => {
    expect(chunkStarts(20, 4, [7])).toEqual([0, 4, 7, 11, 15, 19]);
    expect(temporalWindows(20, 4, 1, [7])).toEqual([
      { start: 0, end: 6, emitStart: 0, emitEnd: 4 },
      { start: 1, end: 7, emitStart: 4, emitEnd: 7 }, // slides inward at the cut, like at the end of a video
      { start: 7, end: 13, emitStart: 7, emitEnd: 11 },
      { start: 10, end: 16, emitStart: 11, emitEnd: 15 },
      { start: 14, end: 20, emitStart: 15, emitEnd: 19 },
      { start: 14, end: 20, emitStart: 19, emitEnd: 20 },
    ]);
    expect(temporalWindows(10, 4, 0, [3, 5])).toEqual([
      { start: 0, end: 3, emitStart: 0, emitEnd: 3 },
      { start: 3, end: 5, emitStart: 3, emitEnd: 5 },
      { start: 5, end: 9, emitStart: 5, emitEnd: 9 },
      { start: 9, end: 10, emitStart: 9, emitEnd: 10 },
    ]);
    expect(isChunkStart(7, 4, [7])).toBe(true);
    expect(isChunkStart(8, 4, [7])).toBe(false);
    expect(isChunkStart(11, 4, [7])).toBe(true);
    expect(chunkStartAtOrBefore(13, 4, [7])).toBe(11);
    expect(chunkStartAtOrBefore(6, 4, [7])).toBe(4);
    expect(streamStart(11, 4, 1, [7])).toBe(7); // never before the scene
    expect(streamStart(4, 4, 1, [7])).toBe(0);
    expect(framesRead(9, 20, 4, 1, [7])).toBe(13); // frames 7..8 come from the window [7, 13)
  });

  it('refuses cuts that are not ascending frame indices >= 1', () => {
    expect(() => checkCuts([0])).toThrow(/cuts \[0\]: must be frame indices >= 1/);
    expect(() => checkCuts([5, 5])).toThrow(/strictly ascending/);
    expect(() => temporalWindows(10, 4, 1, [6, 3])).toThrow(/strictly ascending/);
  });

  for (const [n, chunk, overlap, cuts] of [
    [30, 10, 2, [7]],
    [30, 4, 1, [7, 8, 20]],
    [25, 5, 3, [1, 24]],
    [40, 7, 0, [10, 13, 14, 30]],
    [12, 10, 2, [11]],
    [50, 3, 4, [5, 18, 19, 33, 49]],
  ] as const) {
    it(`n=${n}, chunk=${chunk}, overlap=${overlap}, cuts ${cuts.join(',')}: each scene as its own video, no window across a cut`, () => {
      const ws = temporalWindows(n, chunk, overlap, cuts);
      const emitted = ws.flatMap((w) => Array.from({ length: w.emitEnd - w.emitStart }, (_, i) => w.emitStart + i));
      expect(emitted).toEqual(Array.from({ length: n }, (_, i) => i));
      const bounds = [0, ...cuts, n];
      const expected = bounds.slice(0, -1).flatMap((s, k) =>
        temporalWindows(bounds[k + 1] - s, chunk, overlap).map((w) => ({
          start: w.start + s,
          end: w.end + s,
          emitStart: w.emitStart + s,
          emitEnd: w.emitEnd + s,
        })),
      );
      expect(ws).toEqual(expected);
      for (const w of ws) {
        for (const c of cuts) expect(w.start < c && w.end > c, `window [${w.start}, ${w.end}) across the cut at ${c}`).toBe(false);
        expect(streamStart(w.emitStart, chunk, overlap, cuts)).toBeLessThanOrEqual(w.start);
        // a stream that has read exactly what framesNeeded asks for gets the same window
        const read = Math.min(n, framesNeeded(w.emitStart, chunk, overlap, cuts));
        expect(windowAt(w.emitStart, chunk, overlap, read, cuts)).toEqual(w);
        // a partial run to frame `to` reads no further than framesRead, and sees the same windows there
        const to = w.emitEnd;
        expect(framesRead(to, n, chunk, overlap, cuts)).toBeGreaterThanOrEqual(w.end);
        expect(windowAt(w.emitStart, chunk, overlap, framesRead(to, n, chunk, overlap, cuts), cuts)).toEqual(w);
      }
    });
  }
});
