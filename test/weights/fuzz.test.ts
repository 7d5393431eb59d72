// Seeded mutation fuzzing (tools/fuzz-weights.ts has the mutator; run it longer with
// `node dist/tools/fuzz-weights.js --cases N --seed S`). Each mutated file must load or throw a
// WeightsError — nothing else — within a time bound, and no allocation may be out of proportion to the file.
import { describe, expect, it } from 'vitest';
import { defaultInputs, fuzzCase, tryLoad, type FuzzInput } from '../../tools/fuzz-weights.js';
import { FULL_PDPARAMS, ROOT, readBytes } from './util.js';

/**
 * Runs fn while recording the largest typed array it constructs (in bytes) through the global constructors,
 * which is how src/weights allocates every buffer whose size comes from the file.
 */
function trackAllocations<T>(fn: () => T): { result: T; maxBytes: number } {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = { Float32Array: g.Float32Array, Uint8Array: g.Uint8Array, Uint16Array: g.Uint16Array };
  let maxBytes = 0;
  for (const [name, ctor] of Object.entries(saved) as [string, { BYTES_PER_ELEMENT: number } & (new (...a: unknown[]) => unknown)][]) {
    g[name] = new Proxy(ctor, {
      construct(target, args, newTarget) {
        const a = args[0];
        const n =
          typeof a === 'number' ? a : a && typeof a === 'object' && 'length' in a && !(a instanceof ArrayBuffer) ? Number((a as { length: number }).length) : 0;
        maxBytes = Math.max(maxBytes, n * target.BYTES_PER_ELEMENT);
        return Reflect.construct(target, args, newTarget) as object;
      },
    });
  }
  try {
    return { result: fn(), maxBytes };
  } finally {
    Object.assign(g, saved);
  }
}

interface Stats {
  loaded: number;
  parsed: number;
  rejected: number;
  maxMs: number;
  maxAlloc: number;
}

function fuzz(inputs: FuzzInput[], seed: number, cases: number, limitMs: number): Stats {
  const s: Stats = { loaded: 0, parsed: 0, rejected: 0, maxMs: 0, maxAlloc: 0 };
  for (let i = 0; i < cases; i++) {
    const { input, kind, bytes } = fuzzCase(inputs, seed, i);
    const what = `case ${i} (${input.name}, ${kind}; replay: node dist/tools/fuzz-weights.js --seed ${seed} --first ${i} --cases 1)`;
    const t0 = performance.now();
    let outcome: ReturnType<typeof tryLoad>;
    let maxBytes: number;
    try {
      ({ result: outcome, maxBytes } = trackAllocations(() => tryLoad(bytes, input.name)));
    } catch (e) {
      // tryLoad passes WeightsErrors through as outcomes: anything thrown here is another exception type
      return expect.fail(`${what} threw ${(e as Error).name}: ${(e as Error).message}`);
    }
    const ms = performance.now() - t0;
    if (ms > limitMs) expect.fail(`${what} took ${ms.toFixed(1)} ms (limit ${limitMs} ms)`);
    // decoding may at most double the bytes (float16 → float32), plus the 256 KB f16 table and slack
    const allowed = 2 * bytes.length + (1 << 20);
    if (maxBytes > allowed) expect.fail(`${what} allocated ${maxBytes} bytes for a ${bytes.length}-byte file`);
    s[outcome]++;
    s.maxMs = Math.max(s.maxMs, ms);
    s.maxAlloc = Math.max(s.maxAlloc, maxBytes);
  }
  return s;
}

describe('fuzz', () => {
  it('3,000 mutations of small fixtures (pickle protocols 2/4/5, checkpoint, f16, big-endian, safetensors): load or WeightsError, each < 200 ms', () => {
    const s = fuzz(defaultInputs(ROOT), 20240611, 3000, 200);
    console.log(
      `fuzz small: 3000 cases, ${s.parsed} parsed, ${s.rejected} rejected; slowest ${s.maxMs.toFixed(1)} ms; largest typed array ${s.maxAlloc} bytes (the f16 lookup table is 262144)`,
    );
    expect(s.parsed + s.rejected).toBe(3000);
    expect(s.parsed).toBeGreaterThan(100); // many mutations still parse: the fuzz reaches past the first error
  });

  it('150 mutations of the full-size .pdparams: load or WeightsError, each < 1 s', () => {
    const s = fuzz([{ name: 'msvsr_random.pdparams', bytes: readBytes(FULL_PDPARAMS) }], 7, 150, 1000);
    console.log(
      `fuzz full-size: 150 cases, ${s.loaded} loaded, ${s.parsed} parsed but refused by the architecture check, ${s.rejected} rejected; slowest ${s.maxMs.toFixed(1)} ms`,
    );
    expect(s.loaded + s.parsed + s.rejected).toBe(150);
    expect(s.loaded).toBeGreaterThan(0); // flips in weight data still load
  });
});
