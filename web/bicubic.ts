// The "before" of the comparison: the library's bicubic ×4 (Keys' cubic, a = -0.5, the kernel of MATLAB's
// imresize and of the bicubic degradation VSR datasets are made with), as RGBA for a canvas.
import { bicubic as bicubicRgb } from 'msvsr-webgpu';

/** RGBA `src` (width x height) resized x`scale` with the bicubic kernel; alpha set opaque. */
export function bicubic(src: Uint8ClampedArray, width: number, height: number, scale = 4): Uint8ClampedArray {
  const rgb = bicubicRgb({ width, height, data: src, channels: 4 }, scale).data;
  const out = new Uint8ClampedArray((rgb.length / 3) * 4);
  for (let p = 0, q = 0; p < rgb.length; p += 3, q += 4) {
    out[q] = rgb[p];
    out[q + 1] = rgb[p + 1];
    out[q + 2] = rgb[p + 2];
    out[q + 3] = 255;
  }
  return out;
}
