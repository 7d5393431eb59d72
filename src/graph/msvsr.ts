// PP-MSVSR / PP-MSVSR-L (PaddleGAN ppgan/models/generators/msvsr.py) as a graph of our kernels, for one
// chunk of T frames of h x w. One method per step of MSVSR.forward, weights addressed by their PaddleGAN
// names, so this file reads next to msvsr.py. The data flow is drawn in docs/architecture.md.
//
// Ops are recorded in an order that keeps memory low without changing the maths: the auxiliary stage of
// frame t runs as soon as its stage-2 forward feature exists, and the reconstruction of frame t as soon as
// its stage-3 forward feature exists, so the high-resolution intermediates live for one frame only. Those
// intermediates are computed in row bands (bands.ts), so no buffer holds a whole 4h x 4w x mid tensor.
import type { Builder } from './builder.js';
import type { Value } from './plan.js';
import { MsvsrModules } from './msvsr-modules.js';
import { computeFlows, type Flows } from './spynet.js';
import { upCrop } from './tiles.js';
import { auxBands, bandHeight, reconstructionBands, upsampleRows, type Rows } from './bands.js';
import { bytesPerScalar } from '../numeric/precision.js';
import type { MsvsrConfig } from '../weights/manifest.js';

/** The network's upscaling factor: two PixelShufflePack(2) and the x4 bilinear image skip. */
export const UPSCALE = 4;

export interface MsvsrGraph {
  /** lq[t]: h x w x 3, RGB in [0, 1] */
  inputs: Value[];
  /** out[t]: 4h x 4w x 3 */
  outputs: Value[];
  /** Intermediates kept for debugging (only with `taps`), named like the reference fixtures. */
  taps: Map<string, Value>;
  /** For a tile: [frame y, frame x, resized-grid y, resized-grid x] of the tile, written before each run. */
  origins?: Value;
}

export interface BuildOptions {
  taps?: boolean;
  /** Largest high-resolution band buffer, in bytes (default 64 MiB). */
  hrBandBytes?: number;
  /**
   * The frames are tiles of h x w out of frames this large (graph/tiles.ts): SPyNet then works on the tile's
   * crop of the whole frame's resized grid, placed by the `origins` input.
   */
  frame?: { h: number; w: number };
}

export const DEFAULT_HR_BAND_BYTES = 64 * 2 ** 20;

/** High-resolution band buffers stay well inside the adapter's binding limit. */
export function hrBandBytesFor(maxBinding: number): number {
  return Math.min(DEFAULT_HR_BAND_BYTES, maxBinding / 2);
}

export function buildMsvsr(b: Builder, cfg: MsvsrConfig, T: number, h: number, w: number, opts: BuildOptions = {}): MsvsrGraph {
  if (!cfg.auxiliaryLoss || !cfg.useRefineAlign || !cfg.useLocalConnect) {
    throw new Error(`${cfg.name}: only the published configuration (auxiliary branch, re-alignment, local connection) is implemented`);
  }
  if (!(T >= 1 && h >= 1 && w >= 1)) throw new Error(`msvsr: need T, h, w >= 1 (got ${T}, ${h}, ${w})`);
  return new Msvsr(b, cfg, T, h, w, opts).forward();
}

class Msvsr extends MsvsrModules {
  private readonly lq: Value[];
  private readonly out: Value[];
  private readonly zeros: Value;
  private readonly taps = new Map<string, Value>();
  /** High-resolution output rows per band. */
  private readonly R: number;

  // Per-frame features, named as in MSVSR.forward's feats dict.
  private S: Value[] = []; // feats['spatial']
  private L1: Value[] = []; // feats['feat_stage1']
  private B2: Value[] = []; // feats['stage2_backward']
  private F2: Value[] = []; // feats['stage2_forward']
  private A: Value[] = []; // the auxiliary stage's features (stage 3's `cur`)
  private B3: Value[] = []; // feats['stage3_backward']
  private F3: Value[] = []; // feats['stage3_forward']
  private flows: Flows = { backward: [], forward: [] };
  private origins: Value | undefined;
  /** Stage-2 [offsets | masks] per flow index, re-used by stage 3's re-alignment. */
  private OM2b: Value[] = [];
  private OM2f: Value[] = [];

  constructor(
    b: Builder,
    cfg: MsvsrConfig,
    private readonly T: number,
    private readonly h: number,
    private readonly w: number,
    private readonly opts: BuildOptions,
  ) {
    super(b, cfg);
    this.lq = Array.from({ length: T }, (_, t) => b.graph.value(h, w, 3, b.dtype, `lq[${t}]`, 'input'));
    this.out = Array.from({ length: T }, (_, t) => b.graph.value(UPSCALE * h, UPSCALE * w, 3, b.dtype, `out[${t}]`, 'output'));
    this.zeros = b.zeros(h, w, this.mid, 'zeros');
    const rowBytes = UPSCALE * w * Math.ceil(this.mid / 4) * 4 * bytesPerScalar(b.dtype);
    this.R = bandHeight(h, rowBytes, opts.hrBandBytes ?? DEFAULT_HR_BAND_BYTES);
  }

  private tap(name: string, v: Value): void {
    if (!this.opts.taps) return;
    this.b.graph.keep(v);
    this.taps.set(name, v);
  }

  forward(): MsvsrGraph {
    this.featExtract();
    const f = this.opts.frame;
    const windowed = f && (f.h !== this.h || f.w !== this.w);
    const align = 2 ** (this.cfg.spynetLevels - 1);
    this.origins = windowed ? this.b.graph.value(1, 1, 4, 'f32', 'tile.origins', 'input') : undefined;
    this.flows = computeFlows(
      this.b,
      this.cfg,
      this.lq,
      this.h,
      this.w,
      windowed && this.origins
        ? { frameH: f.h, frameW: f.w, thUp: upCrop(f.h, this.h, 0, align).size, twUp: upCrop(f.w, this.w, 0, align).size, origins: this.origins }
        : undefined,
    );
    if (this.T > 1) {
      this.tap('flow_backward_0', this.flows.backward[0]);
      this.tap('flow_forward_0', this.flows.forward[0]);
    }
    this.stage1();
    this.stage2Backward();
    this.stage2Forward(); // with the auxiliary stage of each frame
    this.stage3Backward();
    this.stage3Forward(); // with the reconstruction of each frame
    return { inputs: this.lq, outputs: this.out, taps: this.taps, origins: this.origins };
  }

  private featExtract(): void {
    this.S = this.lq.map((x) => this.rbic('feat_extract', [x], this.cfg.numInitBlocks));
    this.tap('spatial_0', this.S[0]);
  }

  /** MSVSR.stage1: the Local Fusion Module; each frame aligned with both neighbours, no recurrence. */
  private stage1(): void {
    const { S, T, flows, cfg } = this;
    this.L1 = S.map((cur, idx) => {
      const P = idx < T - 1 ? this.align('stage1_align', cfg.stage1Groups, S[idx + 1], cur, flows.backward[idx]).out : this.zeros;
      const B = idx > 0 ? this.align('stage1_align', cfg.stage1Groups, S[idx - 1], cur, flows.forward[idx - 1]).out : this.zeros;
      return this.rbic('stage1_blocks', [cur, P, B], cfg.stage1Blocks);
    });
    this.tap('feat_stage1_0', this.L1[0]);
  }

  /** MSVSR.stage2, backward: h = h + backbone(concat[cur, L1, align(h)]) for idx = T-1 … 0. */
  private stage2Backward(): void {
    const G = this.cfg.deformGroups;
    const B2: Value[] = new Array(this.T);
    for (let step = 0, idx = this.T - 1; idx >= 0; step++, idx--) {
      let hAl = this.zeros;
      if (step > 0) {
        const a = this.align('deform_align.stage2_backward', G, B2[idx + 1], this.S[idx], this.flows.backward[idx]);
        hAl = a.out;
        this.OM2b[idx] = a.om;
        this.tap(`om_s2b_${idx}`, a.om);
      }
      B2[idx] = this.rbic('backbone.stage2_backward', [this.S[idx], this.L1[idx], hAl], this.cfg.numBlocks, step > 0 ? hAl : undefined);
    }
    this.B2 = B2;
  }

  /** MSVSR.stage2, forward (idx = 0 … T-1), and the auxiliary stage of each frame as soon as its F2 exists. */
  private stage2Forward(): void {
    const G = this.cfg.deformGroups;
    for (let idx = 0; idx < this.T; idx++) {
      let hAl = this.zeros;
      if (idx > 0) {
        const a = this.align('deform_align.stage2_forward', G, this.F2[idx - 1], this.S[idx], this.flows.forward[idx - 1]);
        hAl = a.out;
        this.OM2f[idx - 1] = a.om;
      }
      this.F2[idx] = this.rbic('backbone.stage2_forward', [this.S[idx], this.L1[idx], this.B2[idx], hAl], this.cfg.numBlocks, idx > 0 ? hAl : undefined);
      this.A[idx] = this.auxiliaryStage(idx);
    }
  }

  /**
   * MSVSR.auxiliary_stage for frame t: an x4 image from the stage-2 features, and features computed back
   * down from it. Its high-resolution part runs in row bands of aux_block_down1's output.
   */
  private auxiliaryStage(t: number): Value {
    const { b, h, w, mid } = this;
    const lo = this.rbic('aux_reconstruction', [this.S[t], this.L1[t], this.B2[t], this.F2[t]], this.cfg.auxReconstructionBlocks);
    const midF = this.upsample('aux_upsample1', lo);
    const a1 = b.value(2 * h, 2 * w, mid, 'aux_block_down1');
    const { bands, hiHeld, d1Held } = auxBands(h, this.R);
    for (const p of bands) {
      const hi = b.conv('aux_upsample2.upsample_conv', [midF], 4 * mid, {
        shuffle: true,
        act: 'lrelu',
        band: { inH: 2 * h, inY0: 0, rowStart: p.hi[0], rows: p.hi[1] - p.hi[0], outY0: p.hi[0] },
        outRows: hiHeld,
      });
      const auxOut = b.conv('aux_conv_last', [hi], 3, {
        residuals: [this.lq[t]],
        upres: true,
        band: { inH: 4 * h, inY0: 2 * p.hi[0], rowStart: p.aux[0], rows: p.aux[1] - p.aux[0], outY0: 2 * p.hi[0] },
        outRows: 2 * hiHeld,
      });
      if (t === 0 && bands.length === 1) this.tap('aux_0', auxOut);
      const d1 = b.conv('aux_block_down1.0', [auxOut, hi], mid, {
        stride: 2,
        act: 'lrelu',
        band: { inH: 4 * h, inY0: 2 * p.hi[0], rowStart: p.d1[0], rows: p.d1[1] - p.d1[0], outY0: p.d1[0] },
        outRows: d1Held,
      });
      b.conv('aux_block_down1.2', [d1], mid, { band: { inH: 2 * h, inY0: p.d1[0], rowStart: p.out[0], rows: p.out[1] - p.out[0], outY0: 0 }, out: a1 });
    }
    let a = b.conv('aux_block_down2.0', [a1, midF], mid, { stride: 2, act: 'lrelu' });
    a = b.conv('aux_block_down2.2', [a], mid);
    return b.conv('aux_fusion', [a, lo], mid);
  }

  /** MSVSR.stage3, backward: ReAlignmentModule with the stage-2 offsets; `cur` is the auxiliary feature. */
  private stage3Backward(): void {
    const G = this.cfg.deformGroups;
    const B3: Value[] = new Array(this.T);
    for (let step = 0, idx = this.T - 1; idx >= 0; step++, idx--) {
      let hAl = this.zeros;
      if (step > 0) hAl = this.realign('deform_align.stage3_backward', G, B3[idx + 1], this.A[idx], this.flows.backward[idx], this.OM2b[idx]);
      B3[idx] = this.rbic(
        'backbone.stage3_backward',
        [this.A[idx], this.L1[idx], this.B2[idx], this.F2[idx], hAl],
        this.cfg.numBlocks,
        step > 0 ? hAl : undefined,
      );
    }
    this.B3 = B3;
  }

  /** MSVSR.stage3, forward, and the reconstruction of each frame as soon as its F3 exists. */
  private stage3Forward(): void {
    const G = this.cfg.deformGroups;
    for (let idx = 0; idx < this.T; idx++) {
      let hAl = this.zeros;
      if (idx > 0) hAl = this.realign('deform_align.stage3_forward', G, this.F3[idx - 1], this.A[idx], this.flows.forward[idx - 1], this.OM2f[idx - 1]);
      const srcs = [this.A[idx], this.L1[idx], this.B2[idx], this.F2[idx], this.B3[idx], hAl];
      this.F3[idx] = this.rbic('backbone.stage3_forward', srcs, this.cfg.numBlocks, idx > 0 ? hAl : undefined);
      this.upsampleFrame(idx);
    }
  }

  /**
   * MSVSR.upsample for frame t: the reconstruction branch and the local connection (the stage-1 feature
   * through the shared aux upsamplers), each through two PixelShufflePacks, summed by conv_last +
   * hybrid_conv_last with the x4 image skip, in row bands of the output.
   */
  private upsampleFrame(t: number): void {
    const { b, h } = this;
    const x = this.rbic('reconstruction', [this.S[t], this.L1[t], this.B2[t], this.F2[t], this.B3[t], this.F3[t]], this.cfg.numReconstructionBlocks);
    const { bands, lhHeld, xHeld } = reconstructionBands(h, this.R, this.cfg.onlyLast);
    for (const p of bands) {
      const lh = this.upsampleBand(this.L1[t], 'aux_upsample1', 'aux_upsample2', p.lh, lhHeld);
      let xs = this.upsampleBand(x, 'upsample1', 'upsample2', p.x, xHeld);
      if (!this.cfg.onlyLast) {
        const v = b.conv('conv_hr', [xs.v], this.mid, {
          act: 'lrelu',
          band: { inH: 4 * h, inY0: xs.y0, rowStart: p.lh[0], rows: p.lh[1] - p.lh[0], outY0: lh.y0 },
          outRows: lh.v.h,
        });
        xs = { v, y0: lh.y0 };
      }
      if (xs.y0 !== lh.y0 || xs.v.h !== lh.v.h) throw new Error('msvsr: reconstruction bands out of step');
      b.convSum(
        [
          { name: 'conv_last', srcs: [xs.v] },
          { name: 'hybrid_conv_last', srcs: [lh.v] },
        ],
        3,
        {
          residuals: [this.lq[t]],
          upres: true,
          band: { inH: 4 * h, inY0: lh.y0, rowStart: p.out[0], rows: p.out[1] - p.out[0], outY0: 0 },
          out: this.out[t],
          label: `conv_last+hybrid_conv_last[${t}]`,
        },
      );
    }
  }

  /** Two PixelShufflePacks (+ lrelu) for high-resolution rows `rows` only; the result holds rows from y0 on. */
  private upsampleBand(src: Value, n1: string, n2: string, rows: Rows, held: { r1: number; r2: number }): { v: Value; y0: number } {
    const { b, h, mid } = this;
    const { g1, g2 } = upsampleRows(rows, h);
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
}
