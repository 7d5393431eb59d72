// The building blocks of PP-MSVSR as graph ops, one function per PaddleGAN module class, each addressing its
// weights under the module's PaddleGAN name: ResidualBlocksWithInputConv and PixelShufflePack
// (ppgan/models/generators/basicvsr.py), AlignmentModule and ReAlignmentModule (msvsr.py).
import type { Builder } from './builder.js';
import type { Value } from './plan.js';
import type { MsvsrConfig } from '../weights/manifest.js';

export class MsvsrModules {
  readonly mid: number;

  constructor(
    readonly b: Builder,
    readonly cfg: MsvsrConfig,
  ) {
    this.mid = cfg.midChannels;
  }

  /**
   * ResidualBlocksWithInputConv: lrelu(covn1(concat(srcs))) (sic: PaddleGAN spells it covn1), then `blocks`
   * ResidualBlockNoBN (x + conv2(relu(conv1(x)))). `skip` is the propagation branches' outer residual
   * (h + RBIC(...)), folded into the last conv's epilogue.
   */
  rbic(prefix: string, srcs: Value[], blocks: number, skip?: Value): Value {
    const { b, mid } = this;
    let x = b.conv(`${prefix}.covn1`, srcs, mid, { act: 'lrelu' });
    if (blocks === 0 && skip) throw new Error(`${prefix}: an outer residual needs at least one block`);
    for (let j = 0; j < blocks; j++) {
      const rb = `${prefix}.ResidualBlocks.block${j}`;
      const t = b.conv(`${rb}.conv1`, [x], mid, { act: 'relu' });
      x = b.conv(`${rb}.conv2`, [t], mid, { residuals: j === blocks - 1 && skip ? [x, skip] : [x] });
    }
    return x;
  }

  /** PixelShufflePack(mid, mid, 2) followed by the caller's lrelu: one dispatch. */
  upsample(name: string, x: Value): Value {
    return this.b.conv(`${name}.upsample_conv`, [x], 4 * this.mid, { shuffle: true, act: 'lrelu' });
  }

  /**
   * conv_offset (convs .0/.2/.4 with lrelu, then .6 predicting 27·G channels) with the offset transform of
   * AlignmentModule ('align': max_residue_magnitude·tanh + the flow flipped to (y, x), sigmoid masks) or
   * ReAlignmentModule ('realign': + the stage-2 offsets, masks averaged with the stage-2 masks) fused into
   * the last conv. The result is one [offsets | masks] tensor, the layout the DCN reads.
   */
  private offsetHead(prefix: string, srcs: Value[], G: number, kind: 'align' | 'realign', input: Value): Value {
    const { b, mid } = this;
    let o = b.conv(`${prefix}.conv_offset.0`, srcs, mid, { act: 'lrelu' });
    o = b.conv(`${prefix}.conv_offset.2`, [o], mid, { act: 'lrelu' });
    o = b.conv(`${prefix}.conv_offset.4`, [o], mid, { act: 'lrelu' });
    const head = { kind, input, maxResidue: this.cfg.maxResidueMagnitude };
    return b.conv(`${prefix}.conv_offset.6`, [o], 27 * G, { head, label: `${prefix}.conv_offset.6+head` });
  }

  /**
   * AlignmentModule.forward: offsets and masks from concat[flow_warp(x, flow), cur, flow], then the
   * modulated DCN of x. Returns the aligned feature and the [offsets | masks] tensor (stage 3 reuses it).
   */
  align(prefix: string, G: number, x: Value, cur: Value, flow: Value): { out: Value; om: Value } {
    const warped = this.b.warp(x, flow, 'zeros', `${prefix}.flow_warp`);
    const om = this.offsetHead(prefix, [warped, cur, flow], G, 'align', flow);
    return { out: this.b.dcn(`${prefix}.dcn`, x, om, G), om };
  }

  /**
   * ReAlignmentModule.forward: pre-align x with the stage-2 offsets and masks (mdconv), predict a residue on
   * them from concat[pre-aligned, cur, flow], and run the DCN of x with the refined offsets and masks.
   */
  realign(prefix: string, G: number, x: Value, cur: Value, flow: Value, pre: Value): Value {
    const preAligned = this.b.dcn(`${prefix}.mdconv`, x, pre, G);
    const om = this.offsetHead(prefix, [preAligned, cur, flow], G, 'realign', pre);
    return this.b.dcn(`${prefix}.dcn`, x, om, G);
  }
}
