// Binary PPM frames ("P6 <width> <height> 255" + one whitespace + RGB bytes, or maxval 65535 and big-endian
// 16-bit samples), as ffmpeg's image2pipe writes them, split out of a byte stream that arrives in pieces of
// any size. Pure: bytes in, frames out (8-bit frames as Uint8Array, 16-bit ones as Uint16Array).
import { CliError } from './errors.js';

/** An 8-bit or 16-bit RGB frame (a Frame of the API). */
export interface RgbFrame {
  width: number;
  height: number;
  data: Uint8Array | Uint16Array;
  channels: 3;
}

const HEADER = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/;
/** ffmpeg's headers are far shorter: this many bytes without one is not a PPM stream. */
const MAX_HEADER = 64;
const EMPTY = new Uint8Array(0);

/** Bytes as Latin-1 text (one character per byte, so match lengths are byte counts). */
function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const r = new Uint8Array(a.length + b.length);
  r.set(a);
  r.set(b, a.length);
  return r;
}

/**
 * Incremental PPM splitter: `push` each piece as it arrives and get the frames it completes; `end` when the
 * stream ends. Every frame states its size, so frames of different sizes may follow each other. Errors name
 * `source` (the video being decoded).
 */
export class PpmSplitter {
  /** Bytes of a header not yet complete. */
  private pending: Uint8Array = EMPTY;
  /** The frame being filled, once its header is read, and its bytes as they arrive. */
  private frame: RgbFrame | undefined;
  private bytes: Uint8Array = EMPTY;
  private fill = 0;
  /** Frames completed so far. */
  frames = 0;

  constructor(private readonly source: string) {}

  /** Takes the next bytes of the stream; returns the frames they complete (each a fresh copy). */
  push(chunk: Uint8Array): RgbFrame[] {
    const out: RgbFrame[] = [];
    let c = chunk;
    for (;;) {
      if (!this.frame) {
        if (!c.length) break;
        const head = this.pending.length ? concat(this.pending, c) : c;
        const m = HEADER.exec(latin1(head.subarray(0, MAX_HEADER)));
        if (!m) {
          if (head.length >= MAX_HEADER || (head.length >= 2 && (head[0] !== 0x50 || head[1] !== 0x36))) {
            throw new CliError(`${this.source}: unexpected data from ffmpeg's decoder (not a PPM frame)`);
          }
          this.pending = head === c ? c.slice() : head; // keep no view of the caller's buffer
          break;
        }
        if (m[3] !== '255' && m[3] !== '65535') throw new CliError(`${this.source}: ffmpeg produced ${m[3]}-level frames, expected 8 or 16 bits`);
        const width = Number(m[1]);
        const height = Number(m[2]);
        const data = m[3] === '255' ? new Uint8Array(width * height * 3) : new Uint16Array(width * height * 3);
        this.frame = { width, height, data, channels: 3 };
        this.bytes = data instanceof Uint8Array ? data : new Uint8Array(data.byteLength);
        this.fill = 0;
        c = head.subarray(m[0].length);
        this.pending = EMPTY;
      }
      const f = this.frame;
      const n = Math.min(c.length, this.bytes.length - this.fill);
      this.bytes.set(c.subarray(0, n), this.fill);
      this.fill += n;
      c = c.subarray(n);
      if (this.fill < this.bytes.length) break; // the piece is used up
      if (f.data instanceof Uint16Array) {
        const b = this.bytes;
        for (let i = 0; i < f.data.length; i++) f.data[i] = (b[2 * i] << 8) | b[2 * i + 1];
      }
      out.push(f);
      this.frame = undefined;
      this.frames++;
    }
    return out;
  }

  /** The stream has ended: throws if it stopped inside a frame (or a header). */
  end(): void {
    if (this.frame || this.pending.length) throw new CliError(`${this.source}: ffmpeg's output ended inside frame ${this.frames}`);
  }
}
