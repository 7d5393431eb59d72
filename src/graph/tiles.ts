// Spatial tiles with halos. A frame too large for the memory budget runs as overlapping low-resolution
// tiles of one size (so one plan serves them all): each tile is a core region plus a halo of context on
// every side, the network runs on the whole tile, and only the core's x4 output is kept. The cores
// partition the frame, so every output pixel comes from exactly one tile. A tile the size of the frame is
// the untiled run, bit for bit.
//
// Everything runs per tile, SPyNet included, but SPyNet sees the tile as a window of the whole frame:
// ModifiedSPyNet first resizes a frame to multiples of 32, so a tile's SPyNet works on a crop of the whole
// frame's resized grid (aligned to its pyramid, see upCrop) with the whole frame's ratios. Its flows then
// equal the whole frame's away from the tile's edges, and the halo absorbs the edge effects (of zero
// padding, of SPyNet's reach, and of the deformable convolutions' reach).

export interface Span {
  /** First low-resolution row (or column) of the tile, halo included. */
  start: number;
  /** First row (or column) of the tile's crop of SPyNet's resized grid. */
  up: number;
  /** The core this tile's output is kept for: [coreStart, coreEnd). */
  coreStart: number;
  coreEnd: number;
}

export interface Tile {
  y: Span;
  x: Span;
}

export interface TileGrid {
  /** Tile size in low-resolution pixels (every tile has it), halo included. */
  th: number;
  tw: number;
  /** The frame, and SPyNet's resized grid of it (multiples of 32). */
  frame: { h: number; w: number; hUp: number; wUp: number };
  /** Size of each tile's crop of the resized grid. */
  thUp: number;
  twUp: number;
  /** Context requested on each side of a core (a frame edge gives less, and needs none). */
  halo: number;
  tiles: Tile[];
  /** Tiles along y and x. */
  ny: number;
  nx: number;
}

/** SPyNet's resized grid: the frame size rounded up to a multiple of 32 (ModifiedSPyNet). */
export const spynetGrid = (n: number): number => Math.ceil(n / 32) * 32;

/**
 * The crop of the resized grid (nUp = spynetGrid(n)) a tile of `size` frame pixels at `start` runs SPyNet on:
 * `size`·nUp/n rows rounded down to a multiple of `align` (2^(levels−1), so every pyramid level is whole),
 * starting where the tile starts (exactly at a frame edge), at a multiple of `align`.
 */
export function upCrop(n: number, size: number, start: number, align: number): { size: number; start: number } {
  const nUp = spynetGrid(n);
  if (size === n) return { size: nUp, start: 0 };
  const s = Math.min(nUp, Math.max(align, Math.floor((size * nUp) / n / align) * align));
  let u: number;
  if (start === 0) u = 0;
  else if (start + size === n) u = nUp - s;
  else u = Math.min(Math.max(0, align * Math.round(((start + 0.5) * nUp) / n / align)), nUp - s);
  return { size: s, start: u };
}

/**
 * Cuts [0, n) into `count` cores of near-equal size, and places a window of `size` around each, at least
 * `halo` beyond the core where the frame allows, shifted inward at the frame's edges.
 */
export function spans(n: number, count: number, halo: number, align = 4): { size: number; upSize: number; spans: Span[] } {
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(count) && count >= 1 && count <= n)) throw new Error(`tiles: cannot cut ${n} into ${count}`);
  if (!(Number.isInteger(halo) && halo >= 0)) throw new Error(`tiles: halo ${halo} must be an integer >= 0`);
  const bounds = Array.from({ length: count + 1 }, (_, i) => Math.round((i * n) / count));
  const core = Math.max(...bounds.slice(1).map((b, i) => b - bounds[i]));
  const size = Math.min(n, core + 2 * halo);
  const out: Span[] = [];
  let upSize = 0;
  for (let i = 0; i < count; i++) {
    const [coreStart, coreEnd] = [bounds[i], bounds[i + 1]];
    const start = Math.min(Math.max(0, coreStart - halo), n - size);
    const up = upCrop(n, size, start, align);
    upSize = up.size;
    out.push({ start, up: up.start, coreStart, coreEnd });
  }
  return { size, upSize, spans: out };
}

/**
 * The tile grid for an H x W frame with cores of at most coreH x coreW and the given halo; `levels` is
 * SPyNet's pyramid depth (its crops align to 2^(levels−1)).
 */
export function tileGrid(H: number, W: number, coreH: number, coreW: number, halo: number, levels = 3): TileGrid {
  if (!(coreH >= 1 && coreW >= 1)) throw new Error(`tiles: core ${coreW}x${coreH} must be at least 1x1`);
  const align = 2 ** (levels - 1);
  const ny = Math.ceil(H / Math.min(H, coreH));
  const nx = Math.ceil(W / Math.min(W, coreW));
  const ys = spans(H, ny, halo, align);
  const xs = spans(W, nx, halo, align);
  const tiles: Tile[] = [];
  for (const y of ys.spans) for (const x of xs.spans) tiles.push({ y, x });
  return {
    th: ys.size,
    tw: xs.size,
    frame: { h: H, w: W, hUp: spynetGrid(H), wUp: spynetGrid(W) },
    thUp: ys.upSize,
    twUp: xs.upSize,
    halo,
    tiles,
    ny,
    nx,
  };
}

/** The whole frame as one tile. */
export function wholeFrame(H: number, W: number, levels = 3): TileGrid {
  return tileGrid(H, W, H, W, 0, levels);
}

/** True when the grid's tiles are the whole frame (no window: the network's own SPyNet geometry). */
export function isWhole(g: TileGrid): boolean {
  return g.th === g.frame.h && g.tw === g.frame.w;
}

/** Low-resolution pixels the network runs on per frame pixel: (tiles · tile area) / frame area. */
export function tileOverhead(g: TileGrid, H: number, W: number): number {
  return (g.tiles.length * g.th * g.tw) / (H * W);
}
