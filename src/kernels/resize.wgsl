// resize: bilinear resize of an NHWC tensor with Paddle's F.interpolate(mode='bilinear') rules
// (align_corners / align_mode=0 as Paddle's interp kernels compute them), followed by a per-channel affine epilogue out = (v − shift)·scale.
//   ALIGN = false (align_corners=False, align_mode 0, half-pixel): s = max(ratio·(d + 0.5) − 0.5, 0)
//   ALIGN = true  (align_corners=True):                             s = ratio·d
//   i0 = floor(s), i1 = min(i0 + 1, in − 1), λ = s − i0, separable linear interpolation written as Paddle's
//   kernel does: (1−λy)·((1−λx)·a + λx·b) + λy·((1−λx)·c + λx·d).
// The ratios are computed on the host in f32 as Paddle does (in/out, or (in−1)/(out−1) and 0 for out = 1)
// and passed in the uniform, so one pipeline serves every size.
// The epilogue covers the network's uses: SPyNet's ×2 flow upsampling (scale (2,2,0,0)), the final flow
// rescale (scale (w/w_up, h/h_up, 0, 0)), SPyNet's input resize + normalisation (shift = mean,
// scale = 1/std), and the plain ×4 image upsample (shift 0, scale 1, exact identity).
//
// WINDOW: src and dst are windows of larger images (a tile, and its crop of SPyNet's resized grid). The
// ratios are the whole images'; the windows' origins come from `origins` (one vec4 per run: the tile's
// frame origin (y, x) and its resized-grid origin (y, x)), picked by lane and divided by 2^shift for the
// coarser pyramid levels. Sample positions are computed in whole-image coordinates, with the same f32
// operations as without a window, then shifted into the src window, so a window's output equals the same
// pixels of the whole image's wherever its samples fall inside src.
//
// Invocation mapping: one invocation per output pixel and group of CG channel vec4s (8x8 pixels per
// workgroup, z = channel group). The source rows/columns and both interpolation weights are computed once
// per pixel and reused for every channel vec4 of the group.
// Channel padding stays zero as long as the padding lanes of `scale` are 0 or the source's padding is zero
// and the shift lanes are 0 (the wrapper sets both).

// ---- specialization constants ----
alias S = f32;          // src/dst storage scalar (f32 or f16; the math is f32)
const C4: u32 = 1u;     // channel vec4s per pixel
const CG: u32 = 1u;     // channel vec4s per invocation
const ALIGN: bool = false;
const WINDOW: bool = false;
const WX: u32 = 8u;
const WY: u32 = 8u;

struct Dims {
  inH: u32,
  inW: u32,
  outH: u32,
  outW: u32,
  ratioY: f32,
  ratioX: f32,
  shift: vec4<f32>,
  scale: vec4<f32>,
  srcLane: u32,    // WINDOW: origins lanes (0: frame origin, 2: resized-grid origin) and power-of-two divisors
  srcShift: u32,
  dstLane: u32,
  dstShift: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> src: array<vec4<S>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<S>>;
@group(0) @binding(3) var<storage, read> origins: array<vec4<f32>>;

struct Tap {
  i0: u32,
  i1: u32,
  l: f32,
}

fn tap(d: u32, ratio: f32, n: u32, dOrigin: f32, sOrigin: f32) -> Tap {
  var s: f32;
  if (WINDOW) {
    let g = f32(d) + dOrigin;  // whole-image coordinate (exact: integers)
    if (ALIGN) {
      s = ratio * g;
    } else {
      s = max(ratio * (g + 0.5) - 0.5, 0.0);
    }
    s = max(s - sOrigin, 0.0);  // into the src window; below its first row only at a tile's inner edge
  } else if (ALIGN) {
    s = ratio * f32(d);
  } else {
    s = max(ratio * (f32(d) + 0.5) - 0.5, 0.0);
  }
  let i0 = min(u32(s), n - 1u);  // s >= 0, so truncation is floor
  return Tap(i0, min(i0 + 1u, n - 1u), s - f32(i0));
}

fn origin(lane: u32, shift: u32) -> vec2<f32> {
  let o = origins[0];
  let v = select(o.xy, o.zw, lane == 2u);
  return v / f32(1u << shift);
}

@compute @workgroup_size(WX, WY)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let x = gid.x;
  let y = gid.y;
  if (x >= dims.outW || y >= dims.outH) { return; }
  var so = vec2<f32>(0.0);
  var dO = vec2<f32>(0.0);
  if (WINDOW) {
    so = origin(dims.srcLane, dims.srcShift);
    dO = origin(dims.dstLane, dims.dstShift);
  }
  let tx = tap(x, dims.ratioX, dims.inW, dO.y, so.y);
  let ty = tap(y, dims.ratioY, dims.inH, dO.x, so.x);
  let r0 = ty.i0 * dims.inW;
  let r1 = ty.i1 * dims.inW;
  let i00 = (r0 + tx.i0) * C4;
  let i01 = (r0 + tx.i1) * C4;
  let i10 = (r1 + tx.i0) * C4;
  let i11 = (r1 + tx.i1) * C4;
  let wx1 = tx.l;
  let wx0 = 1.0 - tx.l;
  let wy1 = ty.l;
  let wy0 = 1.0 - ty.l;
  let o = (y * dims.outW + x) * C4;

  let c0 = gid.z * CG;
  for (var j = 0u; j < CG; j++) {
    let c = c0 + j;
    if (C4 % CG != 0u && c >= C4) { break; }
    let top = wx0 * vec4<f32>(src[i00 + c]) + wx1 * vec4<f32>(src[i01 + c]);
    let bot = wx0 * vec4<f32>(src[i10 + c]) + wx1 * vec4<f32>(src[i11 + c]);
    let v = wy0 * top + wy1 * bot;
    dst[o + c] = vec4<S>((v - dims.shift) * dims.scale);
  }
}
