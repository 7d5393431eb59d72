// Shared helpers of the weights tests.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { WeightsError } from '../../src/weights/errors.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'weights');
/** The full-size random-weight PP-MSVSR file written with tools/reference (protocol 4). */
export const FULL_PDPARAMS = process.env.MSVSR_FULL_PDPARAMS ?? path.join(ROOT, 'test', 'fixtures', 'msvsr_random.pdparams');

export function fixture(name: string): Uint8Array {
  const b = readFileSync(path.join(FIXTURES, name));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function readBytes(file: string): Uint8Array {
  const b = readFileSync(file);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export interface ExpectedArray {
  shape: number[];
  dtype: string;
  values: number[];
}
export const expected: Record<string, Record<string, ExpectedArray>> & { markers: Record<string, string> } = JSON.parse(
  readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8'),
);

/** Runs fn, asserts it throws a WeightsError (and nothing else) whose message matches every pattern. */
export function expectWeightsError(fn: () => unknown, ...patterns: (RegExp | string)[]): WeightsError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a WeightsError').toBeInstanceOf(WeightsError);
  const msg = (err as Error).message;
  for (const p of patterns) {
    if (typeof p === 'string') expect(msg).toContain(p);
    else expect(msg).toMatch(p);
  }
  return err as WeightsError;
}

/** Bytes from a mix of numbers (single bytes) and strings (latin-1 text). */
export function bytesOf(...parts: (number | string | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (let i = 0; i < p.length; i++) out.push(p.charCodeAt(i));
    else out.push(...p);
  }
  return new Uint8Array(out);
}

export function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

export function u64le(n: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}
