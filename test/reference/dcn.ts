// Float64 reference of Paddle's modulated deformable conv v2 (paddle.vision.ops.deform_conv2d) and the MSVSR offset head
// (AlignmentModule / ReAlignmentModule in msvsr.py), written straight from the formulas.
import { img, type Arr, type Img } from './ops.js';
import { rng } from './rng.js';

/** Bilinear sample of channel c at (sy, sx), corners outside contribute zero (no renormalisation). */
function sampleZeros(x: Img, c: number, sy: number, sx: number): number {
  if (sy <= -1 || sx <= -1 || sy >= x.h || sx >= x.w) return 0;
  const y0 = Math.floor(sy);
  const x0 = Math.floor(sx);
  const ly = sy - y0;
  const lx = sx - x0;
  const at = (yy: number, xx: number) => (yy >= 0 && yy < x.h && xx >= 0 && xx < x.w ? x.d[(yy * x.w + xx) * x.c + c] : 0);
  return (1 - ly) * (1 - lx) * at(y0, x0) + (1 - ly) * lx * at(y0, x0 + 1) + ly * (1 - lx) * at(y0 + 1, x0) + ly * lx * at(y0 + 1, x0 + 1);
}

/**
 * out[o,y,x] = bias[o] + Σ_c Σ_k W[o,c,k] · m(g(c),k) · sample(x[c], y-1+i+dy, x-1+j+dx), with
 * dy = om[18g+2k], dx = om[18g+2k+1], m = om[18G+9g+k] (om is the [offsets | masks] tensor, HWC).
 * `swapYX` reads the offsets in (x, y) order instead: used to prove the tests would catch that mistake.
 */
export function deformConv(x: Img, om: Img, weight: Arr, bias: Arr, cout: number, G: number, swapYX = false): Img {
  const out = img(x.h, x.w, cout);
  const cpg = x.c / G;
  const samples = new Float64Array(x.c * 9);
  for (let y = 0; y < x.h; y++) {
    for (let xx = 0; xx < x.w; xx++) {
      const ob = (y * x.w + xx) * om.c;
      for (let c = 0; c < x.c; c++) {
        const g = Math.floor(c / cpg);
        for (let k = 0; k < 9; k++) {
          let dy = om.d[ob + 18 * g + 2 * k];
          let dx = om.d[ob + 18 * g + 2 * k + 1];
          if (swapYX) [dy, dx] = [dx, dy];
          const m = om.d[ob + 18 * G + 9 * g + k];
          samples[c * 9 + k] = m * sampleZeros(x, c, y - 1 + Math.floor(k / 3) + dy, xx - 1 + (k % 3) + dx);
        }
      }
      for (let o = 0; o < cout; o++) {
        let s = bias[o];
        for (let i = 0; i < x.c * 9; i++) s += weight[o * x.c * 9 + i] * samples[i];
        out.d[(y * x.w + xx) * cout + o] = s;
      }
    }
  }
  return out;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** Align head: off = 10·tanh(o[:18G]) + (fy, fx) tiled; msk = sigmoid(o[18G:]). flow is HWC (x, y). */
export function alignHead(o: Img, flow: Img): Img {
  const out = img(o.h, o.w, o.c);
  const n18 = (o.c * 2) / 3;
  for (let p = 0; p < o.h * o.w; p++) {
    for (let j = 0; j < o.c; j++) {
      const v = o.d[p * o.c + j];
      out.d[p * o.c + j] = j < n18 ? 10 * Math.tanh(v) + flow.d[p * 2 + (j % 2 === 0 ? 1 : 0)] : sigmoid(v);
    }
  }
  return out;
}

/** Re-align head: off = 10·tanh(o[:18G]) + pre_off; msk = (sigmoid(o[18G:]) + pre_msk) / 2. */
export function realignHead(o: Img, pre: Img): Img {
  const out = img(o.h, o.w, o.c);
  const n18 = (o.c * 2) / 3;
  for (let i = 0; i < o.d.length; i++) {
    const j = i % o.c;
    out.d[i] = j < n18 ? 10 * Math.tanh(o.d[i]) + pre.d[i] : (sigmoid(o.d[i]) + pre.d[i]) / 2;
  }
  return out;
}

/** An [offsets | masks] tensor (HWC) of seeded test data: offsets drawn by `offset(r)`, masks in (0, 1). */
export function makeOm(seed: number, h: number, w: number, G: number, offset: (r: () => number) => number): Float32Array {
  const r = rng(seed);
  const c = 27 * G;
  const d = new Float32Array(h * w * c);
  for (let p = 0; p < h * w; p++) for (let j = 0; j < c; j++) d[p * c + j] = j < 18 * G ? offset(r) : r();
  return d;
}
