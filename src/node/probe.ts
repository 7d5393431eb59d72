// ffprobe: what msvsr reads from a video file — the video stream (size, rotation, rate, time base, pixel
// format, colour tags, field order), every other stream, the chapters and the file's metadata — and what
// ffmpeg knows of a pixel format.
import { spawnSync } from 'node:child_process';
import { tail } from './child.js';
import { CliError } from './errors.js';
import { INSTALL_FFMPEG, type FfmpegTools } from './ffmpeg.js';

export interface Rational {
  num: number;
  den: number;
}

export function parseRational(s: string | undefined): Rational | undefined {
  const m = /^(\d+)(?:[/:](\d+))?$/.exec(s?.trim() ?? '');
  if (!m) return undefined;
  const num = Number(m[1]);
  const den = m[2] === undefined ? 1 : Number(m[2]);
  if (!(num > 0 && den > 0)) return undefined;
  return { num, den };
}

export const rationalString = (r: Rational) => (r.den === 1 ? `${r.num}` : `${r.num}/${r.den}`);
export const rationalValue = (r: Rational) => r.num / r.den;

/** One stream of the file, as ffprobe names it. */
export interface StreamInfo {
  index: number;
  /** video, audio, subtitle, attachment, data */
  kind: string;
  codec: string;
  /** The codec tag (FourCC) as ffprobe spells it. */
  tag: string;
  /** Cover art (a picture stored as a video stream). */
  attachedPic: boolean;
  tags: Record<string, string>;
}

/** The colour description as tagged (undefined: not tagged). Names are ffmpeg's (`-colorspace` etc.). */
export interface ColourTags {
  matrix?: string;
  range?: 'tv' | 'pc';
  primaries?: string;
  transfer?: string;
}

export interface VideoInfo {
  file: string;
  format: string;
  /** The file's start time in seconds (0 when unknown). */
  startTime: number;
  /** Index of the video stream that is read (the first that is not cover art). */
  streamIndex: number;
  codec: string;
  /** Size of the frames as shown (after the rotation is applied). */
  width: number;
  height: number;
  /** Size as stored. */
  codedWidth: number;
  codedHeight: number;
  /** Degrees clockwise a player turns the picture (0, 90, 180, 270), as ffmpeg's autorotate would. */
  rotation: number;
  /** Nominal frame rate (a constant-rate guess; the real timestamps come from the analysis). */
  rate: Rational;
  timeBase: Rational;
  /** Frame count when the container states it or it can be estimated. */
  frames?: number;
  framesExact: boolean;
  pixFmt: string;
  colour: ColourTags;
  /** tt, bb, tb, bt (interlaced), progressive, or undefined. */
  fieldOrder?: string;
  /** Every stream of the file, the video stream included. */
  streams: StreamInfo[];
  chapters: number;
  /** The file's (global) metadata. */
  tags: Record<string, string>;
  /** The video stream is flagged default. */
  videoDefault: boolean;
}

interface ProbeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  codec_tag_string?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  time_base?: string;
  nb_frames?: string;
  duration?: string;
  color_space?: string;
  color_range?: string;
  color_primaries?: string;
  color_transfer?: string;
  field_order?: string;
  disposition?: { attached_pic?: number; default?: number };
  tags?: Record<string, string>;
  side_data_list?: Array<{ rotation?: number }>;
}

/** ffmpeg's av_guess_frame_rate: r_frame_rate, unless it is a timebase-like > 210 while the average is < 70. */
function chooseRate(s: ProbeStream): Rational | undefined {
  const r = parseRational(s.r_frame_rate);
  const avg = parseRational(s.avg_frame_rate);
  if (r && avg && rationalValue(avg) < 70 && rationalValue(r) > 210) return avg;
  return r ?? avg;
}

const known = (c: string | undefined) => (c && c !== 'unknown' && c !== 'reserved' && c !== 'unspecified' ? c : undefined);

/** Clockwise degrees a player applies: the legacy rotate tag, or the display matrix (ffmpeg's get_rotation). */
function rotationOf(v: ProbeStream): number {
  let theta = Number(v.tags?.rotate ?? 0);
  for (const sd of v.side_data_list ?? []) if (typeof sd.rotation === 'number') theta = -sd.rotation;
  const q = Math.round(theta / 90) * 90;
  return ((q % 360) + 360) % 360;
}

export function runProbe(tools: FfmpegTools, args: string[], file: string, what = 'not a PNG image or a video ffmpeg can read'): string {
  const r = spawnSync(tools.ffprobe, ['-v', 'error', ...args, file], { encoding: 'utf8', maxBuffer: 1 << 30, timeout: 24 * 3600_000 });
  if (r.error) throw new CliError(`cannot run ffprobe (${tools.ffprobe}): ${r.error.message}. ${INSTALL_FFMPEG}`);
  if (r.status !== 0) throw new CliError(`${file}: ${what} (ffprobe: ${tail(r.stderr) || `exit ${r.status}`})`);
  return r.stdout;
}

export function probeVideo(tools: FfmpegTools, file: string): VideoInfo {
  const out = runProbe(tools, ['-show_streams', '-show_format', '-show_chapters', '-of', 'json'], file);
  let doc: {
    streams?: ProbeStream[];
    chapters?: unknown[];
    format?: { format_name?: string; duration?: string; start_time?: string; tags?: Record<string, string> };
  };
  try {
    doc = JSON.parse(out) as typeof doc;
  } catch {
    throw new CliError(`${file}: ffprobe printed something that is not JSON`);
  }
  const streams = doc.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!v) {
    const kinds = streams.map((s) => s.codec_type ?? '?').join(', ') || 'none';
    throw new CliError(`${file}: no video stream (streams: ${kinds})`);
  }
  if (!(v.width && v.height)) throw new CliError(`${file}: the video stream has no frame size (ffprobe reports ${v.width ?? '?'}x${v.height ?? '?'})`);
  const rate = chooseRate(v);
  if (!rate) throw new CliError(`${file}: the video stream has no frame rate (r_frame_rate ${v.r_frame_rate}, avg_frame_rate ${v.avg_frame_rate})`);
  const rotation = rotationOf(v);
  const quarter = rotation % 180 === 90;
  let frames: number | undefined;
  let framesExact = false;
  const nb = Number(v.nb_frames);
  if (Number.isInteger(nb) && nb > 0) {
    frames = nb;
    framesExact = true;
  } else {
    const dur = Number(v.duration ?? doc.format?.duration);
    if (dur > 0) frames = Math.max(1, Math.round(dur * rationalValue(rate)));
  }
  const start = Number(doc.format?.start_time);
  const range = known(v.color_range);
  return {
    file,
    format: doc.format?.format_name ?? '?',
    startTime: Number.isFinite(start) ? start : 0,
    streamIndex: v.index,
    codec: v.codec_name ?? '?',
    width: quarter ? v.height : v.width,
    height: quarter ? v.width : v.height,
    codedWidth: v.width,
    codedHeight: v.height,
    rotation,
    rate,
    timeBase: parseRational(v.time_base) ?? { num: 1, den: 1000 },
    frames,
    framesExact,
    pixFmt: v.pix_fmt ?? '?',
    colour: {
      matrix: known(v.color_space),
      range: range === 'tv' || range === 'pc' ? range : undefined,
      primaries: known(v.color_primaries),
      transfer: known(v.color_transfer),
    },
    fieldOrder: known(v.field_order),
    streams: streams.map((s) => ({
      index: s.index,
      kind: s.codec_type ?? 'data',
      codec: s.codec_name ?? 'none',
      tag: s.codec_tag_string ?? '',
      attachedPic: !!s.disposition?.attached_pic,
      tags: s.tags ?? {},
    })),
    chapters: doc.chapters?.length ?? 0,
    tags: doc.format?.tags ?? {},
    videoDefault: v.disposition?.default !== 0,
  };
}

/** What ffmpeg knows of a pixel format. */
export interface PixFmt {
  name: string;
  /** Bits of the deepest component. */
  bits: number;
  rgb: boolean;
  /** log2 of the chroma subsampling (0 for RGB and 4:4:4). */
  chromaW: number;
  chromaH: number;
  components: number;
}

let pixFmts: Map<string, PixFmt> | undefined;

/** ffprobe's table of pixel formats (read once). */
export function pixelFormats(tools: FfmpegTools): Map<string, PixFmt> {
  if (pixFmts) return pixFmts;
  const r = spawnSync(tools.ffprobe, ['-v', 'error', '-show_pixel_formats', '-of', 'json'], { encoding: 'utf8', maxBuffer: 16 << 20, timeout: 60_000 });
  if (r.status !== 0) throw new CliError(`ffprobe cannot list pixel formats: ${tail(r.stderr ?? '') || r.error?.message || `exit ${r.status}`}`);
  const doc = JSON.parse(r.stdout) as {
    pixel_formats: Array<{
      name: string;
      nb_components: number;
      log2_chroma_w?: number;
      log2_chroma_h?: number;
      flags?: { rgb?: number };
      components?: Array<{ bit_depth: number }>;
    }>;
  };
  pixFmts = new Map(
    doc.pixel_formats.map((p) => [
      p.name,
      {
        name: p.name,
        bits: Math.max(0, ...(p.components ?? []).map((c) => c.bit_depth)),
        rgb: !!p.flags?.rgb,
        chromaW: p.log2_chroma_w ?? 0,
        chromaH: p.log2_chroma_h ?? 0,
        components: p.nb_components,
      },
    ]),
  );
  return pixFmts;
}

export function pixelFormat(tools: FfmpegTools, name: string): PixFmt {
  const p = pixelFormats(tools).get(name);
  if (!p) throw new CliError(`pixel format '${name}' is not known to ffmpeg (see: ffmpeg -pix_fmts)`);
  return p;
}
