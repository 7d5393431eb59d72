// conv2d_matrix: conv2d (same shapes, slots, uniforms and fused epilogues) as an implicit GEMM on the
// adapter's subgroup-matrix units (cooperative matrices: tensor cores on NVIDIA, simdgroup matrices on Apple),
// through Dawn's experimental `chromium_experimental_subgroup_matrix`. Inputs and weights are f16, the
// products are accumulated in f32 by the matrix unit.
//
// The GEMM is Out[pixel][cout] = sum over (tap, cin) of In[pixel shifted by tap][cin] * W[tap][cin][cout].
// A workgroup owns TY rows x TX = MB*SM pixels x TN = NB*SN output channels. Per chunk of CKS input channels
// it stages the input patch (tile plus halo) as f16 [TYIN][TXIN][CKS] and the weights as f16
// [KK][CKS][TN]. For tap (ky, kx), the SM x SK left matrix of a row of SM pixels is then read straight out of
// the patch (row-major, one pixel's channels per row, a row stride of STRIDE*CKS): no im2col copy. Each
// subgroup owns (row, pixel block) pairs and keeps their NB result matrices (SM x SN, f32) across all
// chunks. At the end the results go through workgroup memory to the usual epilogue (conv2d_common.wgsl).
//
// The subgroup matrix shape (SM, SN, SK) is one of the adapter's configurations (adapter.info
// .subgroupMatrixConfigs, f16 in, f32 out); the workgroup is NSG subgroups of the adapter's largest subgroup
// size SG, as the extension requires. Subgroups may be smaller than SG (an adapter with varying sizes), so
// pairs are dealt out by the subgroup's id over the subgroups that exist. Matrix operands must be subgroup
// uniform: every offset below depends only on the subgroup id and loop counters, which the uniformity
// analysis cannot see (it only knows workgroup uniformity), hence the diagnostic is turned off.
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium_experimental.subgroup_matrix_uniformity);
diagnostic(off, subgroup_uniformity);

// ---- specialization constants (conv2d.wgsl's names where shared) ----
alias S = f16;
const K: u32 = 3u;
const STRIDE: u32 = 1u;
const PAD: u32 = 1u;
const NIN: u32 = 1u;
const NRES: u32 = 0u;
const C0: u32 = 2u;
const C1: u32 = 0u;
const C2: u32 = 0u;
const C3: u32 = 0u;
const C4: u32 = 0u;
const C5: u32 = 0u;
const COUT4: u32 = 8u;
const ACT: u32 = 0u;
const SHUFFLE: bool = false;
const UPRES: bool = false;
const HEAD: u32 = 0u;
const OFF4: u32 = 0u;
const MAX_RESIDUE: f32 = 10.0f;
const SM: u32 = 8u;     // matrix shape: pixels (rows of the left matrix and the result)
const SN: u32 = 8u;     // output channels (columns of the right matrix and the result)
const SK: u32 = 8u;     // input channels per product (columns of the left, rows of the right matrix)
const SG: u32 = 8u;     // the adapter's largest subgroup size
const NSG: u32 = 4u;    // subgroups per workgroup (of size SG)
const TY: u32 = 4u;     // output rows per workgroup
const MB: u32 = 2u;     // pixel blocks of SM per row
const NB: u32 = 4u;     // output channel blocks of SN
const CKS: u32 = 8u;    // input channels staged per chunk (a multiple of SK and of 4)

// ---- derived ----
const KK: u32 = K * K;
const TX: u32 = MB * SM;
const TN: u32 = NB * SN;
const TN4: u32 = TN / 4u;
const NT: u32 = NSG * SG;
const TXIN: u32 = (TX - 1u) * STRIDE + K;
const TYIN: u32 = (TY - 1u) * STRIDE + K;
const CK: u32 = CKS / 4u;
const NPAIR: u32 = TY * MB;                      // (row, pixel block) pairs of the tile
const PAIRS: u32 = (NPAIR + NSG - 1u) / NSG;     // pairs per subgroup at most
const CIN4: u32 = C0 + C1 + C2 + C3 + C4 + C5;
const WROW: u32 = CIN4 * 4u;
const OUT_C4: u32 = select(COUT4, COUT4 / 4u, SHUFFLE);

// The uniforms (Dims) and the bindings are conv2d_common.wgsl's; dims.wOff points at conv2d's [COUT4][KK][CIN4*4] vec4s of 4 output channels.

var<workgroup> tileIn: array<f16, TYIN * TXIN * CKS>;
var<workgroup> tileW: array<f16, KK * CKS * TN>;
var<workgroup> tileOut: array<f32, TY * TX * TN>;

@compute @workgroup_size(NT)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_id) sg: u32, @builtin(subgroup_size) sgSize: u32) {
  let nsg = NT / sgSize;         // subgroups that exist (NSG when subgroups are SG wide)
  let x0 = wg.x * TX;
  let y0 = dims.rowStart + wg.y * TY;
  let ov0 = wg.z * TN4;
  let tileX0 = i32(x0 * STRIDE) - i32(PAD);
  let tileY0 = i32(y0 * STRIDE) - i32(PAD);

  var acc = array<subgroup_matrix_result<f32, SN, SM>, PAIRS * NB>();
  var wbase = 0u;

  for (var slot = 0u; slot < NIN; slot++) {
    let cs = srcC4(slot);
    for (var c0 = 0u; c0 < cs; c0 += CK) {
      for (var i = li; i < TYIN * TXIN * CK; i += NT) {
        let c = i % CK;
        let p = i / CK;
        let v = patchAt(slot, cs, c0 + c, tileX0 + i32(p % TXIN), tileY0 + i32(p / TXIN));
        let h = vec4<f16>(v);
        for (var q = 0u; q < 4u; q++) {
          tileIn[p * CKS + c * 4u + q] = h[q];
        }
      }
      // Weights [KK][CKS][TN]: row (tap, input channel), columns the tile's output channels.
      for (var i = li; i < KK * CKS * TN4; i += NT) {
        let n4 = i % TN4;
        let r = i / TN4;
        let ci = r % CKS;
        let tap = r / CKS;
        let ov = ov0 + n4;
        var v = vec4<f32>(0.0);
        if (ov < COUT4 && c0 * 4u + ci < cs * 4u) {
          v = weights[dims.wOff + (ov * KK + tap) * WROW + wbase + c0 * 4u + ci];
        }
        let h = vec4<f16>(v);
        for (var q = 0u; q < 4u; q++) {
          tileW[r * TN + n4 * 4u + q] = h[q];
        }
      }
      workgroupBarrier();

      for (var j = 0u; j < PAIRS; j++) {
        let pair = sg + j * nsg;
        if (pair < NPAIR) {
          let row = pair / MB;
          let blk = pair % MB;
          for (var tap = 0u; tap < KK; tap++) {
            let ky = tap / K;
            let kx = tap % K;
            for (var s = 0u; s < CKS; s += SK) {
              let a = subgroupMatrixLoad<subgroup_matrix_left<f16, SK, SM>, row_major>(
                &tileIn, ((row * STRIDE + ky) * TXIN + blk * SM * STRIDE + kx) * CKS + s, STRIDE * CKS);
              for (var n = 0u; n < NB; n++) {
                let b = subgroupMatrixLoad<subgroup_matrix_right<f16, SN, SK>, row_major>(&tileW, (tap * CKS + s) * TN + n * SN, TN);
                acc[j * NB + n] = subgroupMatrixMultiplyAccumulate(a, b, acc[j * NB + n]);
              }
            }
          }
        }
      }
      workgroupBarrier();
    }
    wbase += cs * 4u;
  }

  for (var j = 0u; j < PAIRS; j++) {
    let pair = sg + j * nsg;
    if (pair < NPAIR) {
      let row = pair / MB;
      let blk = pair % MB;
      for (var n = 0u; n < NB; n++) {
        subgroupMatrixStore<row_major>(&tileOut, (row * TX + blk * SM) * TN + n * SN, acc[j * NB + n], TN);
      }
    }
  }
  workgroupBarrier();

  // Epilogue: one task per (pixel, output vec4), or per (pixel, 4 output vec4s) with a pixel shuffle.
  let G4 = select(1u, 4u, SHUFFLE);
  for (var i = li; i < TY * TX * TN4 / G4; i += NT) {
    let g = i % (TN4 / G4);
    let p = i / (TN4 / G4);
    let y = y0 + p / TX;
    let x = x0 + p % TX;
    let ov = ov0 + g * G4;
    if (y >= dims.rowStart + dims.rows || x >= dims.outW || ov >= COUT4) { continue; }
    let by = y - dims.outY0;
    let base = p * TN + g * G4 * 4u;
    if (SHUFFLE) {
      var r: array<vec4<f32>, 4>;
      for (var k = 0u; k < 4u; k++) {
        let o = base + k * 4u;
        r[k] = activate(vec4<f32>(tileOut[o], tileOut[o + 1u], tileOut[o + 2u], tileOut[o + 3u]) + weights[dims.bOff + ov + k]);
      }
      storeShuffled(r, ov, by, x);
    } else {
      let v = vec4<f32>(tileOut[base], tileOut[base + 1u], tileOut[base + 2u], tileOut[base + 3u]);
      dst[(by * dims.outW + x) * COUT4 + ov] = vec4<S>(finish(v, ov, y, by, x));
    }
  }
}
