// elementwise: out = alpha·a + beta·b over two tensors of the same shape (every vec4, padding included).
// What it is for: the few additions the network has that are not fused into a conv epilogue (conv2d's
// residual slots cover the RBIC/propagation residuals and SPyNet's flow + residual): e.g. adding the ×4
// bilinear image upsample to an output when the conv that produced it did not take it as a residual,
// the stage-3 mask average (a + b)·0.5 (alpha = beta = 0.5) if the DCN offset kernel does not fuse it,
// and sums in tests and tools. alpha/beta are uniform values, so one pipeline per dtype serves all uses.
//
// Invocation mapping: one invocation per vec4, 256 per workgroup, the workgroup grid folded into 2-D
// (x up to 65535) so that any tensor that fits a storage binding can be dispatched.
// Channel padding stays zero: alpha·0 + beta·0 = 0.

// ---- specialization constants ----
alias S = f32;          // storage scalar (f32 or f16; the math is f32)
const WG: u32 = 256u;

struct Dims {
  n: u32,       // vec4s in each tensor
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<vec4<S>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<S>>;
@group(0) @binding(3) var<storage, read_write> dst: array<vec4<S>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * WG + li;
  if (i >= dims.n) { return; }
  dst[i] = vec4<S>(dims.alpha * vec4<f32>(a[i]) + dims.beta * vec4<f32>(b[i]));
}
