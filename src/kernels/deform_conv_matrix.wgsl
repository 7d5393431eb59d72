// deform_conv_matrix: deform_conv (modulated deformable convolution v2, 3x3, stride 1, pad 1, G deformable
// groups) with its GEMM on the adapter's subgroup matrices (see conv2d_matrix.wgsl): for each tap the
// workgroup gathers the bilinear samples of all groups (deform_common.wgsl) into workgroup memory as f16
// [pixel][channel], stages that tap's weights as f16 [channel][cout], and every subgroup multiplies SM-pixel
// blocks of them into f32 result matrices it keeps over the 9 taps. The result goes through workgroup memory
// to the epilogue (+ bias).
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium_experimental.subgroup_matrix_uniformity);
diagnostic(off, subgroup_uniformity);

// ---- specialization constants ----
alias S = f16;
alias SO = f16;
const G: u32 = 8u;
const CIN4: u32 = 8u;
const COUT4: u32 = 8u;
const SM: u32 = 8u;     // matrix shape (an f16 -> f32 configuration of the adapter)
const SN: u32 = 8u;
const SK: u32 = 8u;
const SG: u32 = 8u;     // the adapter's largest subgroup size
const NSG: u32 = 4u;    // subgroups per workgroup
const TY: u32 = 4u;     // rows per workgroup
const MB: u32 = 2u;     // pixel blocks of SM per row
const NB: u32 = 4u;     // output channel blocks of SN

// ---- derived ----
const TX: u32 = MB * SM;
const TP: u32 = TY * TX;
const TN: u32 = NB * SN;
const TN4: u32 = TN / 4u;
const NT: u32 = NSG * SG;
const KC: u32 = (CIN4 * 4u + SK - 1u) / SK * SK;   // input channels per tap, padded to whole matrices
const NPAIR: u32 = TY * MB;
const PAIRS: u32 = (NPAIR + NSG - 1u) / NSG;

// The uniforms, the bindings and the bilinear gather are deform_common.wgsl's.

var<workgroup> tileA: array<f16, TP * KC>;
var<workgroup> tileW: array<f16, KC * TN>;
var<workgroup> tileOut: array<f32, TP * TN>;

@compute @workgroup_size(NT)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_id) sg: u32, @builtin(subgroup_size) sgSize: u32) {
  let nsg = NT / sgSize;
  let x0 = wg.x * TX;
  let y0 = wg.y * TY;
  let ov0 = wg.z * TN4;

  var acc = array<subgroup_matrix_result<f32, SN, SM>, PAIRS * NB>();

  for (var k = 0u; k < 9u; k++) {
    // Gather: one task per (pixel, group). Channels past CIN4*4 (the padding to KC) are never written: workgroup
    // memory starts zeroed, and their weight rows are zero too.
    for (var t = li; t < TP * G; t += NT) {
      let p = t / G;
      let g = t % G;
      let px = x0 + p % TX;
      let py = y0 + p / TX;
      var v = array<vec4<f32>, CPG4>();
      if (px < dims.w && py < dims.h) {
        v = samplePixel(px, py, k, g);
      }
      for (var c = 0u; c < CPG4; c++) {
        let h = vec4<f16>(v[c]);
        for (var q = 0u; q < 4u; q++) {
          tileA[p * KC + (g * CPG4 + c) * 4u + q] = h[q];
        }
      }
    }
    // This tap's weights [KC][TN].
    for (var i = li; i < KC * TN4; i += NT) {
      let n4 = i % TN4;
      let ci = i / TN4;
      let ov = ov0 + n4;
      var wv = vec4<f32>(0.0);
      if (ov < COUT4 && ci < CIN4 * 4u) {
        wv = weights[dims.wOff + (ov * 9u + k) * CIN4 * 4u + ci];
      }
      let h = vec4<f16>(wv);
      for (var q = 0u; q < 4u; q++) {
        tileW[ci * TN + n4 * 4u + q] = h[q];
      }
    }
    workgroupBarrier();

    for (var j = 0u; j < PAIRS; j++) {
      let pair = sg + j * nsg;
      if (pair < NPAIR) {
        let row = pair / MB;
        let blk = pair % MB;
        for (var s = 0u; s < KC; s += SK) {
          let a = subgroupMatrixLoad<subgroup_matrix_left<f16, SK, SM>, row_major>(&tileA, (row * TX + blk * SM) * KC + s, KC);
          for (var n = 0u; n < NB; n++) {
            let b = subgroupMatrixLoad<subgroup_matrix_right<f16, SN, SK>, row_major>(&tileW, s * TN + n * SN, TN);
            acc[j * NB + n] = subgroupMatrixMultiplyAccumulate(a, b, acc[j * NB + n]);
          }
        }
      }
    }
    workgroupBarrier();
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

  for (var i = li; i < TP * TN4; i += NT) {
    let o = i % TN4;
    let p = i / TN4;
    let y = y0 + p / TX;
    let xx = x0 + p % TX;
    let ov = ov0 + o;
    if (y >= dims.h || xx >= dims.w || ov >= COUT4) { continue; }
    let base = p * TN + o * 4u;
    let v = vec4<f32>(tileOut[base], tileOut[base + 1u], tileOut[base + 2u], tileOut[base + 3u]);
    dst[(y * dims.w + xx) * COUT4 + ov] = vec4<S>(v + weights[dims.bOff + ov]);
  }
}
