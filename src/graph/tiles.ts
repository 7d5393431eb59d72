// Spatial tiles with halos. A frame too large for the memory budget runs as overlapping low-resolution
// tiles of one size (so one plan serves them all): each tile is a core region plus a halo of context on
// every side, the network runs on the whole tile, and only the core's x4 output is kept. The cores
// partition the frame, so every output pixel comes from exactly one tile. A tile the size of the frame is
// the untiled run, bit for bit.
//
// Everything runs per tile, SPyNet included: the flows of a tile are those of the cropped video, which
// agree with the whole frame's away from the tile's edges, and the halo is there to absorb exactly those
// edge effects (of zero padding, of SPyNet, and of the deformable convolutions' reach).

export interface Span {
  /** First low-resolution row (or column) of the tile, halo included. */
  start: number;
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
  /** Context requested on each side of a core (a frame edge gives less, and needs none). */
  halo: number;
  tiles: Tile[];
  /** Tiles along y and x. */
  ny: number;
  nx: number;
}

/**
 * Cuts [0, n) into `count` cores of near-equal size, and places a window of `size` around each, at least
 * `halo` beyond the core where the frame allows, shifted inward at the frame's edges.
 */
export function spans(n: number, count: number, halo: number): { size: number; spans: Span[] } {
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(count) && count >= 1 && count <= n)) throw new Error(`tiles: cannot cut ${n} into ${count}`);
  if (!(Number.isInteger(halo) && halo >= 0)) throw new Error(`tiles: halo ${halo} must be an integer >= 0`);
  const bounds = Array.from({ length: count + 1 }, (_, i) => Math.round((i * n) / count));
  const core = Math.max(...bounds.slice(1).map((b, i) => b - bounds[i]));
  const size = Math.min(n, core + 2 * halo);
  const out: Span[] = [];
  for (let i = 0; i < count; i++) {
    const [coreStart, coreEnd] = [bounds[i], bounds[i + 1]];
    out.push({ start: Math.min(Math.max(0, coreStart - halo), n - size), coreStart, coreEnd });
  }
  return { size, spans: out };
}

/** The tile grid for an H x W frame with cores of at most coreH x coreW and the given halo. */
export function tileGrid(H: number, W: number, coreH: number, coreW: number, halo: number): TileGrid {
  if (!(coreH >= 1 && coreW >= 1)) throw new Error(`tiles: core ${coreW}x${coreH} must be at least 1x1`);
  const ny = Math.ceil(H / Math.min(H, coreH));
  const nx = Math.ceil(W / Math.min(W, coreW));
  const ys = spans(H, ny, halo);
  const xs = spans(W, nx, halo);
  const tiles: Tile[] = [];
  for (const y of ys.spans) for (const x of xs.spans) tiles.push({ y, x });
  return { th: ys.size, tw: xs.size, halo, tiles, ny, nx };
}

/** The whole frame as one tile. */
export function wholeFrame(H: number, W: number): TileGrid {
  return tileGrid(H, W, H, W, 0);
}

/** Low-resolution pixels the network runs on per frame pixel: (tiles · tile area) / frame area. */
export function tileOverhead(g: TileGrid, H: number, W: number): number {
  return (g.tiles.length * g.th * g.tw) / (H * W);
}
