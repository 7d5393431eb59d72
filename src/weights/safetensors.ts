// safetensors (Hugging Face layout): u64 little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {...}}, then raw little-endian data.
import { fromHalf, toHalf } from '../graph/half.js';

export class WeightsError extends Error {
  override name = 'WeightsError';
}

export type StDType = 'F32' | 'F16';

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

const MAX_HEADER = 100 * 1024 * 1024;

export function readSafetensors(bytes: Uint8Array, file = 'safetensors'): { tensors: Map<string, NamedTensor>; dtypes: Map<string, StDType>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new WeightsError(`${file}: ${bytes.length} bytes is too short for a safetensors header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_HEADER, bytes.length - 8))) {
    throw new WeightsError(`${file}: header length ${n} exceeds the file (${bytes.length} bytes)`);
  }
  const hlen = Number(n);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + hlen)));
  } catch (e) {
    throw new WeightsError(`${file}: header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new WeightsError(`${file}: header is not a JSON object`);
  const base = 8 + hlen;
  const dataLen = bytes.length - base;
  const tensors = new Map<string, NamedTensor>();
  const dtypes = new Map<string, StDType>();
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = info as Record<string, string>;
      continue;
    }
    const t = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (t.dtype !== 'F32' && t.dtype !== 'F16') throw new WeightsError(`${file}: tensor '${name}' has dtype ${String(t.dtype)}; only F32 and F16 are supported`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new WeightsError(`${file}: tensor '${name}' has an invalid shape`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1] || off[1] > dataLen) {
      throw new WeightsError(`${file}: tensor '${name}' has data_offsets ${JSON.stringify(off)} outside the ${dataLen}-byte data section`);
    }
    const count = (t.shape as number[]).reduce((a, b) => a * b, 1);
    const esize = t.dtype === 'F32' ? 4 : 2;
    if (off[1] - off[0] !== count * esize) {
      throw new WeightsError(`${file}: tensor '${name}' shape [${t.shape}] needs ${count * esize} bytes, data_offsets give ${off[1] - off[0]}`);
    }
    const data = new Float32Array(count);
    const src = new DataView(bytes.buffer, bytes.byteOffset + base + off[0], off[1] - off[0]);
    if (t.dtype === 'F32') for (let i = 0; i < count; i++) data[i] = src.getFloat32(4 * i, true);
    else for (let i = 0; i < count; i++) data[i] = fromHalf(src.getUint16(2 * i, true));
    tensors.set(name, { shape: t.shape as number[], data });
    dtypes.set(name, t.dtype);
  }
  return { tensors, dtypes, metadata };
}

export function writeSafetensors(tensors: Map<string, NamedTensor>, dtype: StDType = 'F32', metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  const esize = dtype === 'F32' ? 4 : 2;
  let off = 0;
  for (const [name, t] of tensors) {
    const n = t.data.length * esize;
    header[name] = { dtype, shape: t.shape, data_offsets: [off, off + n] };
    off += n;
  }
  if (metadata) header.__metadata__ = metadata;
  let h = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(h.length / 8) * 8;
  if (padded !== h.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(h);
    h = p;
  }
  const out = new Uint8Array(8 + h.length + off);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  let p = 8 + h.length;
  for (const t of tensors.values()) {
    if (dtype === 'F32') for (let i = 0; i < t.data.length; i++, p += 4) dv.setFloat32(p, t.data[i], true);
    else for (let i = 0; i < t.data.length; i++, p += 2) dv.setUint16(p, toHalf(t.data[i]), true);
  }
  return out;
}
