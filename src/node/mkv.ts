// A minimal Matroska writer for raw RGB frames with their own timestamps — what the encoder's ffmpeg reads
// from its stdin, so that output frame i gets input frame i's timestamp whatever the frame rate (raw video
// on a pipe has no timestamps, and ffmpeg 5.1 has no timecode-file input). Pure: bytes out.
//
// Layout: the EBML header; a Segment of unknown size (a stream); Info with a TimestampScale of 1 ns; one
// video track, CodecID V_UNCOMPRESSED with ColourSpace "RGB" + 24 (rgb24) or "RGB" + 48 (rgb48le), the
// FourCCs of ffmpeg's raw pixel-format table; then one Cluster per frame: its Timestamp (the frame's time in
// ns) and one key-frame SimpleBlock at relative time 0. ffmpeg reads it as rawvideo with time base 1/1e9.

/** An EBML element ID as its bytes (IDs carry their own length marker). */
function idBytes(id: number): number[] {
  const out: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return out;
}

/** An element size as an 8-byte EBML variable-length integer (simple, and large enough for any frame). */
function sizeBytes(n: number): number[] {
  const out = [0x01];
  const b = BigInt(n);
  for (let i = 6; i >= 0; i--) out.push(Number((b >> BigInt(8 * i)) & 0xffn));
  return out;
}

function uintBytes(v: number | bigint): number[] {
  let b = BigInt(v);
  if (b < 0n) throw new Error(`mkv: negative unsigned value ${v}`);
  const out: number[] = [];
  do {
    out.unshift(Number(b & 0xffn));
    b >>= 8n;
  } while (b > 0n);
  return out;
}

const el = (id: number, payload: number[]): number[] => [...idBytes(id), ...sizeBytes(payload.length), ...payload];
const uint = (id: number, v: number | bigint) => el(id, uintBytes(v));
const text = (id: number, s: string) =>
  el(
    id,
    Array.from(s, (c) => c.charCodeAt(0) & 0xff),
  );

export interface MkvVideo {
  width: number;
  height: number;
  /** 8: rgb24; 16: rgb48le. */
  bits: 8 | 16;
  /** The nominal frame duration in ns (DefaultDuration: the frame rate ffmpeg reports for the input). */
  frameNs?: number;
}

/** Everything before the first frame. */
export function mkvHeader(v: MkvVideo): Uint8Array {
  const ebml = el(0x1a45dfa3, [
    ...uint(0x4286, 1), // EBMLVersion
    ...uint(0x42f7, 1), // EBMLReadVersion
    ...uint(0x42f2, 4), // EBMLMaxIDLength
    ...uint(0x42f3, 8), // EBMLMaxSizeLength
    ...text(0x4282, 'matroska'), // DocType
    ...uint(0x4287, 4), // DocTypeVersion
    ...uint(0x4285, 2), // DocTypeReadVersion
  ]);
  const segment = [...idBytes(0x18538067), 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]; // unknown size
  const info = el(0x1549a966, [...uint(0x2ad7b1, 1), ...text(0x4d80, 'msvsr'), ...text(0x5741, 'msvsr')]);
  const video = el(0xe0, [...uint(0xb0, v.width), ...uint(0xba, v.height), ...el(0x2eb524, [0x52, 0x47, 0x42, v.bits === 16 ? 48 : 24])]);
  const track = el(0xae, [
    ...uint(0xd7, 1), // TrackNumber
    ...uint(0x73c5, 1), // TrackUID
    ...uint(0x83, 1), // TrackType: video
    ...text(0x86, 'V_UNCOMPRESSED'),
    ...uint(0x9c, 0), // FlagLacing
    ...(v.frameNs ? uint(0x23e383, Math.max(1, Math.round(v.frameNs))) : []), // DefaultDuration
    ...video,
  ]);
  return Uint8Array.from([...ebml, ...segment, ...info, ...el(0x1654ae6b, track)]);
}

/** The bytes before a frame's pixels: a Cluster at `ns` holding one SimpleBlock of `bytes` pixel bytes. */
export function mkvFrameHeader(ns: bigint, bytes: number): Uint8Array {
  const timestamp = uint(0xe7, ns);
  const blockHead = [0x81, 0x00, 0x00, 0x80]; // track 1, relative time 0, key frame
  const block = [...idBytes(0xa3), ...sizeBytes(blockHead.length + bytes), ...blockHead];
  return Uint8Array.from([...idBytes(0x1f43b675), ...sizeBytes(timestamp.length + block.length + bytes), ...timestamp, ...block]);
}

/** A stream timestamp (ticks of `tb` seconds) in ns, rounded to nearest (exact back to ticks for any tb >= 1 ns). */
export function ticksToNs(ticks: number, tb: { num: number; den: number }): bigint {
  const n = BigInt(ticks) * BigInt(tb.num) * 1_000_000_000n;
  const d = BigInt(tb.den);
  const q = n / d;
  const r = n % d;
  return 2n * (r < 0n ? -r : r) >= d ? q + (n < 0n ? -1n : 1n) : q;
}
