// The state dict inside an unpickled .pdparams, as paddle.save (paddle.framework.io._pickle_save) writes
// it: `{'generator': {name: ndarray}}` in PaddleGAN's checkpoints (other top-level keys such as 'epoch' or
// optimizer dicts are ignored), or a flat `{name: ndarray}`; values may also be Paddle 2.1's
// `(name, ndarray)` tuples. paddle.save's bookkeeping keys are handled: `StructuredToParameterName@@` is
// dropped, `UnpackBigParamInfor@@` (big arrays split into slices by protocol 2/3 writers, see
// _unpack_saved_dict) is reassembled.
import type { Precision } from '../numeric/precision.js';
import { WeightsError, clip } from './errors.js';
import type { NamedTensor } from './named-tensor.js';
import { NdArray, ndarrayToFloat32 } from './numpy.js';
import { unpickle } from './pickle.js';
import { PyDict, PyList, PyTuple, describe, type PyValue } from './pickle-values.js';

export const NAME_TABLE_KEY = 'StructuredToParameterName@@';
export const BIG_PARAM_KEY = 'UnpackBigParamInfor@@';

export interface PdparamsContents {
  tensors: Map<string, NamedTensor>;
  /** How each tensor was stored. */
  dtypes: Map<string, Precision>;
  /** The pickle protocol of the file. */
  protocol: number;
  /** 'generator' when the tensors came from the generator sub-dict, 'flat' otherwise. */
  layout: 'generator' | 'flat';
  /** Top-level keys that were ignored (e.g. 'epoch', optimizer state). */
  ignoredKeys: string[];
}

/** Parses a .pdparams file into named float32 tensors (no architecture check; see load.ts). */
export function readPdparams(bytes: Uint8Array, file: string): PdparamsContents {
  const { value, protocol } = unpickle(bytes, file);
  const { dict, layout, ignoredKeys } = pickStateDict(value, file);
  const arrays = arraysOf(dict, file, bytes.length);
  // Every array's data occupies its own bytes of the file: anything else means the pickle refers to the same
  // bytes many times, which a real file never does and which could multiply memory.
  let total = 0;
  for (const a of arrays.values()) total += a.data?.length ?? 0;
  if (total > bytes.length)
    throw new WeightsError(`${file}: the tensors' data adds up to ${total} bytes, more than the ${bytes.length}-byte file holds (shared data references)`);
  const tensors = new Map<string, NamedTensor>();
  const dtypes = new Map<string, Precision>();
  const problems: string[] = [];
  for (const [name, a] of arrays) {
    try {
      const { data, dtype } = ndarrayToFloat32(a, `tensor '${clip(name)}'`);
      tensors.set(name, { shape: a.shape.slice(), data });
      dtypes.set(name, dtype);
    } catch (e) {
      if (!(e instanceof WeightsError)) throw e;
      problems.push(e.message);
    }
  }
  if (problems.length)
    throw new WeightsError(
      `${file}: ${problems.length} tensor(s) cannot be used:\n  ${problems.slice(0, 200).join('\n  ')}${problems.length > 200 ? `\n  … and ${problems.length - 200} more` : ''}`,
    );
  return { tensors, dtypes, protocol, layout, ignoredKeys };
}

function keyName(k: PyValue): string {
  return typeof k === 'string' ? `'${clip(k, 60)}'` : describe(k);
}

function pickStateDict(root: PyValue, file: string): { dict: PyDict; layout: 'generator' | 'flat'; ignoredKeys: string[] } {
  if (!(root instanceof PyDict)) throw new WeightsError(`${file}: the pickle holds a ${describe(root)}, not a dict of weights`);
  const gen = root.get('generator');
  if (gen !== undefined) {
    if (!(gen instanceof PyDict)) throw new WeightsError(`${file}: 'generator' is a ${describe(gen)}, not a dict of weights`);
    const ignoredKeys = [...root.map.keys()].filter((k) => k !== 'generator').map((k) => (typeof k === 'string' ? k : describe(k)));
    return { dict: gen, layout: 'generator', ignoredKeys };
  }
  for (const v of root.map.values()) {
    if (v instanceof NdArray || isNamedArray(v)) return { dict: root, layout: 'flat', ignoredKeys: [] };
  }
  const keys = [...root.map.keys()].slice(0, 10).map(keyName).join(', ');
  throw new WeightsError(`${file}: no 'generator' entry and no arrays at the top level (keys: ${keys || 'none'}); this is not a PaddleGAN weights file`);
}

function isNamedArray(v: PyValue): v is PyTuple {
  return v instanceof PyTuple && v.items.length === 2 && typeof v.items[0] === 'string' && v.items[1] instanceof NdArray;
}

function arraysOf(dict: PyDict, file: string, limit: number): Map<string, NdArray> {
  const out = new Map<string, NdArray>();
  const bad: string[] = [];
  let bigInfo: PyValue | undefined;
  for (const [k, v] of dict.map) {
    if (k === NAME_TABLE_KEY) continue;
    if (k === BIG_PARAM_KEY) {
      bigInfo = v;
      continue;
    }
    if (typeof k !== 'string') {
      bad.push(`key ${keyName(k)} is not a string`);
      continue;
    }
    if (v instanceof NdArray) out.set(k, v);
    else if (isNamedArray(v)) out.set(k, v.items[1] as NdArray);
    else bad.push(`'${clip(k)}' is a ${describe(v)}, not an array`);
  }
  if (bad.length)
    throw new WeightsError(
      `${file}: the state dict has ${bad.length} entr${bad.length === 1 ? 'y' : 'ies'} that are not arrays:\n  ${bad.slice(0, 200).join('\n  ')}${bad.length > 200 ? `\n  … and ${bad.length - 200} more` : ''}`,
    );
  if (bigInfo !== undefined) joinBigParams(out, bigInfo, file, limit);
  return out;
}

/**
 * paddle's _unpack_saved_dict (protocol 2/3 only): a big array `k` is stored flattened as slices
 * `k@@.0`, `k@@.1`, … and `UnpackBigParamInfor@@[k] = {'OriginShape': shape, 'slices': [names]}`.
 */
function joinBigParams(arrays: Map<string, NdArray>, info: PyValue, file: string, limit: number): void {
  if (!(info instanceof PyDict)) throw new WeightsError(`${file}: '${BIG_PARAM_KEY}' is a ${describe(info)}, not a dict`);
  const used = new Set<string>();
  let budget = limit;
  for (const [k, v] of info.map) {
    const what = `${file}: '${BIG_PARAM_KEY}' entry ${keyName(k)}`;
    if (typeof k !== 'string' || !(v instanceof PyDict)) throw new WeightsError(`${what} is malformed`);
    const shapeV = v.get('OriginShape');
    const slicesV = v.get('slices');
    if (!(shapeV instanceof PyTuple || shapeV instanceof PyList) || !(slicesV instanceof PyList || slicesV instanceof PyTuple))
      throw new WeightsError(`${what} lacks OriginShape or slices`);
    const shape: number[] = [];
    let count = 1;
    for (const d of shapeV.items) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw new WeightsError(`${what} has an invalid OriginShape`);
      shape.push(d);
      count *= d;
    }
    const parts: NdArray[] = [];
    for (const s of slicesV.items) {
      const a = typeof s === 'string' ? arrays.get(s) : undefined;
      if (!a?.built || !a.data || !a.dtype) throw new WeightsError(`${what} names slice ${keyName(s)}, which is not in the file`);
      if (used.has(s as string)) throw new WeightsError(`${what} uses slice ${keyName(s)} twice`);
      used.add(s as string);
      if (a.fortran && a.shape.length > 1) throw new WeightsError(`${what}: slice ${keyName(s)} is not a flat array`);
      if (a.dtype.descr !== parts[0]?.dtype?.descr && parts.length) throw new WeightsError(`${what}: slices have different dtypes`);
      parts.push(a);
    }
    if (!parts.length) throw new WeightsError(`${what} has no slices`);
    const dtype = parts[0].dtype!;
    const total = parts.reduce((n, p) => n + p.data!.length, 0);
    if (total !== count * dtype.itemsize)
      throw new WeightsError(`${what}: slices hold ${total} bytes, OriginShape (${shape.join(', ')}) needs ${count * dtype.itemsize}`);
    if (total > budget) throw new WeightsError(`${what}: slices add up to more bytes than the file holds (shared data references)`);
    budget -= total;
    const data = new Uint8Array(total);
    let off = 0;
    for (const p of parts) {
      data.set(p.data!, off);
      off += p.data!.length;
    }
    const joined = new NdArray();
    joined.shape = shape;
    joined.dtype = dtype;
    joined.data = data;
    joined.built = true;
    for (const s of slicesV.items) arrays.delete(s as string);
    arrays.set(k, joined);
  }
}
