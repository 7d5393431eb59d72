// The TS seeded weight generator must reproduce tools/reference/seeded.py bit for bit: fixtures whose
// weights are not stored (PP-MSVSR-L) are regenerated from their seed on this side.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from '../src/weights/safetensors.js';
import { fnv1a32, seededStateDict, seededTensor } from '../src/weights/seeded.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function firstMismatch(got: Float32Array, want: Float32Array): number {
  const g = bits(got);
  const w = bits(want);
  for (let i = 0; i < g.length; i++) if (g[i] !== w[i]) return i;
  return -1;
}

describe('seededTensor (TS twin of tools/reference/seeded.py)', () => {
  const { tensors, metadata } = readSafetensors(readFileSync(fixture('seeded_check.safetensors')), 'seeded_check.safetensors');

  it('fixture holds both seeds and the same algorithm version', () => {
    expect(metadata.weights_algo).toBe('seeded-v1');
    const seeds = new Set([...tensors.keys()].map((k) => k.slice(0, k.indexOf('/'))));
    expect([...seeds].sort()).toEqual(['0', String(0xdeadbeef)]);
    expect(tensors.size).toBeGreaterThanOrEqual(20);
  });

  for (const [key, t] of tensors) {
    it(`matches Python bit for bit: ${key} [${t.shape}]`, () => {
      const slash = key.indexOf('/');
      const seed = Number(key.slice(0, slash));
      const name = key.slice(slash + 1);
      const got = seededTensor(seed, name, t.shape);
      expect(got.length).toBe(t.data.length);
      const i = firstMismatch(got, t.data);
      expect(i, i < 0 ? '' : `element ${i}: ${got[i]} vs ${t.data[i]}`).toBe(-1);
    });
  }

  it('puts the exact ImageNet constants in spynet.mean / spynet.std', () => {
    expect([...seededTensor(7, 'spynet.mean', [1, 3, 1, 1])]).toEqual([0.485, 0.456, 0.406].map(Math.fround));
    expect([...seededTensor(7, 'spynet.std', [1, 3, 1, 1])]).toEqual([0.229, 0.224, 0.225].map(Math.fround));
  });

  it('hashes names as UTF-8 (FNV-1a test vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('rejects seeds outside uint32', () => {
    expect(() => seededTensor(-1, 'x.weight', [1])).toThrow(RangeError);
    expect(() => seededTensor(2 ** 32, 'x.weight', [1])).toThrow(RangeError);
    expect(() => seededTensor(1.5, 'x.weight', [1])).toThrow(RangeError);
  });
});

// Whole state dicts: every golden case records the weights' [name, shape] manifest and the sha256 of
// their little-endian float32 bytes in manifest order; regenerating them here must give the same hash.
describe('seeded state dicts of the golden fixtures', () => {
  for (const file of ['msvsr_t2_32x48.safetensors', 'msvsr_l_t3_24x32.safetensors']) {
    it(`reproduces the weights of ${file}`, () => {
      const { metadata } = readSafetensors(readFileSync(fixture(file)), file);
      const manifest = JSON.parse(metadata.weights_manifest) as [string, number[]][];
      expect(manifest.length).toBe(metadata.config === 'msvsr_l' ? 450 : 248);
      const sd = seededStateDict(Number(metadata.weights_seed), manifest);
      const h = createHash('sha256');
      for (const [name] of manifest) {
        const d = sd.get(name)!.data;
        // little-endian hosts only (every platform Node runs on in practice)
        h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      }
      expect(h.digest('hex')).toBe(metadata.weights_sha256);
    });
  }
});
