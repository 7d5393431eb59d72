// avgpool2: 2x2 average pool, stride 2, no padding (F.avg_pool2d(kernel 2, stride 2)), with Paddle's floor
// semantics: the output is floor(H/2) x floor(W/2) and an odd last row/column of the input is ignored.
// Sum order is Paddle's (row-major, from 0): (((a + b) + c) + d) / 4.
//
// LEVELS = 2 builds two pyramid levels in one dispatch (SPyNet's R1 and R2 from R0): dst = pool(src) and
// dst2 = pool(dst). dst2 is computed from the level-1 values as stored (rounded to S), so the result is
// the same as two LEVELS = 1 dispatches.
//
// Invocation mapping: LEVELS = 1: one invocation per output pixel and group of CG channel vec4s.
// LEVELS = 2: one invocation per 2x2 block of level-1 pixels (= one level-2 pixel) and channel group; the
// four level-1 values are reused for the level-2 pixel. Where floor(H1/2) < ceil(H1/2) the last block row
// (or column) writes level-1 pixels only.
// Channel padding stays zero: averages of zero padding lanes are zero.

// ---- specialization constants ----
alias S = f32;          // storage scalar (f32 or f16; the math is f32)
const C4: u32 = 1u;     // channel vec4s per pixel
const CG: u32 = 1u;     // channel vec4s per invocation
const LEVELS: u32 = 1u; // 1 or 2
const WX: u32 = 8u;
const WY: u32 = 8u;

struct Dims {
  inH: u32,
  inW: u32,
  h1: u32,   // floor(inH / 2)
  w1: u32,
  h2: u32,   // floor(h1 / 2) (LEVELS = 2)
  w2: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> src: array<vec4<S>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<S>>;
@group(0) @binding(3) var<storage, read_write> dst2: array<vec4<S>>;  // LEVELS = 2 only

fn pool(y: u32, x: u32, c: u32) -> vec4<f32> {
  let r0 = ((2u * y) * dims.inW + 2u * x) * C4 + c;
  let r1 = r0 + dims.inW * C4;
  return (((vec4<f32>(src[r0]) + vec4<f32>(src[r0 + C4])) + vec4<f32>(src[r1])) + vec4<f32>(src[r1 + C4])) / 4.0;
}

@compute @workgroup_size(WX, WY)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let x = gid.x;
  let y = gid.y;
  let c0 = gid.z * CG;
  if (LEVELS == 1u) {
    if (x >= dims.w1 || y >= dims.h1) { return; }
    let o = (y * dims.w1 + x) * C4;
    for (var j = 0u; j < CG; j++) {
      let c = c0 + j;
      if (C4 % CG != 0u && c >= C4) { break; }
      dst[o + c] = vec4<S>(pool(y, x, c));
    }
  } else {
    if (2u * x >= dims.w1 || 2u * y >= dims.h1) { return; }
    let full = x < dims.w2 && y < dims.h2;
    for (var j = 0u; j < CG; j++) {
      let c = c0 + j;
      if (C4 % CG != 0u && c >= C4) { break; }
      var q = vec4<f32>(0.0);
      for (var k = 0u; k < 4u; k++) {
        let yy = 2u * y + k / 2u;
        let xx = 2u * x + k % 2u;
        if (yy < dims.h1 && xx < dims.w1) {
          let p = vec4<S>(pool(yy, xx, c));
          dst[(yy * dims.w1 + xx) * C4 + c] = p;
          q += vec4<f32>(p);
        }
      }
      if (full) { dst2[(y * dims.w2 + x) * C4 + c] = vec4<S>(q / 4.0); }
    }
  }
}
