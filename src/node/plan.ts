// `msvsr plan`: the plan a run would use for a frame size on this adapter — chunk, window, tiles, halo,
// planned GPU bytes, the largest binding, work per frame — without running the network.
import type { ChunkPlan } from '../index.js';

const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

export function formatPlan(p: ChunkPlan, device: string): string {
  const t = p.tile;
  return [
    `frames:        ${p.width}x${p.height} -> ${4 * p.width}x${4 * p.height}, ${p.config} ${p.precision}, on ${device}`,
    `chunk:         ${p.chunk} output frames per pass, overlap ${p.overlap} each side: windows of ${p.window} frames`,
    `tiles:         ${p.tiled ? `${t.count} (${t.columns} x ${t.rows}) of ${t.width}x${t.height}, halo ${t.halo}` : 'none (whole frames)'}`,
    `work:          ${p.gmacPerFrame.toFixed(1)} GMAC per output frame (x${p.tileOverhead.toFixed(2)} for halos, x${(p.window / Math.min(p.window, p.chunk)).toFixed(2)} for overlap)`,
    `GPU memory:    ${mib(p.bytes.total)} of ${mib(p.limits.budget)}: activations ${mib(p.bytes.activations)}, weights ${mib(p.bytes.weights)}, readback ${mib(p.bytes.readback)}`,
    `largest binding: ${mib(p.largestBinding)} (limit ${mib(p.limits.maxBinding)})`,
  ].join('\n');
}
