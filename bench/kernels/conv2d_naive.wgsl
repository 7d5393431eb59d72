// The baseline the tiled conv2d is measured against: one output scalar per invocation, every input and
// weight read straight from global memory, no reuse. Same tensor layout (NHWC, vec4-padded channels) and
// weight layout as conv2d.wgsl; one source, 3x3, stride 1, pad 1, bias, no activation. Benchmark only.
const CIN4: u32 = 8u;
const COUT4: u32 = 8u;

struct Dims { h: u32, w: u32, wOff: u32, bOff: u32 }

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> weights: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let o = i % (COUT4 * 4u);
  let pix = i / (COUT4 * 4u);
  if (pix >= dims.h * dims.w) { return; }
  let y = i32(pix / dims.w);
  let x = i32(pix % dims.w);
  var s = weights[dims.bOff + o / 4u][o % 4u];
  for (var ky = 0; ky < 3; ky++) {
    for (var kx = 0; kx < 3; kx++) {
      let yy = y + ky - 1;
      let xx = x + kx - 1;
      if (yy < 0 || xx < 0 || yy >= i32(dims.h) || xx >= i32(dims.w)) { continue; }
      let base = (u32(yy) * dims.w + u32(xx)) * CIN4;
      for (var c = 0u; c < CIN4 * 4u; c++) {
        let w = weights[dims.wOff + ((o / 4u) * 9u + u32(ky * 3 + kx)) * CIN4 * 4u + c][o % 4u];
        s += w * src[base + c / 4u][c % 4u];
      }
    }
  }
  dst[i] = s;
}
