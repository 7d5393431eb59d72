// Mutation fuzzing of the weights readers: every mutated file must either load or fail with a WeightsError,
// quickly. test/weights/fuzz.test.ts runs a fixed seeded batch in CI; this script runs longer batches:
//
//   npm run build && node dist/tools/fuzz-weights.js --cases 100000 --seed 1 [--limit-ms 200] [file ...]
//
// With no files it fuzzes the small fixtures in test/fixtures/weights (several pickle protocols, a
// checkpoint, float16, big-endian) plus a safetensors file made from one of them. A case that throws
// anything but WeightsError, or takes longer than the limit, is reported with a command to replay it, and
// the exit status is 1.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WeightsError } from '../src/weights/errors.js';
import { readStateDict, readWeights } from '../src/weights/load.js';
import { OP } from '../src/weights/pickle-opcodes.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { mulberry32 } from '../src/weights/seeded.js';

export { mulberry32 };

/** Opcodes followed by a length (pickle) — targets for length corruption. */
const LENGTH_OPS = new Map<number, number>([
  [OP.SHORT_BINUNICODE, 1],
  [OP.SHORT_BINBYTES, 1],
  [OP.BINUNICODE, 4],
  [OP.BINBYTES, 4],
  [OP.BINUNICODE8, 8],
  [OP.BINBYTES8, 8],
  [OP.BYTEARRAY8, 8],
  [OP.FRAME, 8],
  [OP.LONG1, 1],
  [OP.LONG4, 4],
  [OP.BININT, 4], // shape dims
  [OP.BININT1, 1],
  [OP.BININT2, 2],
  [OP.BINGET, 1],
  [OP.LONG_BINGET, 4],
]);

const INTERESTING = [
  0,
  1,
  2,
  3,
  4,
  7,
  8,
  0x7f,
  0x80,
  0xff,
  0x100,
  0xffff,
  0x10000,
  0x7fffffff,
  0x80000000,
  0xffffffff,
  2 ** 32,
  2 ** 40,
  2 ** 53 - 1,
  2 ** 63,
  2 ** 64 - 1,
];

function writeLE(b: Uint8Array, at: number, width: number, v: number): void {
  let x = BigInt(Math.min(v, 2 ** 64 - 1)) & ((1n << BigInt(8 * width)) - 1n);
  for (let i = 0; i < width && at + i < b.length; i++, x >>= 8n) b[at + i] = Number(x & 0xffn);
}

export type MutationKind = 'flip' | 'bytes' | 'truncate' | 'insert' | 'delete' | 'length' | 'splice' | 'header';

/** One random mutation of `src` (never modifies it). */
export function mutate(src: Uint8Array, rnd: () => number): { kind: MutationKind; bytes: Uint8Array } {
  const int = (n: number) => Math.floor(rnd() * n);
  const kinds: MutationKind[] = ['flip', 'bytes', 'truncate', 'insert', 'delete', 'length', 'length', 'splice', 'header'];
  const kind = kinds[int(kinds.length)];
  const n = src.length;
  switch (kind) {
    case 'flip': {
      const b = src.slice();
      for (let k = 1 + int(4); k > 0; k--) {
        const i = int(n);
        b[i] ^= 1 << int(8);
      }
      return { kind, bytes: b };
    }
    case 'bytes': {
      const b = src.slice();
      for (let k = 1 + int(8); k > 0; k--) b[int(n)] = int(256);
      return { kind, bytes: b };
    }
    case 'truncate':
      return { kind, bytes: src.slice(0, int(n)) };
    case 'insert': {
      const at = int(n + 1);
      const ins = new Uint8Array(1 + int(16)).map(() => int(256));
      const b = new Uint8Array(n + ins.length);
      b.set(src.subarray(0, at));
      b.set(ins, at);
      b.set(src.subarray(at), at + ins.length);
      return { kind, bytes: b };
    }
    case 'delete': {
      const at = int(n);
      const len = 1 + int(16);
      const b = new Uint8Array(n - Math.min(len, n - at));
      b.set(src.subarray(0, at));
      b.set(src.subarray(at + len), at);
      return { kind, bytes: b };
    }
    case 'length': {
      // overwrite the argument of a length-bearing opcode with an interesting value
      const b = src.slice();
      const spots: number[] = [];
      for (let i = 0; i < n; i++) if (LENGTH_OPS.has(b[i])) spots.push(i);
      if (!spots.length) return { kind, bytes: b };
      const at = spots[int(spots.length)];
      const width = LENGTH_OPS.get(b[at])!;
      const v = rnd() < 0.7 ? INTERESTING[int(INTERESTING.length)] : int(2 * n + 16);
      writeLE(b, at + 1, width, v);
      return { kind, bytes: b };
    }
    case 'splice': {
      // copy a random chunk of the file over another place (duplicates opcodes, memo refs, frames)
      const b = src.slice();
      const len = 1 + int(Math.min(64, n));
      const from = int(Math.max(1, n - len));
      const to = int(Math.max(1, n - len));
      b.copyWithin(to, from, from + len);
      return { kind, bytes: b };
    }
    case 'header': {
      // the first 16 bytes: PROTO/FRAME of a pickle, the header length of a safetensors file
      const b = src.slice();
      const at = int(Math.min(16, n));
      const width = [1, 2, 4, 8][int(4)];
      writeLE(b, at, width, INTERESTING[int(INTERESTING.length)]);
      return { kind, bytes: b };
    }
  }
}

export interface FuzzInput {
  name: string;
  bytes: Uint8Array;
}

export interface FuzzFailure {
  case: number;
  input: string;
  kind: MutationKind;
  ms: number;
  error: string;
}

export interface FuzzReport {
  cases: number;
  /** Valid PP-MSVSR weights after the mutation. */
  loaded: number;
  /** Parsed, then refused by the architecture check (WeightsError). */
  parsed: number;
  /** Refused while parsing (WeightsError). */
  rejected: number;
  maxMs: number;
  failures: FuzzFailure[];
  kinds: Record<string, number>;
}

/**
 * Loads one file the way a user's load would: 'loaded' when it is valid PP-MSVSR weights, 'parsed' when its
 * tensors were read but the architecture check refused them (a WeightsError), 'rejected' on a WeightsError
 * while parsing. Anything else is thrown.
 */
export function tryLoad(bytes: Uint8Array, name: string): 'loaded' | 'parsed' | 'rejected' {
  try {
    readStateDict(bytes, name);
  } catch (e) {
    if (e instanceof WeightsError) return 'rejected';
    throw e;
  }
  try {
    readWeights(bytes, name);
    return 'loaded';
  } catch (e) {
    if (e instanceof WeightsError) return 'parsed';
    throw e;
  }
}

/** Case i of a run is fully determined by (seed, i): mutate(inputs[i % inputs.length], mulberry32(seed * 1e6 + i)). */
export function fuzzCase(inputs: readonly FuzzInput[], seed: number, i: number): { input: FuzzInput; kind: MutationKind; bytes: Uint8Array } {
  const input = inputs[i % inputs.length];
  const rnd = mulberry32((seed * 1000003 + i) >>> 0);
  const rounds = 1 + Math.floor(rnd() * 3);
  let bytes = input.bytes;
  let kind: MutationKind = 'flip';
  for (let r = 0; r < rounds; r++) ({ kind, bytes } = mutate(bytes, rnd));
  return { input, kind, bytes };
}

export function runFuzz(inputs: readonly FuzzInput[], opts: { cases: number; seed: number; limitMs: number; first?: number }): FuzzReport {
  const rep: FuzzReport = { cases: 0, loaded: 0, parsed: 0, rejected: 0, maxMs: 0, failures: [], kinds: {} };
  const first = opts.first ?? 0;
  for (let i = first; i < first + opts.cases; i++) {
    const { input, kind, bytes } = fuzzCase(inputs, opts.seed, i);
    rep.kinds[kind] = (rep.kinds[kind] ?? 0) + 1;
    const t0 = performance.now();
    let error = '';
    try {
      rep[tryLoad(bytes, input.name)]++;
    } catch (e) {
      error = `${e instanceof Error ? e.name : typeof e}: ${e instanceof Error ? e.message : String(e)}`.slice(0, 500);
    }
    const ms = performance.now() - t0;
    rep.maxMs = Math.max(rep.maxMs, ms);
    if (!error && ms > opts.limitMs) error = `took ${ms.toFixed(1)} ms (limit ${opts.limitMs} ms)`;
    if (error) rep.failures.push({ case: i, input: input.name, kind, ms, error });
    rep.cases++;
  }
  return rep;
}

/** The default corpus: small pickle fixtures of several protocols, plus a safetensors file. */
export function defaultInputs(root: string): FuzzInput[] {
  const dir = path.join(root, 'test', 'fixtures', 'weights');
  const names = [
    'mini_p2.pdparams',
    'mini_p4.pdparams',
    'mini_p5.pdparams',
    'mini_checkpoint_p2.pdparams',
    'mini_checkpoint_p4.pdparams',
    'mini_f16.pdparams',
    'mini_be_p2.pdparams',
    'mini_tuple.pdparams',
    'mini_bigparam.pdparams',
    'mini_fortran_p4.pdparams',
  ];
  const inputs: FuzzInput[] = names.map((n) => ({ name: n, bytes: new Uint8Array(fs.readFileSync(path.join(dir, n))) }));
  const t = new Map([
    ['a.weight', { shape: [2, 3, 3, 3], data: Float32Array.from({ length: 54 }, (_, i) => i / 7) }],
    ['a.bias', { shape: [2], data: new Float32Array([1, -1]) }],
  ]);
  inputs.push({ name: 'mini.safetensors', bytes: writeSafetensors(t, 'f32', { note: 'fuzz' }) });
  inputs.push({ name: 'mini_f16.safetensors', bytes: writeSafetensors(t, 'f16') });
  return inputs;
}

function main(argv: string[]): number {
  let cases = 10000;
  let seed = 1;
  let limitMs = 200;
  let first = 0;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--cases') cases = Number(argv[++i]);
    else if (a === '--seed') seed = Number(argv[++i]);
    else if (a === '--limit-ms') limitMs = Number(argv[++i]);
    else if (a === '--first') first = Number(argv[++i]);
    else if (a === '--help' || a === '-h') {
      console.log('usage: node dist/tools/fuzz-weights.js [--cases N] [--seed S] [--limit-ms MS] [--first I] [file ...]');
      return 0;
    } else files.push(a);
  }
  if (![cases, seed, limitMs, first].every((x) => Number.isInteger(x) && x >= 0)) {
    console.error('fuzz-weights: --cases, --seed, --limit-ms and --first take non-negative integers');
    return 2;
  }
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..'); // dist/tools → repo root
  const inputs = files.length ? files.map((f) => ({ name: path.basename(f), bytes: new Uint8Array(fs.readFileSync(f)) })) : defaultInputs(root);
  const t0 = performance.now();
  const rep = runFuzz(inputs, { cases, seed, limitMs, first });
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(
    `${rep.cases} cases (seed ${seed}, ${inputs.length} inputs) in ${s} s: ${rep.loaded} loaded, ${rep.parsed} parsed but refused by the architecture check, ${rep.rejected} rejected while parsing (all WeightsError), ${rep.failures.length} failures; slowest case ${rep.maxMs.toFixed(1)} ms`,
  );
  console.log(
    `mutations: ${Object.entries(rep.kinds)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  for (const f of rep.failures.slice(0, 20)) {
    console.log(`FAIL case ${f.case} (${f.input}, ${f.kind}, ${f.ms.toFixed(1)} ms): ${f.error}`);
    console.log(`  replay: node dist/tools/fuzz-weights.js --seed ${seed} --first ${f.case} --cases 1${files.length ? ` ${files.join(' ')}` : ''}`);
  }
  return rep.failures.length ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) process.exitCode = main(process.argv.slice(2));
