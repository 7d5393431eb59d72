// deform_common: what the deformable convolution kernels share (deform_conv, deform_conv_matrix), appended to
// each by its wrapper: the uniforms and bindings, and the modulated bilinear gather of one (pixel, tap, group).
// A kernel that includes it declares S, SO, G and CIN4.

const CPG4: u32 = CIN4 / G;       // input vec4s per deformable group
const OM4: u32 = 27u * G / 4u;    // vec4s per pixel of `om`

struct Dims {
  h: u32,
  w: u32,
  wOff: u32,   // packed weights [COUT4][9][CIN4*4] vec4s (conv2d's layout)
  bOff: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> weights: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x: array<vec4<S>>;
@group(0) @binding(3) var<storage, read> om: array<vec4<SO>>;
@group(0) @binding(4) var<storage, read_write> dst: array<vec4<S>>;


fn omAt(pix: u32, c: u32) -> f32 {
  return f32(om[pix * OM4 + c / 4u][c % 4u]);
}

fn gatherCorner(v: array<vec4<f32>, CPG4>, yy: i32, xx: i32, wt: f32, g: u32) -> array<vec4<f32>, CPG4> {
  var r = v;
  if (yy >= 0 && xx >= 0 && yy < i32(dims.h) && xx < i32(dims.w)) {
    let base = (u32(yy) * dims.w + u32(xx)) * CIN4 + g * CPG4;
    for (var c = 0u; c < CPG4; c++) {
      r[c] = fma(vec4<f32>(wt), vec4<f32>(x[base + c]), r[c]);
    }
  }
  return r;
}

// The input of group g sampled for output pixel (px, py) at tap k = 3i + j: bilinear at
// (py - 1 + i + dy, px - 1 + j + dx), times the mask, with corners outside the image contributing nothing.
fn samplePixel(px: u32, py: u32, k: u32, g: u32) -> array<vec4<f32>, CPG4> {
  let pix = py * dims.w + px;
  let dy = omAt(pix, 18u * g + 2u * k);
  let dx = omAt(pix, 18u * g + 2u * k + 1u);
  let m = omAt(pix, 18u * G + 9u * g + k);
  let sy = f32(py) - 1.0 + f32(k / 3u) + dy;
  let sx = f32(px) - 1.0 + f32(k % 3u) + dx;
  let fy = floor(sy);
  let fx = floor(sx);
  let ly = sy - fy;
  let lx = sx - fx;
  let iy = i32(fy);
  let ix = i32(fx);
  // Explicitly zeroed: a declaration-only var was seen to keep a previous iteration's value on lavapipe.
  var v = array<vec4<f32>, CPG4>();
  v = gatherCorner(v, iy, ix, (1.0 - ly) * (1.0 - lx) * m, g);
  v = gatherCorner(v, iy, ix + 1, (1.0 - ly) * lx * m, g);
  v = gatherCorner(v, iy + 1, ix, ly * (1.0 - lx) * m, g);
  v = gatherCorner(v, iy + 1, ix + 1, ly * lx * m, g);
  return v;
}
