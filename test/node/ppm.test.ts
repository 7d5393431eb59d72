// The PPM splitter behind `msvsr upscale <video>`: ffmpeg's frames come in pieces of any size; the splitter
// must give the same frames however the stream is cut, and the same errors as before on bad streams.
import { describe, expect, it } from 'vitest';
import { PpmSplitter, type RgbFrame } from '../../src/node/ppm.js';

const SRC = 'in.mp4';

function rgb(width: number, height: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 7 + seed * 31) & 255);
}

function ppm(width: number, height: number, data: Uint8Array, header = `P6\n${width} ${height}\n255\n`): Uint8Array {
  const h = new TextEncoder().encode(header);
  const r = new Uint8Array(h.length + data.length);
  r.set(h);
  r.set(data, h.length);
  return r;
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const r = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    r.set(p, o);
    o += p.length;
  }
  return r;
}

/** Pushes `pieces` in order, then ends: every frame produced. */
function split(...pieces: Uint8Array[]): RgbFrame[] {
  const s = new PpmSplitter(SRC);
  const out = pieces.flatMap((p) => s.push(p));
  s.end();
  return out;
}

const frame = (width: number, height: number, data: Uint8Array): RgbFrame => ({ width, height, data, channels: 3 });

const A = rgb(4, 3, 1);
const B = rgb(4, 3, 2);
const C = rgb(2, 5, 3);
const stream = cat(ppm(4, 3, A), ppm(4, 3, B, 'P6 4 3 255 '), ppm(2, 5, C, 'P6\t2\r\n5\n\n255\n'));
const expected = [frame(4, 3, A), frame(4, 3, B), frame(2, 5, C)];

describe('PpmSplitter', () => {
  it('one frame in one piece', () => {
    expect(split(ppm(4, 3, A))).toEqual([frame(4, 3, A)]);
  });

  it('many frames in one piece, of two sizes, with the header spellings ffmpeg and others use', () => {
    expect(split(stream)).toEqual(expected);
  });

  it('the same frames when the stream is cut at any byte, header bytes included', () => {
    for (let i = 0; i <= stream.length; i++) {
      expect(split(stream.subarray(0, i), stream.subarray(i)), `cut at ${i}`).toEqual(expected);
    }
  });

  it('the same frames when the stream comes one byte at a time, or cut at any two places', () => {
    expect(split(...Array.from(stream, (b) => Uint8Array.of(b)))).toEqual(expected);
    const first = ppm(4, 3, A).length;
    for (let i = 0; i <= first + 20; i++) {
      for (let j = i; j <= Math.min(stream.length, first + 30); j++) {
        expect(split(stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j))).toEqual(expected);
      }
    }
  });

  it('16-bit frames (maxval 65535, big-endian samples) among 8-bit ones, however the stream is cut', () => {
    // 2x1 pixels: samples 0x0102 0xfffe 0x0000 | 0x8000 0x00ff 0x1234, written most significant byte first
    const words = [0x0102, 0xfffe, 0x0000, 0x8000, 0x00ff, 0x1234];
    const be = Uint8Array.from(words.flatMap((w) => [w >> 8, w & 255]));
    const s16 = cat(ppm(4, 3, A), ppm(2, 1, be, 'P6\n2 1\n65535\n'), ppm(4, 3, B));
    const want: RgbFrame[] = [frame(4, 3, A), { width: 2, height: 1, data: Uint16Array.from(words), channels: 3 }, frame(4, 3, B)];
    for (let i = 0; i <= s16.length; i++) expect(split(s16.subarray(0, i), s16.subarray(i)), `cut at ${i}`).toEqual(want);
  });

  it('empty pieces change nothing', () => {
    const s = new PpmSplitter(SRC);
    expect(s.push(new Uint8Array(0))).toEqual([]);
    expect(s.push(ppm(4, 3, A).subarray(0, 5))).toEqual([]);
    expect(s.push(new Uint8Array(0))).toEqual([]);
    expect(s.push(ppm(4, 3, A).subarray(5))).toEqual([frame(4, 3, A)]);
    expect(s.push(new Uint8Array(0))).toEqual([]);
    s.end();
    expect(s.frames).toBe(1);
  });

  it('frames are copies: the pieces may be reused by the caller', () => {
    const piece = ppm(4, 3, A);
    const s = new PpmSplitter(SRC);
    const head = piece.slice(0, 3);
    expect(s.push(head)).toEqual([]);
    head.fill(0); // a header kept across pieces must not be a view of the caller's buffer
    const [f] = s.push(piece.slice(3));
    piece.fill(0);
    expect(f).toEqual(frame(4, 3, A));
  });

  it('no data at all: no frames, no error', () => {
    expect(split()).toEqual([]);
  });

  const notPpm = `${SRC}: unexpected data from ffmpeg's decoder (not a PPM frame)`;
  const bad: Array<[string, Uint8Array, string]> = [
    ['text', new TextEncoder().encode('hello, world'), notPpm],
    ['a PGM (P5) frame', ppm(4, 3, A, 'P5\n4 3\n255\n'), notPpm],
    ['raw RGB without a header', A, notPpm],
    ['a header that never ends', new TextEncoder().encode(`P6 ${'1'.repeat(70)}`), notPpm],
    ['garbage after a good frame', cat(ppm(4, 3, A), new TextEncoder().encode('xx')), notPpm],
    ['maxval 1023', ppm(4, 3, A, 'P6\n4 3\n1023\n'), `${SRC}: ffmpeg produced 1023-level frames, expected 8 or 16 bits`],
    ['maxval 15', ppm(4, 3, A, 'P6 4 3 15\n'), `${SRC}: ffmpeg produced 15-level frames, expected 8 or 16 bits`],
  ];
  for (const [name, bytes, msg] of bad) {
    it(`${name}: "${msg.slice(SRC.length + 2)}", however it is cut`, () => {
      expect(() => split(bytes)).toThrow(msg);
      expect(() => split(...Array.from(bytes, (b) => Uint8Array.of(b)))).toThrow(msg);
      try {
        split(bytes);
      } catch (e) {
        expect((e as Error).name).toBe('CliError');
        expect((e as Error).message).toBe(msg);
      }
    });
  }

  const truncated: Array<[string, Uint8Array, number]> = [
    ['inside the first header', ppm(4, 3, A).subarray(0, 6), 0],
    ['after the first header', ppm(4, 3, A).subarray(0, 11), 0],
    ['inside the first frame', ppm(4, 3, A).subarray(0, 20), 0],
    ['one byte short', ppm(4, 3, A).subarray(0, ppm(4, 3, A).length - 1), 0],
    ['a single byte', Uint8Array.of(0x50), 0],
    ['inside the third frame', stream.subarray(0, stream.length - 1), 2],
    ['inside the second header', cat(ppm(4, 3, A), new TextEncoder().encode('P6 4')), 1],
  ];
  for (const [name, bytes, index] of truncated) {
    it(`the stream ends ${name}: "ended inside frame ${index}" from end(), after the whole frames`, () => {
      const s = new PpmSplitter(SRC);
      const got = s.push(bytes);
      expect(got.length).toBe(index);
      expect(() => s.end()).toThrow(`${SRC}: ffmpeg's output ended inside frame ${index}`);
    });
  }
});
