// The Matroska stream the encoder's ffmpeg reads: ffprobe must see every frame at the timestamp written
// (variable intervals, an offset start, 8 and 16 bits) and ffmpeg must decode the pixels written, bit for bit.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mkvFrameHeader, mkvHeader, ticksToNs } from '../../src/node/mkv.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msvsr-mkv-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(file: string, w: number, h: number, bits: 8 | 16, ns: bigint[], pixels: (i: number) => Uint8Array): void {
  const parts: Uint8Array[] = [mkvHeader({ width: w, height: h, bits, frameNs: 40e6 })];
  ns.forEach((t, i) => {
    const p = pixels(i);
    parts.push(mkvFrameHeader(t, p.length), p);
  });
  fs.writeFileSync(file, Buffer.concat(parts));
}

function probe(file: string): { stream: Record<string, unknown>; pts: number[] } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_streams', '-show_entries', 'frame=pts', '-of', 'json', file], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const j = JSON.parse(r.stdout) as { streams: Array<Record<string, unknown>>; frames: Array<{ pts: number }> };
  return { stream: j.streams[0], pts: j.frames.map((f) => f.pts) };
}

describe('Matroska raw RGB writer', () => {
  it('8-bit: variable frame intervals and a start offset come back as written; pixels decode unchanged', () => {
    const file = path.join(dir, 'vfr8.mkv');
    const ns = [500, 540, 580, 740, 745, 1000].map((ms) => BigInt(ms) * 1_000_000n);
    const px = (i: number) => Uint8Array.from({ length: 4 * 3 * 3 }, (_, k) => (k * 17 + i * 5) & 255);
    write(file, 4, 3, 8, ns, px);
    const p = probe(file);
    expect(p.stream).toMatchObject({ codec_name: 'rawvideo', pix_fmt: 'rgb24', width: 4, height: 3, time_base: '1/1000000000', r_frame_rate: '25/1' });
    expect(p.pts).toEqual(ns.map(Number));
    const d = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 20 });
    expect(Buffer.compare(d.stdout, Buffer.concat(ns.map((_, i) => px(i))))).toBe(0);
  });

  it('16-bit: rgb48le, decoded bit for bit', () => {
    const file = path.join(dir, 'f16.mkv');
    const words = (i: number) => Uint16Array.from({ length: 2 * 2 * 3 }, (_, k) => (k * 4099 + i * 977) & 65535);
    write(file, 2, 2, 16, [0n, 33_366_666n], (i) => new Uint8Array(words(i).buffer));
    const p = probe(file);
    expect(p.stream).toMatchObject({ pix_fmt: 'rgb48le', width: 2, height: 2 });
    expect(p.pts).toEqual([0, 33_366_666]);
    const d = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb48le', '-'], {
      maxBuffer: 1 << 20,
    });
    expect(Array.from(new Uint16Array(d.stdout.buffer, d.stdout.byteOffset, d.stdout.length / 2))).toEqual([...words(0), ...words(1)]);
  });

  it('ticks to ns: exact, rounded to nearest, and back to the same tick for time bases of 1 ns or more', () => {
    expect(ticksToNs(1, { num: 1, den: 90000 })).toBe(11111n); // 11111.1
    expect(ticksToNs(5, { num: 1, den: 90000 })).toBe(55556n); // 55555.6
    expect(ticksToNs(1001, { num: 1, den: 30000 })).toBe(33366667n); // 33366666.7
    expect(ticksToNs(-3, { num: 1, den: 1000 })).toBe(-3000000n);
    expect(ticksToNs(2, { num: 1001, den: 24000 })).toBe(83416667n);
    for (const tb of [
      { num: 1, den: 90000 },
      { num: 1, den: 30000 },
      { num: 1001, den: 60000 },
      { num: 1, den: 1000000000 },
    ]) {
      for (const t of [0, 1, 7, 123456789, 2 ** 40]) {
        const ns = ticksToNs(t, tb);
        expect(Math.round((Number(ns) * tb.den) / (tb.num * 1e9)), `${t} ticks of ${tb.num}/${tb.den}`).toBe(t);
      }
    }
  });
});
