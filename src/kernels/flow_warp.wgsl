// flow_warp: out(x, y) = bilinear sample of `src` at (x + flow_x(x, y), y + flow_y(x, y)), PaddleGAN's
// flow_warp (PaddleGAN basicvsr.py): F.grid_sample(mode='bilinear', align_corners=True) on the grid
// "pixel index + flow" normalised by 2·s/max(W−1,1) − 1. With align_corners=True the normalisation
// round-trips, so the net effect is bilinear sampling at pixel position (sx, sy), except that a size-1
// axis collapses to coordinate 0 (grid_sample unnormalises with (g+1)/2·(size−1) = 0).
//   PADDING 'zeros' (BORDER = false): each of the 4 corners outside the image contributes 0, weights are
//     not renormalised.
//   PADDING 'border' (BORDER = true): sx is clamped to [0, W−1] and sy to [0, H−1] first.
//
// Invocation mapping: one invocation per output pixel and group of CG channel vec4s (workgroup 8x8
// pixels, z = channel group). The flow read, the 4 corner indices, their validity and the 4 bilinear
// weights are computed once per pixel and reused for every channel vec4 of the group: with CG = C4 (the
// default up to 8 vec4s = 32 channels) a pixel's sampling geometry is computed exactly once.
// Channel padding stays zero: every output is a weighted sum of source vec4s whose padding lanes are zero.

// ---- specialization constants ----
alias S = f32;          // src/dst storage scalar (f32 or f16; the math is f32)
alias F = f32;          // flow storage scalar
const C4: u32 = 1u;     // channel vec4s per pixel of src/dst
const CG: u32 = 1u;     // channel vec4s per invocation
const BORDER: bool = false;
const WX: u32 = 8u;
const WY: u32 = 8u;

struct Dims {
  h: u32,
  w: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> src: array<vec4<S>>;
@group(0) @binding(2) var<storage, read> flow: array<vec4<F>>;  // 2 channels (x, y) padded to a vec4
@group(0) @binding(3) var<storage, read_write> dst: array<vec4<S>>;

@compute @workgroup_size(WX, WY)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let x = gid.x;
  let y = gid.y;
  if (x >= dims.w || y >= dims.h) { return; }
  let pix = y * dims.w + x;
  let f = vec4<f32>(flow[pix]);
  let wmax = f32(dims.w - 1u);
  let hmax = f32(dims.h - 1u);
  var sx = f32(x) + f.x;
  var sy = f32(y) + f.y;
  if (dims.w == 1u) { sx = 0.0; }
  if (dims.h == 1u) { sy = 0.0; }
  if (BORDER) {
    sx = clamp(sx, 0.0, wmax);
    sy = clamp(sy, 0.0, hmax);
  } else {
    // Value-preserving clamp that keeps the integer corner math in range for huge flows: at or beyond
    // −1 / size every corner is outside (or carries weight 0) with or without it.
    sx = clamp(sx, -2.0, wmax + 2.0);
    sy = clamp(sy, -2.0, hmax + 2.0);
  }
  let fx0 = floor(sx);
  let fy0 = floor(sy);
  let ax = sx - fx0;
  let ay = sy - fy0;
  let x0 = i32(fx0);
  let y0 = i32(fy0);
  let iw = i32(dims.w);
  let ih = i32(dims.h);
  let vx0 = x0 >= 0 && x0 < iw;
  let vx1 = x0 + 1 >= 0 && x0 + 1 < iw;
  let vy0 = y0 >= 0 && y0 < ih;
  let vy1 = y0 + 1 >= 0 && y0 + 1 < ih;
  // Corners in grid_sample's order: nw (y0,x0), ne (y0,x0+1), sw (y0+1,x0), se (y0+1,x0+1).
  let valid = vec4<bool>(vy0 && vx0, vy0 && vx1, vy1 && vx0, vy1 && vx1);
  let wt = vec4<f32>((1.0 - ax) * (1.0 - ay), ax * (1.0 - ay), (1.0 - ax) * ay, ax * ay);
  // Base vec4 index of each corner (only used where valid, so clamping keeps it in u32 range).
  let cx0 = u32(max(x0, 0));
  let cx1 = u32(max(x0 + 1, 0));
  let cy0 = u32(max(y0, 0));
  let cy1 = u32(max(y0 + 1, 0));
  let base = vec4<u32>(cy0 * dims.w + cx0, cy0 * dims.w + cx1, cy1 * dims.w + cx0, cy1 * dims.w + cx1) * C4;

  let c0 = gid.z * CG;
  for (var j = 0u; j < CG; j++) {
    let c = c0 + j;
    if (C4 % CG != 0u && c >= C4) { break; }
    var acc = vec4<f32>(0.0);
    for (var k = 0u; k < 4u; k++) {
      if (valid[k]) { acc += wt[k] * vec4<f32>(src[base[k] + c]); }
    }
    dst[pix * C4 + c] = vec4<S>(acc);
  }
}
