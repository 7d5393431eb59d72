// normalize: per-channel (x − mean) / std on a tensor of at most 4 channels (SPyNet's RGB input
// normalisation, mean/std as in its buffers). When the frame also needs resizing, resize.wgsl's affine
// epilogue does both in one dispatch (resizeNormalize); this kernel is the plain, exact-division form.
//
// Invocation mapping: one invocation per pixel (one vec4), 8x8 pixels per workgroup.
// Channel padding stays zero: the wrapper sets mean = 0 and std = 1 in the padding lanes.

// ---- specialization constants ----
alias S = f32;          // storage scalar (f32 or f16; the math is f32)
const WX: u32 = 8u;
const WY: u32 = 8u;

struct Dims {
  h: u32,
  w: u32,
  mean: vec4<f32>,
  stdDev: vec4<f32>,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> src: array<vec4<S>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<S>>;

@compute @workgroup_size(WX, WY)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= dims.w || gid.y >= dims.h) { return; }
  let i = gid.y * dims.w + gid.x;
  dst[i] = vec4<S>((vec4<f32>(src[i]) - dims.mean) / dims.stdDev);
}
