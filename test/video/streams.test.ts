// Video in, video out, nothing lost: every frame at its input timestamp (variable frame rate, start offset),
// every other stream carried (packets unchanged, or converted where the container needs it), chapters and
// metadata kept; what a container cannot hold refused before any work. Real files made by ffmpeg, checked
// with ffprobe, packet hashes and decoded frames. The weights make the network a bilinear x4 (helpers.ts),
// so the frames' order can be checked against the input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bilinearWeights, cli, decodeFloat, ensureBuilt, ffmpeg, fidelity, frameTimes, listAll, packetsMd5, probe, scratch } from './helpers.js';

const W = 32;
const H = 24;
let dir: string;
let weights: string;

/**
 * testsrc2 at 25 fps with two gaps (frames 4+ and 7+ later): a variable frame rate; the hue turns by 40° a
 * frame, so each frame's colours tell which frame it is.
 */
const VFR = "hue=h=40*n,setpts='PTS+if(gte(N\\,4)\\,0.1/TB\\,0)+if(gte(N\\,7)\\,0.05/TB\\,0)'";

beforeAll(() => {
  ensureBuilt();
  dir = scratch('video-streams');
  weights = bilinearWeights(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The output's video frames, downscaled, are each closest to the input frame of the same index. */
function expectFramesInOrder(input: string, output: string, n: number): void {
  const a = decodeFloat(input, W, H, { matrix: 'smpte170m', range: 'tv' });
  const b = decodeFloat(output, 4 * W, 4 * H, { matrix: 'smpte170m', range: 'tv' });
  expect(a).toHaveLength(n);
  expect(b).toHaveLength(n);
  for (let t = 0; t < n; t++) {
    const own = fidelity([a[t]], [b[t]], W, H).mean;
    for (const u of [t - 1, t + 1])
      if (u >= 0 && u < n) expect(own, `frame ${t} against input frames ${t} and ${u}`).toBeLessThan(fidelity([a[u]], [b[t]], W, H).mean / 2);
  }
}

describe('timestamps', () => {
  it('variable frame rate MKV with audio and a 0.5 s start: 12 frames at their input times, audio copied', async () => {
    const input = path.join(dir, 'vfr.mkv');
    ffmpeg([
      ...['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      ...['-frames:v', '12', '-t', '0.7', '-vf', VFR, '-fps_mode', 'passthrough', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac'],
      ...['-output_ts_offset', '0.5', input],
    ]);
    const out = path.join(dir, 'vfr_x4.mkv');
    const r = await cli(['upscale', input, '-o', out, '--weights', weights, '--chunk', '4', '--overlap', '0', '--segment-frames', '4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ frames: 12, kind: 'video', width: 4 * W, height: 4 * H });
    expect(j.video).toMatchObject({
      codec: 'libx264',
      pixFmt: 'yuv420p',
      range: [0, 12],
      inputFrames: 12,
      segments: 3,
      cuts: [],
      streams: ['#1 audio aac -> copy'],
    });
    const tin = frameTimes(input);
    const tout = frameTimes(out);
    // the input really is variable-rate: intervals of 40, 120 and 80 ms
    expect([...new Set(tin.seconds.slice(1).map((s, i) => Math.round((s - tin.seconds[i]) * 1000)))].sort((x, y) => x - y)).toEqual([40, 80, 120]);
    expect(tin.seconds[0]).toBeCloseTo(0.5, 9);
    expect(tout.seconds).toHaveLength(12);
    for (let i = 0; i < 12; i++) expect(Math.abs(tout.seconds[i] - tin.seconds[i]), `frame ${i}`).toBeLessThanOrEqual(tout.tb);
    const [pin, pout] = [probe(input), probe(out)];
    expect(pout.format.start_time).toBe(pin.format.start_time);
    expect(pout.streams.map((s) => [s.codec_type, s.codec_name])).toEqual([
      ['video', 'h264'],
      ['audio', 'aac'],
    ]);
    expect(packetsMd5(out, 'a:0')).toBe(packetsMd5(input, 'a:0'));
    expectFramesInOrder(input, out, 12);
    expect(listAll(dir).filter((f) => f.startsWith('.'))).toEqual([]); // no work folder, lock or scratch left
  });
});

/** The first packet's time of a stream, in seconds. */
function firstPacket(file: string, stream: string): number {
  const r = spawnSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', stream, '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', '-read_intervals', '%+#1', file],
    { encoding: 'utf8' },
  );
  return Number(r.stdout.trim().split('\n')[0].replace(/,$/, ''));
}

describe('streams, chapters, metadata', () => {
  let input: string;

  beforeAll(() => {
    // An MP4 with a variable-rate video, two audio tracks (eng "Main", fra), a text subtitle, two chapters and
    // file metadata.
    const srt = path.join(dir, 'subs.srt');
    fs.writeFileSync(srt, '1\n00:00:00,000 --> 00:00:00,200\nHello\n\n2\n00:00:00,200 --> 00:00:00,400\nWorld\n');
    const meta = path.join(dir, 'meta.txt');
    fs.writeFileSync(
      meta,
      ';FFMETADATA1\ntitle=msvsr streams test\ncomment=nothing lost\n' +
        '[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=200\ntitle=One\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=200\nEND=450\ntitle=Two\n',
    );
    input = path.join(dir, 'many.mp4');
    ffmpeg([
      ...['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=880:sample_rate=44100', '-i', srt, '-i', meta],
      ...['-map', '0:v', '-map', '1:a', '-map', '2:a', '-map', '3:s', '-map_metadata', '4', '-map_chapters', '4'],
      // -t, not -frames:v (which would end the file before the subtitle's cues): frames 0..9 start before 0.5 s
      ...['-t', '0.5', '-vf', VFR, '-fps_mode', 'passthrough', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-c:s', 'mov_text'],
      ...['-metadata:s:a:0', 'language=eng', '-metadata:s:a:0', 'title=Main', '-metadata:s:a:1', 'language=fra', '-metadata:s:s:0', 'language=eng'],
      ...['-disposition:a:1', '0', input],
    ]);
  });

  function expectCarried(out: string, subtitle: string): void {
    const [pin, pout] = [probe(input), probe(out)];
    // the input's chapters are also a QuickTime text track (a data stream): carried as chapters, not twice
    const layout = (p: typeof pin) =>
      p.streams
        .filter((s) => s.codec_type !== 'data')
        .map((s) => [s.codec_type, (s.tags?.language ?? 'und').replace('und', ''), s.tags?.title ?? '', (s.disposition as { default: number }).default]);
    expect(pin.streams.map((s) => s.codec_type)).toEqual(['video', 'audio', 'audio', 'subtitle', 'data']);
    expect(layout(pout)).toEqual(layout(pin));
    expect(pout.streams.filter((s) => s.codec_type !== 'data').map((s) => s.codec_name)).toEqual(['h264', 'aac', 'aac', subtitle]);
    expect(pout.streams.filter((s) => s.codec_type === 'data').length).toBe(out.endsWith('.mp4') ? 1 : 0); // the MP4 muxer's own chapter track
    expect(packetsMd5(out, 'a:0')).toBe(packetsMd5(input, 'a:0'));
    expect(packetsMd5(out, 'a:1')).toBe(packetsMd5(input, 'a:1'));
    expect(pout.chapters.map((c) => [Number(c.start_time), Number(c.end_time), c.tags?.title])).toEqual([
      [0, 0.2, 'One'],
      [0.2, 0.45, 'Two'],
    ]);
    const tags = Object.fromEntries(Object.entries(pout.format.tags ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    expect(tags).toMatchObject({ title: 'msvsr streams test', comment: 'nothing lost' });
    const [tin, tout] = [frameTimes(input), frameTimes(out)];
    expect(tout.seconds).toHaveLength(10);
    // Matroska cannot start a stream before 0, and the MP4's AAC tracks start 1024 samples early (encoder
    // delay, hidden by its edit list): ffmpeg moves the whole MKV later by the earliest of them. The video
    // and every audio track move together, so each frame is where it was relative to the audio.
    const shift = out.endsWith('.mkv') ? firstPacket(input, 'a:1') * -1 : 0;
    expect(shift).toBeCloseTo(out.endsWith('.mkv') ? 1024 / 44100 : 0, 3);
    for (let i = 0; i < 10; i++) expect(Math.abs(tout.seconds[i] - shift - tin.seconds[i]), `frame ${i}`).toBeLessThanOrEqual(tout.tb + (shift ? 0.0005 : 0));
    for (const a of ['a:0', 'a:1']) expect(firstPacket(out, a) - tout.seconds[0]).toBeCloseTo(firstPacket(input, a) - tin.seconds[0], 3);
  }

  it('MP4 -> MP4: both audio tracks, the subtitle (mov_text), chapters and metadata carried unchanged', async () => {
    const out = path.join(dir, 'many_x4.mp4');
    const r = await cli(['upscale', input, '-o', out, '--weights', weights, '--chunk', '5', '--overlap', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).video).toMatchObject({
      streams: ['#1 audio aac -> copy', '#2 audio aac -> copy', '#3 subtitles mov_text -> copy'],
      chapters: true,
    });
    expectCarried(out, 'mov_text');
    expect(packetsMd5(out, 's:0')).toBe(packetsMd5(input, 's:0'));
  });

  it('MP4 -> MKV: the mov_text subtitle becomes SubRip with the same cues, the rest is copied', async () => {
    const out = path.join(dir, 'many_x4.mkv');
    const r = await cli(['upscale', input, '-o', out, '--weights', weights, '--chunk', '5', '--overlap', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/stream #3 \(subtitle, mov_text, "eng"\) cannot be copied into \.mkv; converted to srt/);
    expectCarried(out, 'subrip');
    // the same cues, moved with the rest of the file (see expectCarried): 23 ms
    const cues = (f: string) => {
      const d = path.join(dir, `${path.basename(f)}.srt`);
      ffmpeg(['-i', f, '-map', '0:s:0', d]);
      const ms = (t: string) => {
        const [h, m, x] = t.split(':');
        return Math.round((Number(h) * 3600 + Number(m) * 60 + Number(x.replace(',', '.'))) * 1000);
      };
      return [...fs.readFileSync(d, 'utf8').matchAll(/(\S+) --> (\S+)\n([^\n]+)/g)].map((c) => [ms(c[1]), ms(c[2]), c[3]]);
    };
    expect(cues(input)).toEqual([
      [0, 200, 'Hello'],
      [200, 400, 'World'],
    ]);
    expect(cues(out)).toEqual([
      [23, 223, 'Hello'],
      [223, 423, 'World'],
    ]);
  });
});

/** A PGS (Blu-ray image) subtitle stream: two empty display sets (a presentation and an end segment each). */
function pgs(file: string): void {
  const seg = (pts: number, type: number, payload: number[]) => {
    const b = Buffer.alloc(13 + payload.length);
    b.write('PG', 0, 'latin1');
    b.writeUInt32BE(pts, 2);
    b.writeUInt32BE(0, 6);
    b[10] = type;
    b.writeUInt16BE(payload.length, 11);
    Buffer.from(payload).copy(b, 13);
    return b;
  };
  // PCS: 32x24, frame rate code 0x10, composition 0, epoch start, no palette update, palette 0, no objects
  const pcs = (n: number) => [0, 32, 0, 24, 0x10, 0, n, 0x80, 0, 0, 0];
  fs.writeFileSync(file, Buffer.concat([seg(0, 0x16, pcs(0)), seg(0, 0x80, []), seg(18000, 0x16, pcs(1)), seg(18000, 0x80, [])]));
}

describe('impossible combinations', () => {
  it('image subtitles into MP4: refused before any work, naming the stream and a container that holds it; --no-copy-streams gives the video alone', async () => {
    const sup = path.join(dir, 'subs.sup');
    pgs(sup);
    const input = path.join(dir, 'pgs.mkv');
    ffmpeg([
      ...['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25`, '-i', sup, '-map', '0:v', '-map', '1:s'],
      ...['-frames:v', '3', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:s', 'copy', '-metadata', 'title=keep me not', input],
    ]);
    expect(probe(input).streams.map((s) => s.codec_name)).toEqual(['h264', 'hdmv_pgs_subtitle']);
    const outDir = path.join(dir, 'pgs-out');
    fs.mkdirSync(outDir);
    const out = path.join(outDir, 'x.mp4');
    const t0 = performance.now();
    const r = await cli(['upscale', input, '-o', out, '--weights', weights]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /pgs\.mkv -> \.mp4: \.mp4 cannot hold stream #1 \(subtitle, hdmv_pgs_subtitle\) \(\.mkv can hold it\)\. .*--drop subtitles \(or --no-copy-streams/,
    );
    expect(r.stderr).not.toMatch(/frames|fps/); // refused before any frame was computed
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(listAll(outDir)).toEqual([]);
    const ok = await cli(['upscale', input, '-o', out, '--weights', weights, '--no-copy-streams', '--chunk', '3', '--overlap', '0']);
    expect(ok.code, ok.stderr).toBe(0);
    const p = probe(out);
    expect(p.streams.map((s) => s.codec_type)).toEqual(['video']);
    expect(p.format.tags?.title).toBeUndefined();
    expect(listAll(outDir)).toEqual(['x.mp4']);
  });
});
