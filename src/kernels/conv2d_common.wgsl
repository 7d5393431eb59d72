// conv2d_common: what the convolution kernels share (conv2d, conv2d_winograd, conv2d_matrix), appended to each
// by its wrapper: the uniforms and bindings, reading the concat/residual slots, and the fused epilogues. A
// kernel that includes it declares the template parameters used here (NIN, NRES, C0..C5, COUT4, ACT, SHUFFLE,
// UPRES, HEAD, OFF4, MAX_RESIDUE, OUT_C4, alias S).
//
// Row bands: a dispatch computes conv-grid rows [rowStart, rowStart + rows) of an image whose input has inH
// rows. Source buffers may hold only a band of the input (image row inY0 at buffer row 0), and dst, residual
// and head buffers a band of the output (grid row outY0 at buffer row 0).

struct Dims {
  inH: u32,      // input image rows (zero padding outside)
  inW: u32,
  inY0: u32,     // image row held in row 0 of the source buffers
  outW: u32,     // conv grid width (before any pixel shuffle)
  rowStart: u32, // first conv-grid row computed
  rows: u32,     // conv-grid rows computed
  outY0: u32,    // conv-grid row held in row 0 of dst / residual / head buffers
  wOff: u32,     // vec4 index of this conv's packed weights in `weights` (the kernel's layout: conv2d.ts)
  bOff: u32,     // vec4 index of the bias: [COUT4] vec4
  upH: u32,      // UPRES: size of the low-resolution image
  upW: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> weights: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> src0: array<vec4<S>>;
@group(0) @binding(3) var<storage, read> src1: array<vec4<S>>;
@group(0) @binding(4) var<storage, read> src2: array<vec4<S>>;
@group(0) @binding(5) var<storage, read> src3: array<vec4<S>>;
@group(0) @binding(6) var<storage, read> src4: array<vec4<S>>;
@group(0) @binding(7) var<storage, read> src5: array<vec4<S>>;
@group(0) @binding(8) var<storage, read_write> dst: array<vec4<S>>;

fn srcLoad(slot: u32, i: u32) -> vec4<f32> {
  switch slot {
    case 0u: { return vec4<f32>(src0[i]); }
    case 1u: { return vec4<f32>(src1[i]); }
    case 2u: { return vec4<f32>(src2[i]); }
    case 3u: { return vec4<f32>(src3[i]); }
    case 4u: { return vec4<f32>(src4[i]); }
    default: { return vec4<f32>(src5[i]); }
  }
}

// Input vec4 c of source `slot` (cs vec4s per pixel) at image pixel (gx, gy): zero outside the image (the
// conv's padding) and past the source's channels (a chunk that overhangs it).
fn patchAt(slot: u32, cs: u32, c: u32, gx: i32, gy: i32) -> vec4<f32> {
  if (gx < 0 || gy < 0 || u32(gx) >= dims.inW || u32(gy) >= dims.inH || c >= cs) { return vec4<f32>(0.0); }
  return srcLoad(slot, ((u32(gy) - dims.inY0) * dims.inW + u32(gx)) * cs + c);
}

fn srcC4(slot: u32) -> u32 {
  return array<u32, 6>(C0, C1, C2, C3, C4, C5)[slot];
}

// Clamped so that no implementation's exp/tanh overflows into NaN; both saturate long before the bound.
fn sigmoid4(v: vec4<f32>) -> vec4<f32> {
  return 1.0 / (1.0 + exp(-clamp(v, vec4<f32>(-80.0), vec4<f32>(80.0))));
}

fn offsetHead(v: vec4<f32>, ov: u32, pix: u32, i: u32) -> vec4<f32> {
  if (HEAD == 1u) {
    if (ov < OFF4) {
      let f = srcLoad(NIN, pix);  // flow: (x, y) displacement; DCN offsets are (y, x) per tap
      return MAX_RESIDUE * tanh(clamp(v, vec4<f32>(-15.0), vec4<f32>(15.0))) + f.yxyx;
    }
    return sigmoid4(v);
  }
  let pre = srcLoad(NIN, i);
  if (ov < OFF4) {
    return MAX_RESIDUE * tanh(clamp(v, vec4<f32>(-15.0), vec4<f32>(15.0))) + pre;
  }
  return (sigmoid4(v) + pre) * 0.5;
}

// Bilinear x4 upsample (align_corners=False; Paddle's ratio in/out = 0.25 exactly) of the image in slot
// NIN + NRES - 1 at output pixel (y, x): src = (dst + 0.5) * 0.25 - 0.5, clamped below at 0.
fn upsampled(y: u32, x: u32) -> vec4<f32> {
  let sy = max((f32(y) + 0.5) * 0.25 - 0.5, 0.0);
  let sx = max((f32(x) + 0.5) * 0.25 - 0.5, 0.0);
  let y0 = u32(sy);
  let x0 = u32(sx);
  let y1 = min(y0 + 1u, dims.upH - 1u);
  let x1 = min(x0 + 1u, dims.upW - 1u);
  let ly = sy - f32(y0);
  let lx = sx - f32(x0);
  let slot = NIN + NRES - 1u;
  let top = (1.0 - lx) * srcLoad(slot, y0 * dims.upW + x0) + lx * srcLoad(slot, y0 * dims.upW + x1);
  let bot = (1.0 - lx) * srcLoad(slot, y1 * dims.upW + x0) + lx * srcLoad(slot, y1 * dims.upW + x1);
  return (1.0 - ly) * top + ly * bot;
}

fn activate(v: vec4<f32>) -> vec4<f32> {
  if (ACT == 1u) { return select(v * 0.1, v, v >= vec4<f32>(0.0)); }
  if (ACT == 2u) { return max(v, vec4<f32>(0.0)); }
  return v;
}

// The plain epilogue of one output vec4 (no pixel shuffle): + bias, then the offset head, or the activation,
// the residuals and the x4 image. (y, x): conv-grid pixel; by: its row in the dst / residual / head buffers.
fn finish(acc: vec4<f32>, ov: u32, y: u32, by: u32, x: u32) -> vec4<f32> {
  let pix = by * dims.outW + x;
  let i = pix * COUT4 + ov;
  var v = acc + weights[dims.bOff + ov];
  if (HEAD != 0u) {
    return offsetHead(v, ov, pix, i);
  }
  v = activate(v);
  for (var r = 0u; r < NRES - select(0u, 1u, UPRES); r++) {
    v += srcLoad(NIN + r, i);
  }
  if (UPRES) {
    v += upsampled(y, x);
  }
  return v;
}

// PixelShuffle(2) on store: r[k] holds conv output vec4 ov + k (after bias and activation), i.e. channels
// 4(ov+k)..4(ov+k)+3 = channel (ov+k) of the shuffled tensor at the 2x2 sub-pixels (i, j) -> component
// 2i + j. The four make one stored vec4 per sub-pixel (ov a multiple of 4).
fn storeShuffled(r: array<vec4<f32>, 4>, ov: u32, by: u32, x: u32) {
  for (var s = 0u; s < 4u; s++) {
    let hy = 2u * by + s / 2u;
    let hx = 2u * x + s % 2u;
    dst[(hy * 2u * dims.outW + hx) * OUT_C4 + ov / 4u] = vec4<S>(vec4<f32>(r[0][s], r[1][s], r[2][s], r[3][s]));
  }
}
