// deform_conv: modulated deformable convolution v2 (paddle.vision.ops.DeformConv2D, as msvsr.py's DCN uses it), 3x3, stride 1, pad 1,
// dilation 1, groups 1, G deformable groups, fused: no im2col buffer.
//
// Implicit GEMM with the bilinear gather in the load stage (DCNv4-style). For each tap and each chunk of GC
// deformable groups, the workgroup computes the sampling position, the four bilinear weights (times the
// mask) and the corner addresses ONCE per (pixel, tap, group), gathers the group's channel vec4s with
// them into workgroup memory, stages the matching weights, and then every invocation accumulates PX pixels
// x OVN output vec4s in registers, exactly like conv2d.
//
// Offsets and masks come as one tensor `om` of 27G channels: [18G offsets | 9G masks], the layout the
// offset head of conv2d writes. For group g and tap k = 3i + j: dy = om[18g + 2k], dx = om[18g + 2k + 1],
// mask = om[18G + 9g + k]; the sample for output (y, x) is at (y - 1 + i + dy, x - 1 + j + dx), bilinear,
// with corners outside the image contributing zero (no renormalisation).

// ---- specialization constants ----
alias S = f32;          // activation storage scalar
alias SO = f32;         // offset/mask storage scalar
const G: u32 = 4u;      // deformable groups (a multiple of 4 so that 27G channels are whole vec4s)
const CIN4: u32 = 8u;   // input channels / 4; each group holds CIN4 / G vec4s
const COUT4: u32 = 8u;
const GC: u32 = 4u;     // groups gathered per chunk (divides G)
const PX: u32 = 4u;
const OVN: u32 = 2u;
const TPX: u32 = 4u;
const TPY: u32 = 4u;
const TPO: u32 = 4u;

// ---- derived ----
const CK4: u32 = GC * CPG4;       // vec4s of input channels staged per chunk
const TX: u32 = TPX * PX;
const TY: u32 = TPY;
const TP: u32 = TX * TY;
const TO: u32 = TPO * OVN;
const NT: u32 = TPX * TPY * TPO;

// The uniforms, the bindings and the bilinear gather are deform_common.wgsl's.

var<workgroup> tileA: array<vec4<f32>, TP * CK4>;
var<workgroup> tileW: array<vec4<f32>, TO * CK4 * 4u>;

@compute @workgroup_size(NT)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let tx = li % TPX;
  let ty = (li / TPX) % TPY;
  let to = li / (TPX * TPY);
  let x0 = wg.x * TX;
  let y0 = wg.y * TY;
  let ov0 = wg.z * TO;

  var acc = array<vec4<f32>, PX * OVN>();

  for (var k = 0u; k < 9u; k++) {
    for (var g0 = 0u; g0 < G; g0 += GC) {
      // Gather: one task per (pixel, group); bilinear weights computed once, applied to CPG4 vec4s.
      for (var t = li; t < TP * GC; t += NT) {
        let p = t / GC;
        let gl = t % GC;
        let g = g0 + gl;
        let px = x0 + p % TX;
        let py = y0 + p / TX;
        // Explicitly zeroed: this is a per-iteration value (a declaration-only var was seen to keep the
        // previous iteration's value on lavapipe).
        var v = array<vec4<f32>, CPG4>();
        if (px < dims.w && py < dims.h) {
          v = samplePixel(px, py, k, g);
        }
        for (var c = 0u; c < CPG4; c++) {
          tileA[p * CK4 + gl * CPG4 + c] = v[c];
        }
      }
      // Weights of this tap and chunk: [TO][CK4*4] vec4s.
      for (var i = li; i < TO * CK4 * 4u; i += NT) {
        let ci = i % (CK4 * 4u);
        let ov = ov0 + i / (CK4 * 4u);
        var wv = vec4<f32>(0.0);
        if (ov < COUT4) {
          wv = weights[dims.wOff + (ov * 9u + k) * CIN4 * 4u + g0 * CPG4 * 4u + ci];
        }
        tileW[i] = wv;
      }
      workgroupBarrier();

      for (var c = 0u; c < CK4; c++) {
        var a: array<vec4<f32>, PX>;
        for (var p = 0u; p < PX; p++) {
          a[p] = tileA[(ty * TX + tx * PX + p) * CK4 + c];
        }
        for (var q = 0u; q < 4u; q++) {
          for (var o = 0u; o < OVN; o++) {
            let wv = tileW[(to * OVN + o) * CK4 * 4u + c * 4u + q];
            for (var p = 0u; p < PX; p++) {
              acc[p * OVN + o] = fma(vec4<f32>(a[p][q]), wv, acc[p * OVN + o]);
            }
          }
        }
      }
      workgroupBarrier();
    }
  }

  let y = y0 + ty;
  if (y >= dims.h) { return; }
  for (var p = 0u; p < PX; p++) {
    let xx = x0 + tx * PX + p;
    if (xx >= dims.w) { break; }
    for (var o = 0u; o < OVN; o++) {
      let ov = ov0 + to * OVN + o;
      if (ov >= COUT4) { break; }
      dst[(y * dims.w + xx) * COUT4 + ov] = vec4<S>(acc[p * OVN + o] + weights[dims.bOff + ov]);
    }
  }
}
