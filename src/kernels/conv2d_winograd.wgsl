// conv2d_winograd: 3x3, stride 1, pad 1 convolution as Winograd F(4x4, 3x3) (Lavin & Gray): each 4x4 block
// of outputs is Aᵀ [ U ⊙ (Bᵀ d B) ] A, where d is the 6x6 input block around it and U = G g Gᵀ the
// transformed weights (computed once on the host, in float64). The products per block are 36 per
// (input, output) channel pair instead of the direct convolution's 144: a quarter of the multiplications.
//
// Fused like conv2d (same slots, same uniforms, same epilogues from conv2d_common.wgsl): virtual concat of
// NIN sources, bias, activation, residuals, the x4 image skip, the offset heads, PixelShuffle(2) on store,
// and row bands (a dispatch computes grid rows [rowStart, rowStart + rows); sources hold input rows from
// inY0, dst/residual/head buffers grid rows from outY0).
//
// A workgroup owns TTX x TTY blocks (4x4 outputs each) and TO output vec4s; invocation (block, o) keeps the
// 36 products of its block for output vec4 o in registers. Per chunk of CK input vec4s the workgroup stages
// the input patch, transforms it block by block (Bᵀ d B, one task per (block, input vec4)) into workgroup
// memory, stages the matching transformed weights, and every invocation accumulates 36 x 4 x CK fmas.
// The output transform and the epilogue follow; with a pixel shuffle the four output vec4s a stored vec4
// needs come from four invocations, so the block's results go through workgroup memory first.

// ---- specialization constants (the same names as conv2d.wgsl, where shared) ----
alias S = f32;
const NIN: u32 = 1u;
const NRES: u32 = 0u;
const C0: u32 = 1u;
const C1: u32 = 0u;
const C2: u32 = 0u;
const C3: u32 = 0u;
const C4: u32 = 0u;
const C5: u32 = 0u;
const COUT4: u32 = 1u;
const ACT: u32 = 0u;
const SHUFFLE: bool = false;
const UPRES: bool = false;
const HEAD: u32 = 0u;
const OFF4: u32 = 0u;
const MAX_RESIDUE: f32 = 10.0f;
const TTX: u32 = 4u;    // blocks per workgroup along x and y
const TTY: u32 = 2u;
const TO: u32 = 4u;     // output vec4s per workgroup (a multiple of 4 with SHUFFLE)
const CK: u32 = 1u;     // input vec4s staged per chunk

// ---- derived ----
const TT: u32 = TTX * TTY;
const NT: u32 = TT * TO;
const TXIN: u32 = TTX * 4u + 2u;
const TYIN: u32 = TTY * 4u + 2u;
const CIN4: u32 = C0 + C1 + C2 + C3 + C4 + C5;
const WROW: u32 = CIN4 * 4u;  // transformed weights per (output vec4, position)
const OUT_C4: u32 = select(COUT4, COUT4 / 4u, SHUFFLE);
const U_SIZE: u32 = TO * CK * 4u * 36u;      // transformed weights of a chunk
const Y_SIZE: u32 = TT * TO * 16u;           // the block results a pixel shuffle stores from
const SHARED_SIZE: u32 = select(U_SIZE, Y_SIZE, SHUFFLE && Y_SIZE > U_SIZE);
const TO4: u32 = max(TO / 4u, 1u);          // groups of 4 output vec4s (SHUFFLE)

// The uniforms (Dims) and the bindings are conv2d_common.wgsl's; dims.wOff points at the transformed weights [COUT4][36][CIN4*4] vec4s of 4 output channels.

// The staged input patch; the transformed inputs as scalars [c][q][36][block] (consecutive invocations,
// which own consecutive blocks, read consecutive words: SIMD implementations load them as one vector);
// the transformed weights
// [o][c*4 + q][36], re-used after the last chunk for the shuffle's block results [block][o][16].
var<workgroup> patchIn: array<vec4<f32>, TYIN * TXIN * CK>;
var<workgroup> tileV: array<f32, CK * 4u * 36u * TT>;
var<workgroup> tileU: array<vec4<f32>, SHARED_SIZE>;

// Bᵀ x for one column (or row) of 6: rows of Bᵀ = [4 0 -5 0 1 0], [0 -4 -4 1 1 0], [0 4 -4 -1 1 0],
// [0 -2 -1 2 1 0], [0 2 -1 -2 1 0], [0 4 0 -5 0 1].
fn bt6(x: array<vec4<f32>, 6>) -> array<vec4<f32>, 6> {
  return array<vec4<f32>, 6>(
    4.0 * x[0] - 5.0 * x[2] + x[4],
    -4.0 * (x[1] + x[2]) + x[3] + x[4],
    4.0 * (x[1] - x[2]) - x[3] + x[4],
    2.0 * (x[3] - x[1]) - x[2] + x[4],
    2.0 * (x[1] - x[3]) - x[2] + x[4],
    4.0 * x[1] - 5.0 * x[3] + x[5],
  );
}

// Aᵀ m for one column (or row) of 6: rows of Aᵀ = [1 1 1 1 1 0], [0 1 -1 2 -2 0], [0 1 1 4 4 0],
// [0 1 -1 8 -8 1].
fn at6(m: array<vec4<f32>, 6>) -> array<vec4<f32>, 4> {
  let s12 = m[1] + m[2];
  let d12 = m[1] - m[2];
  let s34 = m[3] + m[4];
  let d34 = m[3] - m[4];
  return array<vec4<f32>, 4>(m[0] + s12 + s34, d12 + 2.0 * d34, s12 + 4.0 * s34, d12 + 8.0 * d34 + m[5]);
}

@compute @workgroup_size(NT)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let blk = li % TT;             // this invocation's block
  let o = li / TT;               // and output vec4 (of the workgroup's TO)
  let x0 = wg.x * TTX * 4u;      // workgroup origin in output pixels
  let y0 = dims.rowStart + wg.y * TTY * 4u;
  let ov0 = wg.z * TO;
  let patchX0 = i32(x0) - 1;     // input image coordinates of the staged patch (pad 1)
  let patchY0 = i32(y0) - 1;

  var acc = array<vec4<f32>, 36>();
  var wbase = 0u;                // this source's first scalar input channel in a weight row

  for (var slot = 0u; slot < NIN; slot++) {
    let cs = srcC4(slot);
    for (var c0 = 0u; c0 < cs; c0 += CK) {
      // Stage the input patch (zero outside the image and past the source's channels).
      for (var i = li; i < TYIN * TXIN * CK; i += NT) {
        let c = i % CK;
        let p = i / CK;
        let v = patchAt(slot, cs, c0 + c, patchX0 + i32(p % TXIN), patchY0 + i32(p / TXIN));
        patchIn[i] = v;
      }
      // Stage the transformed weights of this chunk: [TO][CK*4][36].
      for (var i = li; i < TO * CK * 4u * 36u; i += NT) {
        let pos = i % 36u;
        let ci = (i / 36u) % (CK * 4u);
        let ov = ov0 + i / (36u * CK * 4u);
        var wv = vec4<f32>(0.0);
        if (ov < COUT4 && c0 * 4u + ci < cs * 4u) {
          wv = weights[dims.wOff + (ov * 36u + pos) * WROW + wbase + c0 * 4u + ci];
        }
        tileU[i] = wv;
      }
      workgroupBarrier();
      // Input transform, one task per (block, input vec4): V = Bᵀ d B.
      for (var t = li; t < TT * CK; t += NT) {
        let b = t / CK;
        let c = t % CK;
        let px = (b % TTX) * 4u;
        let py = (b / TTX) * 4u;
        var rows = array<array<vec4<f32>, 6>, 6>();
        for (var j = 0u; j < 6u; j++) {   // columns: Bᵀ applied down each column of d
          var col = array<vec4<f32>, 6>();
          for (var i = 0u; i < 6u; i++) {
            col[i] = patchIn[((py + i) * TXIN + px + j) * CK + c];
          }
          let tcol = bt6(col);
          for (var i = 0u; i < 6u; i++) {
            rows[i][j] = tcol[i];
          }
        }
        for (var i = 0u; i < 6u; i++) {   // then along each row: (Bᵀ d) B
          let r = bt6(rows[i]);
          for (var j = 0u; j < 6u; j++) {
            for (var q = 0u; q < 4u; q++) {
              tileV[((c * 4u + q) * 36u + i * 6u + j) * TT + b] = r[j][q];
            }
          }
        }
      }
      workgroupBarrier();
      for (var c = 0u; c < CK; c++) {
        for (var q = 0u; q < 4u; q++) {
          let ub = ((o * CK + c) * 4u + q) * 36u;
          let vb = (c * 4u + q) * 36u * TT + blk;
          for (var pos = 0u; pos < 36u; pos++) {
            acc[pos] = fma(vec4<f32>(tileV[vb + pos * TT]), tileU[ub + pos], acc[pos]);
          }
        }
      }
      workgroupBarrier();
    }
    wbase += cs * 4u;
  }

  // Output transform: Y = Aᵀ M A, 4x4 output vec4s of this block.
  var y4 = array<array<vec4<f32>, 4>, 6>();  // (Aᵀ applied along rows of M) per row of M
  for (var i = 0u; i < 6u; i++) {
    var row = array<vec4<f32>, 6>();
    for (var j = 0u; j < 6u; j++) {
      row[j] = acc[i * 6u + j];
    }
    y4[i] = at6(row);
  }
  let ov = ov0 + o;
  let bx = x0 + (blk % TTX) * 4u;
  let byImg = y0 + (blk / TTX) * 4u;
  for (var j = 0u; j < 4u; j++) {
    var col = array<vec4<f32>, 6>();
    for (var i = 0u; i < 6u; i++) {
      col[i] = y4[i][j];
    }
    let out = at6(col);               // output rows 0..3 of column j
    for (var i = 0u; i < 4u; i++) {
      let y = byImg + i;
      let x = bx + j;
      if (SHUFFLE) {
        // After bias and activation, to workgroup memory: [block][o][16]
        tileU[(blk * TO + o) * 16u + i * 4u + j] = activate(out[i] + weights[dims.bOff + min(ov, COUT4 - 1u)]);
      } else if (ov < COUT4 && y < dims.rowStart + dims.rows && x < dims.outW) {
        let by = y - dims.outY0;
        dst[(by * dims.outW + x) * COUT4 + ov] = vec4<S>(finish(out[i], ov, y, by, x));
      }
    }
  }
  if (SHUFFLE) {
    workgroupBarrier();
    // One task per (block, group of 4 output vec4s, pixel): the 4 sub-pixels of one stored channel vec4.
    for (var t = li; t < TT * TO4 * 16u; t += NT) {
      let p = t % 16u;
      let g = (t / 16u) % TO4;
      let b = t / (16u * TO4);
      let y = y0 + (b / TTX) * 4u + p / 4u;
      let x = x0 + (b % TTX) * 4u + p % 4u;
      let ovg = ov0 + g * 4u;
      if (ovg < COUT4 && y < dims.rowStart + dims.rows && x < dims.outW) {
        var r = array<vec4<f32>, 4>();
        for (var k = 0u; k < 4u; k++) {
          r[k] = tileU[(b * TO + g * 4u + k) * 16u + p];
        }
        storeShuffled(r, ovg, y - dims.outY0, x);
      }
    }
  }
}
