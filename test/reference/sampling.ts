// Float64 CPU references of the sampling and element-wise operators, written from Paddle's definitions
// (§1.1 bilinear resize and 2x2 average pool, §1.2 flow_warp, §2.3 SPyNet's normalisation), independent of
// the WGSL. Tensors are HWC (one frame), as in ops.ts.
import { img, type Img } from './ops.js';

export type Padding = 'zeros' | 'border';

/**
 * flow_warp(x, flow, padding) (PaddleGAN basicvsr.py, grid_sample align_corners=True): bilinear sample of x at (j + flow_x, i + flow_y).
 * grid_sample with align_corners=True unnormalises the normalised coordinate g as (g + 1)/2·(size − 1),
 * so an axis of size 1 samples at coordinate 0 whatever the flow (the normalisation divides by
 * max(size − 1, 1) = 1 and the unnormalisation multiplies by 0).
 */
export function flowWarp(x: Img, flow: Img, padding: Padding): Img {
  if (flow.h !== x.h || flow.w !== x.w || flow.c !== 2) throw new Error('flowWarp: flow must be h×w×2');
  const { h, w, c } = x;
  const out = img(h, w, c);
  const at = (yy: number, xx: number, k: number): number => (yy >= 0 && yy < h && xx >= 0 && xx < w ? x.d[(yy * w + xx) * c + k] : 0);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const p = i * w + j;
      let sx = w === 1 ? 0 : j + flow.d[p * 2];
      let sy = h === 1 ? 0 : i + flow.d[p * 2 + 1];
      if (padding === 'border') {
        sx = Math.min(Math.max(sx, 0), w - 1);
        sy = Math.min(Math.max(sy, 0), h - 1);
      }
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const ax = sx - x0;
      const ay = sy - y0;
      for (let k = 0; k < c; k++) {
        out.d[p * c + k] =
          (1 - ax) * (1 - ay) * at(y0, x0, k) + ax * (1 - ay) * at(y0, x0 + 1, k) + (1 - ax) * ay * at(y0 + 1, x0, k) + ax * ay * at(y0 + 1, x0 + 1, k);
      }
    }
  }
  return out;
}

/** Source position of output index d along one axis (Paddle F.interpolate bilinear, align_mode 0), exact ratios. */
export function srcCoord(d: number, inSize: number, outSize: number, alignCorners: boolean): { i0: number; i1: number; l: number } {
  let s: number;
  if (alignCorners) s = outSize > 1 ? (d * (inSize - 1)) / (outSize - 1) : 0;
  else s = Math.max(((d + 0.5) * inSize) / outSize - 0.5, 0);
  const i0 = Math.floor(s);
  return { i0, i1: Math.min(i0 + 1, inSize - 1), l: s - i0 };
}

/** Bilinear resize (Paddle F.interpolate, mode 'bilinear'), then (v − shift[k])·scale[k] per channel. */
export function resize(x: Img, oh: number, ow: number, alignCorners: boolean, scale?: readonly number[], shift?: readonly number[]): Img {
  const out = img(oh, ow, x.c);
  const c = x.c;
  for (let y = 0; y < oh; y++) {
    const ty = srcCoord(y, x.h, oh, alignCorners);
    for (let xx = 0; xx < ow; xx++) {
      const tx = srcCoord(xx, x.w, ow, alignCorners);
      for (let k = 0; k < c; k++) {
        const v = (yy: number, xi: number): number => x.d[(yy * x.w + xi) * c + k];
        const top = (1 - tx.l) * v(ty.i0, tx.i0) + tx.l * v(ty.i0, tx.i1);
        const bot = (1 - tx.l) * v(ty.i1, tx.i0) + tx.l * v(ty.i1, tx.i1);
        const r = (1 - ty.l) * top + ty.l * bot;
        out.d[(y * ow + xx) * c + k] = (r - (shift ? shift[k] : 0)) * (scale ? scale[k] : 1);
      }
    }
  }
  return out;
}

/** 2x2 average pool, stride 2, floor output size (odd last row/column ignored). */
export function avgPool2(x: Img): Img {
  const oh = Math.floor(x.h / 2);
  const ow = Math.floor(x.w / 2);
  const out = img(oh, ow, x.c);
  const c = x.c;
  for (let y = 0; y < oh; y++)
    for (let xx = 0; xx < ow; xx++)
      for (let k = 0; k < c; k++) {
        let s = 0;
        for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) s += x.d[((2 * y + i) * x.w + 2 * xx + j) * c + k];
        out.d[(y * ow + xx) * c + k] = s / 4;
      }
  return out;
}

/** (x − mean[k]) / std[k] per channel. */
export function normalize(x: Img, mean: readonly number[], std: readonly number[]): Img {
  const out = img(x.h, x.w, x.c);
  for (let i = 0; i < x.d.length; i++) out.d[i] = (x.d[i] - mean[i % x.c]) / std[i % x.c];
  return out;
}

/** alpha·a + beta·b */
export function axpby(a: Img, b: Img, alpha: number, beta: number): Img {
  const out = img(a.h, a.w, a.c);
  for (let i = 0; i < a.d.length; i++) out.d[i] = alpha * a.d[i] + beta * b.d[i];
  return out;
}
