// --compare: each output frame side by side with a bicubic x4 of its input frame (bicubic on the left; the
// library's bicubic). Pure: frames in, frames out.
import type { Frame } from '../index.js';

/** Two RGB frames of one height and sample type side by side: `left` then `right`. */
export function sideBySide(left: Frame, right: Frame): Frame {
  if (left.height !== right.height) throw new Error(`side by side: heights ${left.height} and ${right.height}`);
  const W = left.width + right.width;
  const H = left.height;
  const out = right.data instanceof Uint16Array ? new Uint16Array(W * H * 3) : new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    out.set(left.data.subarray(y * left.width * 3, (y + 1) * left.width * 3), y * W * 3);
    out.set(right.data.subarray(y * right.width * 3, (y + 1) * right.width * 3), (y * W + left.width) * 3);
  }
  return { width: W, height: H, data: out, channels: 3 };
}
