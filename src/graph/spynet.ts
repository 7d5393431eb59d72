// ModifiedSPyNet (PaddleGAN msvsr.py): the coarse-to-fine optical flow of MSVSR.compute_flow, tiny (3 levels)
// or full (6 levels), as graph ops. Each frame is resized to a multiple of 32 and normalised once, and its
// pyramid is shared by the two pairs it belongs to.
import type { Builder, GraphWindow } from './builder.js';
import type { Value } from './plan.js';
import type { MsvsrConfig } from '../weights/manifest.js';

export interface Flows {
  /** flows_backward[i] = spynet(lq[i], lq[i+1]): warps frame i+1 onto frame i. */
  backward: Value[];
  /** flows_forward[i] = spynet(lq[i+1], lq[i]): warps frame i onto frame i+1. */
  forward: Value[];
}

/**
 * The frames are a tile of larger frames: SPyNet runs on the tile's crop of the whole frame's resized grid
 * (see graph/tiles.ts), placed by the per-tile `origins` input ([frame y, frame x, grid y, grid x]).
 */
export interface FlowWindow {
  frameH: number;
  frameW: number;
  /** The crop of the resized grid: a multiple of 2^(levels−1) each way. */
  thUp: number;
  twUp: number;
  origins: Value;
}

export function computeFlows(b: Builder, cfg: MsvsrConfig, lq: readonly Value[], h: number, w: number, win?: FlowWindow): Flows {
  const T = lq.length;
  if (T < 2) return { backward: [], forward: [] };
  const levels = cfg.spynetLevels;
  // The whole frame's resized grid, and the part of it this graph computes.
  const H = win?.frameH ?? h;
  const W = win?.frameW ?? w;
  const hUp = Math.ceil(H / 32) * 32;
  const wUp = Math.ceil(W / 32) * 32;
  const [cropH, cropW] = win ? [win.thUp, win.twUp] : [hUp, wUp];
  /** A window for a resize from pyramid level `from` to level `to` (levels: 0 coarsest, frame = -1). */
  const windowOf = (from: number, to: number): GraphWindow | undefined => {
    if (!win) return undefined;
    const side = (l: number): { size: [number, number]; lane: 0 | 2; shift: number } =>
      l < 0 ? { size: [H, W], lane: 0, shift: 0 } : { size: [hUp >> (levels - 1 - l), wUp >> (levels - 1 - l)], lane: 2, shift: levels - 1 - l };
    const [s, d] = [side(from), side(to)];
    return { inSize: s.size, outSize: d.size, origins: win.origins, src: { lane: s.lane, shift: s.shift }, dst: { lane: d.lane, shift: d.shift } };
  };
  // ModifiedSPyNet's ImageNet normalisation buffers, read from the weights like every other tensor.
  const mean = Array.from(b.tensor('spynet.mean', [1, 3, 1, 1]).data);
  const std = Array.from(b.tensor('spynet.std', [1, 3, 1, 1]).data);

  // The normalised pyramid of one frame, coarse to fine.
  const pyramid = (t: number): Value[] => {
    const p = [b.resizeNormalize(lq[t], cropH, cropW, mean, std, `spynet.input[${t}]`, windowOf(-1, levels - 1))];
    for (let l = 1; l < levels; l++) p.unshift(b.avgPool2(p[0], `spynet.pool${l}[${t}]`));
    return p;
  };

  // ModifiedSPyNet.forward(ref, supp): at each level, the residual flow of basic_module[level] from
  // concat[ref, flow_warp(supp, up(flow), 'border'), up(flow)], added to the upsampled flow.
  const flow = (ref: Value[], supp: Value[], label: string): Value => {
    const chain = cfg.spynetChannels;
    let f: Value | undefined;
    for (let l = 0; l < levels; l++) {
      const [lh, lw] = [ref[l].h, ref[l].w];
      // Coarsest level: the flow is zero, so warping is the identity and there is nothing to add.
      const up = f
        ? b.resize(f, lh, lw, { alignCorners: true, scale: 2, label: `${label}.up${l}`, window: windowOf(l - 1, l) })
        : b.zeros(lh, lw, 2, `zero_flow${l}`);
      const warped = f ? b.warp(supp[l], up, 'border', `${label}.warp${l}`) : supp[l];
      let x = [ref[l], warped, up];
      for (let j = 0; j + 1 < chain.length; j++) {
        const last = j === chain.length - 2;
        const name = `spynet.basic_module.${l}.basic_module.${j}.conv`;
        x = [b.conv(name, x, chain[j + 1], { act: last ? 'none' : 'lrelu', residuals: last && f ? [up] : [], label: `${label}.${name}` })];
      }
      f = x[0];
    }
    // Back to the frame size; x scaled by w / w_up, y by h / h_up.
    return b.resize(f!, h, w, { alignCorners: false, scale: [W / wUp, H / hUp], label: `${label}.out`, window: windowOf(levels - 1, -1) });
  };

  const pyr = lq.map((_, t) => pyramid(t));
  const backward: Value[] = [];
  const forward: Value[] = [];
  for (let i = 0; i + 1 < T; i++) {
    backward.push(flow(pyr[i], pyr[i + 1], `flows_backward[${i}]`));
    forward.push(flow(pyr[i + 1], pyr[i], `flows_forward[${i}]`));
  }
  return { backward, forward };
}
