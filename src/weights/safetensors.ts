// safetensors (Hugging Face layout): u64 little-endian header length N, N bytes of JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}, then the raw little-endian
// data. The reader checks every field: the header fits the file and is a JSON object, each entry has exactly
// dtype/shape/data_offsets, the dtype is F32 or F16, the shape is sane and matches its byte range, and the
// byte ranges tile the data section exactly (no overlap, no gap, nothing after). Only F32 and F16 exist here.
import { WeightsError, clip } from './errors.js';
import { HOST_LE, decodeF16, decodeF32 } from './float-data.js';
import type { NamedTensor } from './named-tensor.js';
import { toHalf } from '../numeric/half.js';
import { bytesPerScalar, type Precision } from '../numeric/precision.js';

export { WeightsError } from './errors.js';

const MAX_HEADER = 100 * 1024 * 1024;
const MAX_NDIM = 32;
/** The header's dtype strings for the precisions this project reads and writes. */
const FORMAT_DTYPE: Record<Precision, 'F32' | 'F16'> = { f32: 'F32', f16: 'F16' };

export interface SafetensorsContents {
  tensors: Map<string, NamedTensor>;
  dtypes: Map<string, Precision>;
  metadata: Record<string, string>;
}

/** True when `bytes` starts like a safetensors file (u64 header length that fits, then '{'). */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getBigUint64(0, true);
  return n >= 2n && n <= BigInt(bytes.length - 8) && bytes[8] === 0x7b;
}

export function readSafetensors(bytes: Uint8Array, file = 'safetensors'): SafetensorsContents {
  if (bytes.length < 8) throw new WeightsError(`${file}: ${bytes.length} bytes is too short for a safetensors header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8))
    throw new WeightsError(`${file}: header length ${n} exceeds the file (${bytes.length} bytes): truncated or not safetensors`);
  if (n > BigInt(MAX_HEADER)) throw new WeightsError(`${file}: header length ${n} is larger than the ${MAX_HEADER}-byte limit`);
  const hlen = Number(n);
  if (hlen < 2 || bytes[8] !== 0x7b) throw new WeightsError(`${file}: safetensors header does not start with '{'`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + hlen)));
  } catch (e) {
    throw new WeightsError(`${file}: safetensors header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new WeightsError(`${file}: safetensors header is not a JSON object`);
  const base = 8 + hlen;
  const dataLen = bytes.length - base;
  let metadata: Record<string, string> = {};
  const entries: { name: string; dtype: Precision; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    const what = `${file}: tensor '${clip(name)}'`;
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) throw new WeightsError(`${file}: __metadata__ is not an object`);
      for (const [k, v] of Object.entries(info)) if (typeof v !== 'string') throw new WeightsError(`${file}: __metadata__ value '${clip(k)}' is not a string`);
      metadata = info as Record<string, string>;
      continue;
    }
    if (name === '') throw new WeightsError(`${file}: a tensor has an empty name`);
    if (typeof info !== 'object' || info === null || Array.isArray(info)) throw new WeightsError(`${what} is not described by an object`);
    const t = info as Record<string, unknown>;
    for (const k of Object.keys(t))
      if (k !== 'dtype' && k !== 'shape' && k !== 'data_offsets') throw new WeightsError(`${what} has an unknown field '${clip(k, 40)}'`);
    if (t.dtype !== 'F32' && t.dtype !== 'F16')
      throw new WeightsError(`${what} has dtype ${clip(JSON.stringify(t.dtype) ?? 'missing', 40)}; only F32 and F16 are supported`);
    const dtype: Precision = t.dtype === 'F32' ? 'f32' : 'f16';
    const shape = t.shape;
    if (!Array.isArray(shape) || shape.length > MAX_NDIM || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new WeightsError(`${what} has an invalid shape ${clip(JSON.stringify(shape) ?? 'missing', 80)}`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1] || off[1] > dataLen) {
      throw new WeightsError(`${what} has data_offsets ${clip(JSON.stringify(off) ?? 'missing', 80)} outside the ${dataLen}-byte data section`);
    }
    let count = 1;
    for (const d of shape as number[]) count *= d;
    const nbytes = count * bytesPerScalar(dtype);
    if (off[1] - off[0] !== nbytes)
      throw new WeightsError(
        `${what} has shape [${(shape as number[]).join(', ')}] (${nbytes} bytes of ${t.dtype}) but data_offsets span ${off[1] - off[0]} bytes`,
      );
    entries.push({ name, dtype, shape: shape as number[], begin: off[0], end: off[1] });
  }
  // The byte ranges must tile the data section: no overlaps (one region read twice), no gaps, no tail.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin < at) throw new WeightsError(`${file}: tensor '${clip(e.name)}' overlaps another tensor's data (bytes ${e.begin}–${e.end})`);
    if (e.begin > at) throw new WeightsError(`${file}: bytes ${at}–${e.begin} of the data section belong to no tensor`);
    at = e.end;
  }
  if (at !== dataLen) throw new WeightsError(`${file}: ${dataLen - at} bytes after the last tensor's data belong to no tensor`);
  const tensors = new Map<string, NamedTensor>();
  const dtypes = new Map<string, Precision>();
  for (const e of entries) {
    const raw = bytes.subarray(base + e.begin, base + e.end);
    tensors.set(e.name, { shape: e.shape.slice(), data: e.dtype === 'f32' ? decodeF32(raw, true) : decodeF16(raw, true) });
    dtypes.set(e.name, e.dtype);
  }
  return { tensors, dtypes, metadata };
}

/**
 * Serialises tensors (in the map's order) as safetensors. F16 rounds to nearest even; a finite value beyond
 * the f16 range (|x| > 65504) is refused rather than turned into infinity.
 */
export function writeSafetensors(tensors: ReadonlyMap<string, NamedTensor>, dtype: Precision = 'f32', metadata?: Record<string, string>): Uint8Array {
  if (dtype !== 'f32' && dtype !== 'f16') throw new WeightsError(`safetensors: cannot write dtype ${String(dtype)}`);
  const header: Record<string, unknown> = {};
  const esize = bytesPerScalar(dtype);
  let off = 0;
  for (const [name, t] of tensors) {
    if (name === '' || name === '__metadata__') throw new WeightsError(`safetensors: invalid tensor name '${clip(name)}'`);
    let count = 1;
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw new WeightsError(`safetensors: tensor '${clip(name)}' has an invalid shape [${t.shape.join(', ')}]`);
      count *= d;
    }
    if (count !== t.data.length) throw new WeightsError(`safetensors: tensor '${clip(name)}' has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    const n = t.data.length * esize;
    header[name] = { dtype: FORMAT_DTYPE[dtype], shape: t.shape, data_offsets: [off, off + n] };
    off += n;
  }
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new WeightsError(`safetensors: metadata '${clip(k)}' is not a string`);
    header.__metadata__ = metadata;
  }
  let h = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(h.length / 8) * 8; // keeps the data 8-byte aligned
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
  for (const [name, t] of tensors) {
    const d = t.data;
    if (dtype === 'f32') {
      if (HOST_LE) out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), p);
      else for (let i = 0; i < d.length; i++) dv.setFloat32(p + 4 * i, d[i], true);
      p += d.length * 4;
    } else {
      for (let i = 0; i < d.length; i++, p += 2) {
        const x = d[i];
        const hbits = toHalf(x);
        if ((hbits & 0x7fff) === 0x7c00 && Number.isFinite(x))
          throw new WeightsError(`safetensors: tensor '${clip(name)}' value ${x} at index ${i} is beyond the float16 range (±65504)`);
        out[p] = hbits & 0xff;
        out[p + 1] = hbits >>> 8;
      }
    }
  }
  return out;
}
