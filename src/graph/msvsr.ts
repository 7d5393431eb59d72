// PP-MSVSR / PP-MSVSR-L (PaddleGAN ppgan/models/generators/msvsr.py) as a graph of our kernels, for one
// chunk of T frames of h x w. Names follow PaddleGAN's module tree and weights are addressed by their
// PaddleGAN names, so this file reads next to msvsr.py. Semantics: docs/msvsr-spec.md §2-§3.
//
// Ops are recorded in an order that keeps memory low without changing the maths: the auxiliary branch of
// frame t runs as soon as its stage-2 forward feature exists, and the reconstruction of frame t as soon as
// its stage-3 forward feature exists, so the high-resolution intermediates live for one frame only. Those
// intermediates are further computed in horizontal bands (with the halo rows each conv needs), so no
// buffer holds a whole 4h x 4w x mid tensor: memory and the largest binding stay bounded at any size.
import type { Builder } from './builder.js';
import { inputRows } from '../kernels/conv2d.js';
import { bytesPerScalar } from '../gpu/tensor.js';
import type { Value } from './plan.js';
import type { MsvsrConfig } from '../weights/manifest.js';
import { SPYNET_MEAN, SPYNET_STD } from '../weights/manifest.js';

export interface MsvsrGraph {
  /** lq[t]: h x w x 3, RGB in [0, 1] */
  inputs: Value[];
  /** out[t]: 4h x 4w x 3 */
  outputs: Value[];
  /** Intermediates kept for debugging (only with `taps`), named like the reference fixtures. */
  taps: Map<string, Value>;
}

export interface BuildOptions {
  taps?: boolean;
  /** Largest high-resolution band buffer, in bytes (default 64 MiB). */
  hrBandBytes?: number;
}

export const DEFAULT_HR_BAND_BYTES = 64 * 2 ** 20;

export function buildMsvsr(b: Builder, cfg: MsvsrConfig, T: number, h: number, w: number, opts: BuildOptions = {}): MsvsrGraph {
  if (!cfg.auxiliaryLoss || !cfg.useRefineAlign || !cfg.useLocalConnect) {
    throw new Error(`${cfg.name}: only the published configuration (auxiliary branch, re-alignment, local connection) is implemented`);
  }
  if (!(T >= 1 && h >= 1 && w >= 1)) throw new Error(`msvsr: need T, h, w >= 1 (got ${T}, ${h}, ${w})`);
  const mid = cfg.midChannels;
  const taps = new Map<string, Value>();
  const tap = (name: string, v: Value) => {
    if (opts.taps) {
      b.graph.keep(v);
      taps.set(name, v);
    }
  };
  const lq = Array.from({ length: T }, (_, t) => b.graph.value(h, w, 3, b.dtype, `lq[${t}]`, 'input'));
  const out = Array.from({ length: T }, (_, t) => b.graph.value(4 * h, 4 * w, 3, b.dtype, `out[${t}]`, 'output'));
  const zeros = b.zeros(h, w, mid, 'zeros');

  // ResidualBlocksWithInputConv: lrelu(covn1(concat)), then n ResidualBlockNoBN (x + conv2(relu(conv1(x)))).
  // `skip` is the propagation branches' outer residual (h + RBIC(...)), folded into the last conv's epilogue.
  const rbic = (prefix: string, srcs: Value[], blocks: number, skip?: Value): Value => {
    let x = b.conv(`${prefix}.covn1`, srcs, mid, { act: 'lrelu' });
    if (blocks === 0 && skip) throw new Error(`${prefix}: an outer residual needs at least one block`);
    for (let j = 0; j < blocks; j++) {
      const rb = `${prefix}.ResidualBlocks.block${j}`;
      const t = b.conv(`${rb}.conv1`, [x], mid, { act: 'relu' });
      x = b.conv(`${rb}.conv2`, [t], mid, { residuals: j === blocks - 1 && skip ? [x, skip] : [x] });
    }
    return x;
  };
  // PixelShufflePack followed by the caller's lrelu: one dispatch.
  const upsample = (name: string, x: Value) => b.conv(`${name}.upsample_conv`, [x], 4 * mid, { shuffle: true, act: 'lrelu' });

  // High-resolution bands: R output rows (4h scale) per band, a multiple of 4, sized so that a band of a
  // mid-channel tensor (plus halo) stays under the budget.
  const H4 = 4 * h;
  const rowBytes = 4 * w * Math.ceil(mid / 4) * 4 * bytesPerScalar(b.dtype);
  const R = Math.min(Math.ceil(H4 / 4) * 4, Math.max(8, Math.floor(((opts.hrBandBytes ?? DEFAULT_HR_BAND_BYTES) / rowBytes - 8) / 4) * 4));
  const bands = (n: number, step: number): [number, number][] => {
    const out: [number, number][] = [];
    for (let a = 0; a < n; a += step) out.push([a, Math.min(n, a + step)]);
    return out;
  };
  const halfUp = (a: number, b2: number): [number, number] => [Math.floor(a / 2), Math.ceil(b2 / 2)];
  /** Largest extent over bands of a row range derived from each band (sizes every band's buffer alike). */
  const maxRows = (list: [number, number][], f: (band: [number, number]) => [number, number]) => Math.max(...list.map((x) => f(x)[1] - f(x)[0]));

  // --- spynet: ModifiedSPyNet, tiny (3 levels) or full (6 levels) ---------------------------------------
  const levels = cfg.spynetLevels;
  const hUp = Math.ceil(h / 32) * 32;
  const wUp = Math.ceil(w / 32) * 32;
  const mean = SPYNET_MEAN;
  const std = SPYNET_STD;
  // Per frame, the normalised pyramid, coarse to fine. Each frame is the reference of one pair and the
  // support of another, so it is built once.
  const pyramid = (t: number): Value[] => {
    const p = [b.resizeNormalize(lq[t], hUp, wUp, mean, std, `spynet.input[${t}]`)];
    for (let l = 1; l < levels; l++) p.unshift(b.avgPool2(p[0], `spynet.pool${l}[${t}]`));
    return p;
  };
  const spynetFlow = (ref: Value[], supp: Value[], label: string): Value => {
    const chain = cfg.spynetChannels;
    const convs = chain.length - 1;
    let flow: Value | undefined;
    for (let l = 0; l < levels; l++) {
      const [lh, lw] = [ref[l].h, ref[l].w];
      // Coarsest level: flow is zero, so warping is the identity and the residual is nothing.
      const fu = flow ? b.resize(flow, lh, lw, { alignCorners: true, scale: 2, label: `${label}.up${l}` }) : b.zeros(lh, lw, 2, `zero_flow${l}`);
      const warped = flow ? b.warp(supp[l], fu, 'border', `${label}.warp${l}`) : supp[l];
      let x = [ref[l], warped, fu];
      for (let j = 0; j < convs; j++) {
        const last = j === convs - 1;
        const name = `spynet.basic_module.${l}.basic_module.${j}.conv`;
        x = [b.conv(name, x, chain[j + 1], { act: last ? 'none' : 'lrelu', residuals: last && flow ? [fu] : [], label: `${label}.${name}` })];
      }
      flow = x[0];
    }
    // Back to the frame size; x scaled by w/w_up, y by h/h_up.
    return b.resize(flow!, h, w, { alignCorners: false, scale: [w / wUp, h / hUp], label: `${label}.out` });
  };

  // --- featExtract -------------------------------------------------------------------------------------
  const S = lq.map((x, t) => {
    const s = rbic('feat_extract', [x], cfg.numInitBlocks);
    if (t === 0) tap('spatial_0', s);
    return s;
  });

  // --- flows: FB[i] = spynet(lq[i], lq[i+1]) warps i+1 onto i; FF[i] = spynet(lq[i+1], lq[i]) ---------
  const pyr = T > 1 ? lq.map((_, t) => pyramid(t)) : [];
  const FB: Value[] = [];
  const FF: Value[] = [];
  for (let i = 0; i + 1 < T; i++) {
    FB.push(spynetFlow(pyr[i], pyr[i + 1], `flows_backward[${i}]`));
    FF.push(spynetFlow(pyr[i + 1], pyr[i], `flows_forward[${i}]`));
  }
  if (T > 1) {
    tap('flow_backward_0', FB[0]);
    tap('flow_forward_0', FF[0]);
  }

  // AlignmentModule: offsets from concat[warp(x, flow), cur, flow], then DCN of x.
  const offsetHead = (prefix: string, srcs: Value[], G: number, head: { kind: 'align' | 'realign'; input: Value }) => {
    let o = b.conv(`${prefix}.conv_offset.0`, srcs, mid, { act: 'lrelu' });
    o = b.conv(`${prefix}.conv_offset.2`, [o], mid, { act: 'lrelu' });
    o = b.conv(`${prefix}.conv_offset.4`, [o], mid, { act: 'lrelu' });
    return b.conv(`${prefix}.conv_offset.6`, [o], 27 * G, { head, label: `${prefix}.conv_offset.6+head` });
  };
  const align = (prefix: string, G: number, x: Value, cur: Value, flow: Value) => {
    const warped = b.warp(x, flow, 'zeros', `${prefix}.flow_warp`);
    const om = offsetHead(prefix, [warped, cur, flow], G, { kind: 'align', input: flow });
    return { out: b.dcn(`${prefix}.dcn`, x, om, G), om };
  };
  // ReAlignmentModule: pre-align x with the stage-2 offsets/masks, predict a residual on them, DCN again.
  const realign = (prefix: string, G: number, x: Value, cur: Value, flow: Value, pre: Value) => {
    const preAligned = b.dcn(`${prefix}.mdconv`, x, pre, G);
    const om = offsetHead(prefix, [preAligned, cur, flow], G, { kind: 'realign', input: pre });
    return b.dcn(`${prefix}.dcn`, x, om, G);
  };

  // --- stage1Align + stage1Blocks (local fusion, no recurrence) ----------------------------------------
  const L1 = S.map((cur, idx) => {
    const P = idx < T - 1 ? align('stage1_align', cfg.stage1Groups, S[idx + 1], cur, FB[idx]).out : zeros;
    const B = idx > 0 ? align('stage1_align', cfg.stage1Groups, S[idx - 1], cur, FF[idx - 1]).out : zeros;
    const l1 = rbic('stage1_blocks', [cur, P, B], cfg.stage1Blocks);
    if (idx === 0) tap('feat_stage1_0', l1);
    return l1;
  });

  const G = cfg.deformGroups;
  // --- stage2Backward --------------------------------------------------------------------------------
  const B2: Value[] = new Array(T);
  const OM2b: Value[] = new Array(T);
  for (let step = 0, idx = T - 1; idx >= 0; step++, idx--) {
    let hAl = zeros;
    if (step > 0) {
      const a = align('deform_align.stage2_backward', G, B2[idx + 1], S[idx], FB[idx]);
      hAl = a.out;
      OM2b[idx] = a.om;
      tap(`om_s2b_${idx}`, a.om);
    }
    B2[idx] = rbic('backbone.stage2_backward', [S[idx], L1[idx], hAl], cfg.numBlocks, step > 0 ? hAl : undefined);
  }

  // --- stage2Forward, and the auxiliary branch of each frame as soon as its F2 exists ---------------
  const F2: Value[] = new Array(T);
  const OM2f: Value[] = new Array(T);
  const A: Value[] = new Array(T);
  for (let idx = 0; idx < T; idx++) {
    let hAl = zeros;
    if (idx > 0) {
      const a = align('deform_align.stage2_forward', G, F2[idx - 1], S[idx], FF[idx - 1]);
      hAl = a.out;
      OM2f[idx - 1] = a.om;
    }
    F2[idx] = rbic('backbone.stage2_forward', [S[idx], L1[idx], B2[idx], hAl], cfg.numBlocks, idx > 0 ? hAl : undefined);
    A[idx] = auxBranch(idx);
  }

  function auxBranch(t: number): Value {
    const lo = rbic('aux_reconstruction', [S[t], L1[t], B2[t], F2[t]], cfg.auxReconstructionBlocks);
    const midF = upsample('aux_upsample1', lo);
    // Band by rows of aux_block_down1's output (2h scale): each needs rows of d1, which need rows of the
    // aux image and of hi (4h scale, stride 2), which need rows of hi for aux_conv_last's halo.
    const a1 = b.value(2 * h, 2 * w, mid, 'aux_block_down1');
    const list = bands(2 * h, R / 2);
    const d1Rows = (p: [number, number]) => inputRows(p[0], p[1], 2 * h);
    const auxRows = (p: [number, number]) => inputRows(...d1Rows(p), H4, 3, 2);
    const hiGrid = (p: [number, number]) => halfUp(...inputRows(...auxRows(p), H4));
    const hiHeld = maxRows(list, hiGrid);
    const d1Held = maxRows(list, d1Rows);
    for (const p of list) {
      const [g0, g1] = hiGrid(p);
      const hi = b.conv('aux_upsample2.upsample_conv', [midF], 4 * mid, {
        shuffle: true,
        act: 'lrelu',
        band: { inH: 2 * h, inY0: 0, rowStart: g0, rows: g1 - g0, outY0: g0 },
        outRows: hiHeld,
      });
      const [u0, u1] = auxRows(p);
      const auxOut = b.conv('aux_conv_last', [hi], 3, {
        residuals: [lq[t]],
        upres: true,
        band: { inH: H4, inY0: 2 * g0, rowStart: u0, rows: u1 - u0, outY0: 2 * g0 },
        outRows: 2 * hiHeld,
      });
      if (t === 0 && list.length === 1) tap('aux_0', auxOut);
      const [e0, e1] = d1Rows(p);
      const d1 = b.conv('aux_block_down1.0', [auxOut, hi], mid, {
        stride: 2,
        act: 'lrelu',
        band: { inH: H4, inY0: 2 * g0, rowStart: e0, rows: e1 - e0, outY0: e0 },
        outRows: d1Held,
      });
      b.conv('aux_block_down1.2', [d1], mid, { band: { inH: 2 * h, inY0: e0, rowStart: p[0], rows: p[1] - p[0], outY0: 0 }, out: a1 });
    }
    let a = b.conv('aux_block_down2.0', [a1, midF], mid, { stride: 2, act: 'lrelu' });
    a = b.conv('aux_block_down2.2', [a], mid);
    return b.conv('aux_fusion', [a, lo], mid);
  }

  // --- stage3Backward (re-alignment; cur is the auxiliary feature A) ----------------------------------
  const B3: Value[] = new Array(T);
  for (let step = 0, idx = T - 1; idx >= 0; step++, idx--) {
    let hAl = zeros;
    if (step > 0) hAl = realign('deform_align.stage3_backward', G, B3[idx + 1], A[idx], FB[idx], OM2b[idx]);
    B3[idx] = rbic('backbone.stage3_backward', [A[idx], L1[idx], B2[idx], F2[idx], hAl], cfg.numBlocks, step > 0 ? hAl : undefined);
  }

  // --- stage3Forward, and the reconstruction of each frame as soon as its F3 exists ------------------
  const F3: Value[] = new Array(T);
  for (let idx = 0; idx < T; idx++) {
    let hAl = zeros;
    if (idx > 0) hAl = realign('deform_align.stage3_forward', G, F3[idx - 1], A[idx], FF[idx - 1], OM2f[idx - 1]);
    F3[idx] = rbic('backbone.stage3_forward', [A[idx], L1[idx], B2[idx], F2[idx], B3[idx], hAl], cfg.numBlocks, idx > 0 ? hAl : undefined);
    reconstruct(idx);
  }

  // PixelShufflePack twice, for high-resolution rows [a, b) only; the result holds rows from y0 on.
  function upsampleBand(src: Value, n1: string, n2: string, rows: [number, number], held: { r2: number; r1: number }) {
    const g2 = halfUp(...rows);
    const g1 = halfUp(...inputRows(...g2, 2 * h));
    const x2 = b.conv(`${n1}.upsample_conv`, [src], 4 * mid, {
      shuffle: true,
      act: 'lrelu',
      band: { inH: h, inY0: 0, rowStart: g1[0], rows: g1[1] - g1[0], outY0: g1[0] },
      outRows: held.r1,
    });
    const x4 = b.conv(`${n2}.upsample_conv`, [x2], 4 * mid, {
      shuffle: true,
      act: 'lrelu',
      band: { inH: 2 * h, inY0: 2 * g1[0], rowStart: g2[0], rows: g2[1] - g2[0], outY0: g2[0] },
      outRows: held.r2,
    });
    return { v: x4, y0: 2 * g2[0] };
  }

  function reconstruct(t: number): void {
    const x = rbic('reconstruction', [S[t], L1[t], B2[t], F2[t], B3[t], F3[t]], cfg.numReconstructionBlocks);
    const list = bands(H4, R);
    // High-resolution rows the last conv reads, widened to what the second shuffle conv produces (pairs).
    const lhRows = (p: [number, number]): [number, number] => {
      const [a, c] = halfUp(...inputRows(p[0], p[1], H4));
      return [2 * a, Math.min(H4, 2 * c)];
    };
    // -L computes conv_hr over exactly those rows, so x needs one more halo row each side.
    const xRows = (p: [number, number]) => (cfg.onlyLast ? lhRows(p) : inputRows(...lhRows(p), H4));
    const heldFor = (f: (p: [number, number]) => [number, number]) => ({
      r2: maxRows(list, (p) => halfUp(...f(p))),
      r1: maxRows(list, (p) => halfUp(...inputRows(...halfUp(...f(p)), 2 * h))),
    });
    const lhHeld = heldFor(lhRows);
    const xHeld = heldFor(xRows);
    for (const p of list) {
      // Local connection: the stage-1 feature through the (shared) aux upsamplers.
      const lh = upsampleBand(L1[t], 'aux_upsample1', 'aux_upsample2', lhRows(p), lhHeld);
      let xs = upsampleBand(x, 'upsample1', 'upsample2', xRows(p), xHeld);
      if (!cfg.onlyLast) {
        const [l0, l1] = lhRows(p);
        const v = b.conv('conv_hr', [xs.v], mid, {
          act: 'lrelu',
          band: { inH: H4, inY0: xs.y0, rowStart: l0, rows: l1 - l0, outY0: lh.y0 },
          outRows: lh.v.h,
        });
        xs = { v, y0: lh.y0 };
      }
      if (xs.y0 !== lh.y0 || xs.v.h !== lh.v.h) throw new Error('msvsr: reconstruction bands out of step');
      // conv_last(x) + hybrid_conv_last(lh) + the x4 image skip: one conv over concat[x, lh].
      b.conv(
        [
          { name: 'conv_last', srcs: [xs.v] },
          { name: 'hybrid_conv_last', srcs: [lh.v] },
        ],
        [],
        3,
        {
          residuals: [lq[t]],
          upres: true,
          band: { inH: H4, inY0: lh.y0, rowStart: p[0], rows: p[1] - p[0], outY0: 0 },
          out: out[t],
          label: `conv_last+hybrid_conv_last[${t}]`,
        },
      );
    }
  }

  return { inputs: lq, outputs: out, taps };
}
