// Every PNG a user may have, read as the network's 8-bit RGB (no GPU here).
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { decodePng, encodePng, readPngHeader } from '../../src/node/png.js';
import { naturalCompare } from '../../src/node/files.js';
import { writePng } from './helpers.js';
import { pngCases } from './pngcases.js';

const W = 7; // odd, so sub-byte rows end mid-byte
const H = 5;

describe('PNG input: every colour type and bit depth -> 8-bit RGB', () => {
  for (const c of pngCases(W, H)) {
    it(c.name, () => {
      const bytes = writePng(c.png);
      // our writer's file is a valid PNG for an independent decoder too
      expect(() => PNG.sync.read(bytes)).not.toThrow();
      const img = decodePng(new Uint8Array(bytes), c.name);
      expect(img.width).toBe(W);
      expect(img.height).toBe(H);
      expect(img.header).toMatchObject({ colorType: c.png.colorType, bitDepth: c.png.bitDepth });
      expect(Array.from(img.data)).toEqual(Array.from(c.rgb));
    });
  }

  it('16-bit -> 8-bit is round(v * 255 / 65535) for every v (no ties exist)', () => {
    const v = Array.from({ length: 65536 }, (_, i) => i);
    const bytes = writePng({ width: 256, height: 256, colorType: 0, bitDepth: 16, samples: v });
    const img = decodePng(new Uint8Array(bytes), 'ramp16');
    for (let i = 0; i < 65536; i++) if (img.data[i * 3] !== Math.round((i * 255) / 65535)) throw new Error(`v=${i}: ${img.data[i * 3]}`);
  });

  it('writes RGB PNGs that read back exactly', () => {
    const d = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const back = decodePng(new Uint8Array(encodePng({ width: 5, height: 3, data: d })), 'rt');
    expect(back.header.colorType).toBe(2);
    expect(Array.from(back.data)).toEqual(Array.from(d));
  });

  it('clear errors for what is not a PNG or is corrupt', () => {
    const good = writePng(pngCases(W, H)[0].png);
    expect(() => decodePng(new TextEncoder().encode('hello world, not a png'), 'x.png')).toThrow(/x.png: not a PNG file/);
    expect(() => decodePng(new Uint8Array(good.subarray(0, 20)), 't.png')).toThrow(/t.png: corrupt PNG/);
    expect(() => decodePng(new Uint8Array(good.subarray(0, good.length - 30)), 't.png')).toThrow(/t.png: corrupt PNG/);
    const badCrc = Buffer.from(good);
    badCrc[40] ^= 0xff; // inside IDAT
    expect(() => decodePng(new Uint8Array(badCrc), 'c.png')).toThrow(/c.png: corrupt PNG/);
    const badType = Buffer.from(good);
    badType[25] = 5;
    expect(() => readPngHeader(new Uint8Array(badType), 'h.png')).toThrow(/h.png: corrupt PNG \(invalid color type 5/);
  });
});

describe('natural sort', () => {
  it('numbers by value, zero padding, mixed names', () => {
    const names = ['10.png', '2.png', '1.png', 'frame_10.png', 'frame_9.png', '00000003.png', '0001.png', 'b.png', 'a.png', '100.png'];
    expect([...names].sort(naturalCompare)).toEqual([
      '1.png',
      '0001.png',
      '2.png',
      '00000003.png',
      '10.png',
      '100.png',
      'a.png',
      'b.png',
      'frame_9.png',
      'frame_10.png',
    ]);
  });
});
