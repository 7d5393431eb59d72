// Raw float data → Float32Array: IEEE binary32 and binary16 bytes of either endianness, as numpy arrays in a
// .pdparams and safetensors files store them.
import { fromHalf } from '../numeric/half.js';

/** True when this machine stores numbers little-endian (every WebGPU platform in practice). */
export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let halfTable: Float32Array | null = null;

function halfToFloatTable(): Float32Array {
  if (!halfTable) {
    const t = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = fromHalf(h);
    halfTable = t;
  }
  return halfTable;
}

/** Decodes little- or big-endian float32 bytes. */
export function decodeF32(raw: Uint8Array, littleEndian: boolean): Float32Array {
  const n = raw.length >>> 2;
  const out = new Float32Array(n);
  if (littleEndian === HOST_LE) new Uint8Array(out.buffer).set(raw.subarray(0, n * 4));
  else {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, littleEndian);
  }
  return out;
}

/** Decodes little- or big-endian IEEE binary16 bytes into float32 (exact: every half is a float). */
export function decodeF16(raw: Uint8Array, littleEndian: boolean): Float32Array {
  const n = raw.length >>> 1;
  const out = new Float32Array(n);
  const t = halfToFloatTable();
  if (littleEndian) for (let i = 0; i < n; i++) out[i] = t[raw[2 * i] | (raw[2 * i + 1] << 8)];
  else for (let i = 0; i < n; i++) out[i] = t[(raw[2 * i] << 8) | raw[2 * i + 1]];
  return out;
}
