// conv2d: 2-D convolution (cross-correlation, zero padding, groups 1) on NHWC tensors whose channels are
// padded to vec4s, computed as a register-tiled implicit GEMM.
//
// A workgroup owns an output tile of TX x TY pixels x TO output vec4s. For each chunk of CK input vec4s it
// stages the input patch (tile plus halo) and the matching weights in workgroup memory; each invocation
// then accumulates PX consecutive pixels x OVN output vec4s in registers, so every staged input value is
// reused OVN*4*K times and every staged weight PX times.
//
// Fused, all selected by specialization:
//  - virtual concat: input channels come from NIN source tensors in slot order (no concat is materialised);
//  - epilogue: + bias, then ACT (none / LeakyReLU(0.1) / ReLU), then + NRES residual tensors (slots after
//    the concat sources, same shape as the output);
//  - UPRES: the last residual slot holds a low-resolution image that is upsampled x4 (bilinear,
//    align_corners=False) on the fly, so MSVSR's image skip needs no high-resolution tensor;
//  - PixelShuffle(2) on store (PixelShufflePack becomes one dispatch);
//  - HEAD: the MSVSR offset-head transform, so conv_offset's last conv writes the DCN's offsets and masks
//    directly (AlignmentModule / ReAlignmentModule in msvsr.py). Its 27G output channels are [18G offsets | 9G masks]; slot NIN holds the
//    extra input instead of a residual:
//      HEAD 1 (align):    off = R·tanh(o) + (flow_y, flow_x) tiled, msk = sigmoid(m); slot NIN = flow
//      HEAD 2 (re-align): off = R·tanh(o) + pre_off,   msk = (sigmoid(m) + pre_msk) / 2; slot NIN = the
//                         stage-2 [offsets | masks] tensor of the same step (same layout as the output).
//    R is MAX_RESIDUE, PaddleGAN's max_residue_magnitude (10).
//
// f16 arithmetic (M = f16): the staged inputs and weights are f16, and the products of each input vec4 with
// one kernel row (4 channels x K taps: 12 for a 3x3 conv) are summed by f16 fma into a partial sum that is
// then added to the f32 accumulator, so f16 rounding never builds up over more than 12 terms (over a chunk's
// 72 it doubled the network's error: measured 7.5e-3 against 4.1e-3 on a fixture). With M = f32 the products
// go straight into the f32 accumulator, as with f32 storage always.
//
// The slot readers and the epilogues are in conv2d_common.wgsl, shared with conv2d_winograd.wgsl.
//
// Row bands: a dispatch computes conv-grid rows [rowStart, rowStart + rows) of an image whose input has
// inH rows. Source buffers may hold only a band of the input (image row inY0 at buffer row 0), and dst,
// residual and head buffers a band of the output (grid row outY0 at buffer row 0). Whole tensors are the
// case inY0 = outY0 = rowStart = 0.

// ---- specialization constants (overwritten per pipeline; defaults keep the file valid WGSL) ----
alias S = f32;          // activation storage scalar: f32 or f16
alias M = f32;          // arithmetic scalar: f32, or f16 with f16 storage, a tuner choice (see "f16 arithmetic" above)
const MATH16: bool = false; // M is f16
const K: u32 = 3u;      // square kernel size
const STRIDE: u32 = 1u;
const PAD: u32 = 1u;
const NIN: u32 = 1u;    // number of concat sources, in slots 0..NIN-1
const NRES: u32 = 0u;   // number of residual sources, in slots NIN..NIN+NRES-1
const C0: u32 = 1u;     // vec4 channels of each concat source slot (0 for unused slots)
const C1: u32 = 0u;
const C2: u32 = 0u;
const C3: u32 = 0u;
const C4: u32 = 0u;
const C5: u32 = 0u;
const COUT4: u32 = 1u;  // output channels in vec4s
const ACT: u32 = 0u;    // 0 none, 1 LeakyReLU(0.1), 2 ReLU
const SHUFFLE: bool = false;
const UPRES: bool = false; // last residual slot: low-resolution image, added upsampled x4
const HEAD: u32 = 0u;   // 0 plain epilogue, 1 align offset head, 2 re-align offset head
const OFF4: u32 = 0u;   // HEAD != 0: output vec4s holding offsets (18G/4); the rest are masks
const MAX_RESIDUE: f32 = 10.0f; // HEAD != 0: bound of the predicted offset residue
const PX: u32 = 4u;     // pixels per invocation (along x)
const OVN: u32 = 1u;    // output vec4s per invocation
const TPX: u32 = 4u;    // invocations along x, y and output channels
const TPY: u32 = 4u;
const TPO: u32 = 1u;
const CK: u32 = 2u;     // input vec4s staged per chunk

// ---- derived ----
const KK: u32 = K * K;
const TX: u32 = TPX * PX;
const TY: u32 = TPY;
const TO: u32 = TPO * OVN;
const NT: u32 = TPX * TPY * TPO;
const TXIN: u32 = (TX - 1u) * STRIDE + K;
const TYIN: u32 = (TY - 1u) * STRIDE + K;
const PXIN: u32 = (PX - 1u) * STRIDE + K;
const CIN4: u32 = C0 + C1 + C2 + C3 + C4 + C5;
const WROW: u32 = CIN4 * 4u;  // weights per (output vec4, tap)
const OUT_C4: u32 = select(COUT4, COUT4 / 4u, SHUFFLE);  // vec4s per stored pixel

// The uniforms (Dims) and the bindings are conv2d_common.wgsl's; dims.wOff points at [COUT4][KK][CIN4*4] vec4s of 4 output channels.

var<workgroup> tileIn: array<vec4<M>, TYIN * TXIN * CK>;
var<workgroup> tileW: array<vec4<M>, TO * KK * CK * 4u>;

@compute @workgroup_size(NT)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let tx = li % TPX;
  let ty = (li / TPX) % TPY;
  let to = li / (TPX * TPY);
  let x0 = wg.x * TX;            // tile origin in output pixels
  let y0 = dims.rowStart + wg.y * TY;
  let ov0 = wg.z * TO;           // tile origin in output vec4s
  let tileX0 = i32(x0 * STRIDE) - i32(PAD);  // input image coordinates of the staged patch
  let tileY0 = i32(y0 * STRIDE) - i32(PAD);

  var acc = array<vec4<f32>, PX * OVN>();
  var wbase = 0u;                // this source's first scalar input channel in a weight row

  for (var slot = 0u; slot < NIN; slot++) {
    let cs = srcC4(slot);
    for (var c0 = 0u; c0 < cs; c0 += CK) {
      // Stage the input patch of this chunk (zero outside the image and past the source's channels).
      for (var i = li; i < TYIN * TXIN * CK; i += NT) {
        let c = i % CK;
        let p = i / CK;
        let v = patchAt(slot, cs, c0 + c, tileX0 + i32(p % TXIN), tileY0 + i32(p / TXIN));
        tileIn[i] = vec4<M>(v);
      }
      // Stage the weights: [TO][KK][CK*4] vec4s of this output tile and chunk.
      for (var i = li; i < TO * KK * CK * 4u; i += NT) {
        let ci = i % (CK * 4u);
        let r = i / (CK * 4u);
        let tap = r % KK;
        let ov = ov0 + r / KK;
        var v = vec4<f32>(0.0);
        if (ov < COUT4 && c0 * 4u + ci < cs * 4u) {
          v = weights[dims.wOff + (ov * KK + tap) * WROW + wbase + c0 * 4u + ci];
        }
        tileW[i] = vec4<M>(v);
      }
      workgroupBarrier();

      for (var ky = 0u; ky < K; ky++) {
        for (var c = 0u; c < CK; c++) {
          var part = array<vec4<M>, PX * OVN>();
          var xin: array<vec4<M>, PXIN>;
          let row = ((ty * STRIDE + ky) * TXIN + tx * PX * STRIDE) * CK + c;
          for (var j = 0u; j < PXIN; j++) {
            xin[j] = tileIn[row + j * CK];
          }
          for (var kx = 0u; kx < K; kx++) {
            for (var q = 0u; q < 4u; q++) {
              for (var o = 0u; o < OVN; o++) {
                let wv = tileW[((to * OVN + o) * KK + ky * K + kx) * (CK * 4u) + c * 4u + q];
                for (var p = 0u; p < PX; p++) {
                  if (MATH16) {
                    part[p * OVN + o] = fma(vec4<M>(xin[p * STRIDE + kx][q]), wv, part[p * OVN + o]);
                  } else {
                    acc[p * OVN + o] = fma(vec4<f32>(f32(xin[p * STRIDE + kx][q])), vec4<f32>(wv), acc[p * OVN + o]);
                  }
                }
              }
            }
          }
          if (MATH16) {
            for (var i = 0u; i < PX * OVN; i++) {
              acc[i] += vec4<f32>(part[i]);
            }
          }
        }
      }
      workgroupBarrier();
    }
    wbase += cs * 4u;
  }

  // Epilogue.
  let y = y0 + ty;
  let ovT = ov0 + to * OVN;
  if (y >= dims.rowStart + dims.rows) { return; }
  let by = y - dims.outY0;       // row in the dst / residual / head buffers
  for (var p = 0u; p < PX; p++) {
    let x = x0 + tx * PX + p;
    if (x >= dims.outW) { break; }
    if (SHUFFLE) {
      for (var g = 0u; g < OVN / 4u; g++) {
        let ov = ovT + g * 4u;
        if (ov >= COUT4) { break; }
        var r: array<vec4<f32>, 4>;
        for (var k = 0u; k < 4u; k++) {
          r[k] = activate(acc[p * OVN + g * 4u + k] + weights[dims.bOff + ov + k]);
        }
        storeShuffled(r, ov, by, x);
      }
    } else {
      for (var o = 0u; o < OVN; o++) {
        let ov = ovT + o;
        if (ov >= COUT4) { break; }
        dst[(by * dims.outW + x) * COUT4 + ov] = vec4<S>(finish(acc[p * OVN + o], ov, y, by, x));
      }
    }
  }
}
