// Shared by the video suites: weights that make the network an exact bilinear x4 (so expectations are
// computable on the CPU), ffprobe and ffmpeg reads of what a file holds (streams, timestamps, packets,
// frames as floats), and the reference bilinear x4 / area /4 in float64.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readWeights } from '../../src/weights/load.js';
import { writeSafetensors } from '../../src/weights/safetensors.js';
import { WEIGHTS } from '../cli/helpers.js';

export { cli, decodeRgb, decodeRgbAs, ensureBuilt, ffmpeg, listAll, scratch, WEIGHTS } from '../cli/helpers.js';

/**
 * The fixture's weights with conv_last and hybrid_conv_last (weights and biases) zero: the network's output
 * is then its x4 bilinear image skip alone (Paddle's F.interpolate, align_corners=False), written with the
 * project's own safetensors writer.
 */
export function bilinearWeights(dir: string): string {
  const w = readWeights(new Uint8Array(fs.readFileSync(WEIGHTS)), WEIGHTS);
  const t = new Map(w.tensors);
  for (const n of ['conv_last.weight', 'conv_last.bias', 'hybrid_conv_last.weight', 'hybrid_conv_last.bias']) {
    const x = t.get(n)!;
    t.set(n, { shape: x.shape, data: new Float32Array(x.data.length) });
  }
  const file = path.join(dir, 'bilinear.safetensors');
  fs.writeFileSync(file, writeSafetensors(t, 'f32'));
  return file;
}

export interface Probe {
  streams: Array<Record<string, unknown> & { index: number; codec_type: string; codec_name: string; tags?: Record<string, string> }>;
  format: Record<string, unknown> & { tags?: Record<string, string> };
  chapters: Array<{ start_time: string; end_time: string; tags?: Record<string, string> }>;
}

export function probe(file: string): Probe {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-show_chapters', '-of', 'json', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffprobe ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Probe;
}

/** Every frame's presentation time in seconds, and the stream's time base (ffprobe, decoding the frames). */
export function frameTimes(file: string, stream = 'v:0'): { seconds: number[]; tb: number } {
  const r = spawnSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', stream, '-show_entries', 'stream=time_base:frame=best_effort_timestamp', '-of', 'json', file],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    },
  );
  if (r.status !== 0) throw new Error(`ffprobe ${file}: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { streams: Array<{ time_base: string }>; frames: Array<{ best_effort_timestamp: number }> };
  const [num, den] = j.streams[0].time_base.split('/').map(Number);
  return { seconds: j.frames.map((f) => (f.best_effort_timestamp * num) / den), tb: num / den };
}

/** MD5 of a stream's packets, copied out as they are (equal hashes: the stream was carried unchanged). */
export function packetsMd5(file: string, spec: string): string {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-map', `0:${spec}`, '-c', 'copy', '-f', 'md5', '-'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg md5 ${file} ${spec}: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * Every frame as float64 RGB in [0, 1], converted by ffmpeg with the matrix and range given (the test's own
 * statement of what the file holds), in presentation order without any frame added or dropped.
 */
export function decodeFloat(file: string, w: number, h: number, colour?: { matrix: string; range: string }, filters: string[] = []): Float64Array[] {
  const scale = colour
    ? `scale=in_color_matrix=${colour.matrix}:in_range=${colour.range}:flags=bicubic+accurate_rnd+full_chroma_int+full_chroma_inp`
    : 'scale=flags=bicubic+accurate_rnd+full_chroma_int+full_chroma_inp';
  const r = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-i', file, '-map', '0:v:0', '-vf', [...filters, scale, 'format=rgb48le'].join(','), '-fps_mode', 'passthrough', '-f', 'rawvideo', '-'],
    { maxBuffer: 1 << 28 },
  );
  if (r.status !== 0) throw new Error(`ffmpeg decode ${file}: ${r.stderr.toString()}`);
  const n = w * h * 3;
  const b = r.stdout;
  if (b.length % (2 * n) !== 0) throw new Error(`decoded ${b.length} bytes, not a multiple of ${2 * n}`);
  return Array.from({ length: b.length / (2 * n) }, (_, t) => Float64Array.from({ length: n }, (_, i) => b.readUInt16LE(2 * (t * n + i)) / 65535));
}

/** Paddle's bilinear x4 (align_corners=False, source coordinates clamped at 0, edges replicated), float64. */
export function bilinear4(f: Float64Array, w: number, h: number): Float64Array {
  const W = 4 * w;
  const H = 4 * h;
  const o = new Float64Array(W * H * 3);
  const at = (i: number, n: number): [number, number, number] => {
    const s = Math.max(0, (i + 0.5) / 4 - 0.5);
    const i0 = Math.min(Math.floor(s), n - 1);
    return [i0, Math.min(i0 + 1, n - 1), s - i0];
  };
  for (let y = 0; y < H; y++) {
    const [y0, y1, fy] = at(y, h);
    for (let x = 0; x < W; x++) {
      const [x0, x1, fx] = at(x, w);
      for (let c = 0; c < 3; c++) {
        const g = (yy: number, xx: number) => f[(yy * w + xx) * 3 + c];
        o[(y * W + x) * 3 + c] = (1 - fy) * ((1 - fx) * g(y0, x0) + fx * g(y0, x1)) + fy * ((1 - fx) * g(y1, x0) + fx * g(y1, x1));
      }
    }
  }
  return o;
}

/** The mean of each 4x4 block (area downscale /4), float64. */
export function area4(f: Float64Array, W: number, H: number): Float64Array {
  const w = W / 4;
  const h = H / 4;
  const o = new Float64Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) s += f[((4 * y + dy) * W + 4 * x + dx) * 3 + c];
        o[(y * w + x) * 3 + c] = s / 16;
      }
  return o;
}

/**
 * Colour fidelity of an output made with bilinearWeights: each output frame, downscaled x4 by area, against
 * the same downscale of the exact bilinear x4 of its input frame. Max and mean absolute error, in levels of
 * `bits` (8: 1/255, 10: 1/1023).
 */
export function fidelity(input: Float64Array[], output: Float64Array[], w: number, h: number, bits = 8): { max: number; mean: number } {
  if (input.length !== output.length) throw new Error(`${input.length} input frames, ${output.length} output frames`);
  const scale = 2 ** bits - 1;
  let max = 0;
  let sum = 0;
  let n = 0;
  for (let t = 0; t < input.length; t++) {
    const want = area4(bilinear4(input[t], w, h), 4 * w, 4 * h);
    const got = area4(output[t], 4 * w, 4 * h);
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(want[i] - got[i]) * scale;
      max = Math.max(max, d);
      sum += d;
      n++;
    }
  }
  return { max, mean: sum / n };
}

/** Starts the CLI and calls `when` every 20 ms with it until `when` returns true (then SIGKILLs it) or it ends. */
export function killWhen(args: string[], when: () => boolean, cliPath: string): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let killed = false;
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const poll = setInterval(() => {
      if (!killed && when()) {
        killed = true;
        p.kill('SIGKILL');
      }
    }, 20);
    p.on('error', reject);
    p.on('close', (code) => {
      clearInterval(poll);
      resolve({ killed, code, stderr });
    });
  });
}
