// Float64 CPU reference implementations of every operator, written from the PaddleGAN/Paddle semantics in
// Paddle's operator definitions, independent of the WGSL. Tensors are HWC (one frame), weights OIHW.
export type Arr = ArrayLike<number>;

export interface Img {
  h: number;
  w: number;
  c: number;
  d: Float64Array;
}

export function img(h: number, w: number, c: number, data?: Arr): Img {
  const d = new Float64Array(h * w * c);
  if (data) {
    if (data.length !== d.length) throw new Error(`img: ${data.length} values for ${h}x${w}x${c}`);
    d.set(data);
  }
  return { h, w, c, d };
}

/** concat along channels */
export function concat(xs: Img[]): Img {
  const { h, w } = xs[0];
  const c = xs.reduce((a, x) => a + x.c, 0);
  const out = img(h, w, c);
  for (let p = 0; p < h * w; p++) {
    let o = 0;
    for (const x of xs) {
      for (let k = 0; k < x.c; k++) out.d[p * c + o + k] = x.d[p * x.c + k];
      o += x.c;
    }
  }
  return out;
}

export function conv2d(x: Img, weight: Arr, bias: Arr | undefined, cout: number, k: number, stride = 1, pad = k >> 1): Img {
  const oh = Math.floor((x.h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((x.w + 2 * pad - k) / stride) + 1;
  const out = img(oh, ow, cout);
  const cin = x.c;
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      for (let o = 0; o < cout; o++) {
        let s = bias ? bias[o] : 0;
        for (let ky = 0; ky < k; ky++) {
          const iy = oy * stride - pad + ky;
          if (iy < 0 || iy >= x.h) continue;
          for (let kx = 0; kx < k; kx++) {
            const ix = ox * stride - pad + kx;
            if (ix < 0 || ix >= x.w) continue;
            const base = (iy * x.w + ix) * cin;
            for (let c = 0; c < cin; c++) s += weight[((o * cin + c) * k + ky) * k + kx] * x.d[base + c];
          }
        }
        out.d[(oy * ow + ox) * cout + o] = s;
      }
    }
  }
  return out;
}

export function map(x: Img, f: (v: number) => number): Img {
  const out = img(x.h, x.w, x.c);
  for (let i = 0; i < x.d.length; i++) out.d[i] = f(x.d[i]);
  return out;
}

export const lrelu = (x: Img): Img => map(x, (v) => (v >= 0 ? v : 0.1 * v));
export const relu = (x: Img): Img => map(x, (v) => Math.max(0, v));

export function add(a: Img, b: Img): Img {
  const out = img(a.h, a.w, a.c);
  for (let i = 0; i < a.d.length; i++) out.d[i] = a.d[i] + b.d[i];
  return out;
}

/** PixelShuffle(2): out[c, 2y+i, 2x+j] = in[4c + 2i + j, y, x] */
export function pixelShuffle(x: Img): Img {
  const c = x.c / 4;
  const out = img(2 * x.h, 2 * x.w, c);
  for (let y = 0; y < x.h; y++)
    for (let xx = 0; xx < x.w; xx++)
      for (let ch = 0; ch < c; ch++)
        for (let i = 0; i < 2; i++)
          for (let j = 0; j < 2; j++) out.d[((2 * y + i) * out.w + 2 * xx + j) * c + ch] = x.d[(y * x.w + xx) * x.c + 4 * ch + 2 * i + j];
  return out;
}

/** max |a - b| and max |b| (the scale the tolerance is relative to) */
export function maxAbsDiff(a: Arr, b: Arr): { err: number; scale: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= err)) err = Number.isNaN(d) ? Infinity : Math.max(err, d);
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { err, scale };
}
