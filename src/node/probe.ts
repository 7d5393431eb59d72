// ffprobe: the video stream msvsr reads from a file — its frame size, exact frame rate, frame count, audio,
// start delay and colour tags.
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

export interface VideoInfo {
  file: string;
  format: string;
  /** Index of the video stream that is read (the first that is not cover art). */
  streamIndex: number;
  codec: string;
  /** Size of the decoded frames (after ffmpeg's auto-rotation). */
  width: number;
  height: number;
  /** Exact frame rate, as ffmpeg would choose it for constant-rate output. */
  rate: Rational;
  /** Frame count when the container states it or it can be estimated. */
  frames?: number;
  framesExact: boolean;
  audioStreams: number;
  audioCodecs: string[];
  /** Seconds by which the video starts after the file's start (audio first), for A/V sync. */
  videoDelay: number;
  colorPrimaries?: string;
  colorTransfer?: string;
}

interface ProbeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  start_time?: string;
  color_primaries?: string;
  color_transfer?: string;
  disposition?: { attached_pic?: number };
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

export function probeVideo(tools: FfmpegTools, file: string): VideoInfo {
  const r = spawnSync(tools.ffprobe, ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: 60_000,
  });
  if (r.error) throw new CliError(`cannot run ffprobe (${tools.ffprobe}): ${r.error.message}. ${INSTALL_FFMPEG}`);
  if (r.status !== 0) {
    throw new CliError(`${file}: not a PNG image or a video ffmpeg can read (ffprobe: ${tail(r.stderr) || `exit ${r.status}`})`);
  }
  let doc: { streams?: ProbeStream[]; format?: { format_name?: string; duration?: string; start_time?: string } };
  try {
    doc = JSON.parse(r.stdout) as typeof doc;
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
  let rotation = Number(v.tags?.rotate ?? 0);
  for (const sd of v.side_data_list ?? []) if (typeof sd.rotation === 'number') rotation = sd.rotation;
  const quarter = Math.abs(Math.round(rotation / 90)) % 2 === 1;
  const audio = streams.filter((s) => s.codec_type === 'audio');
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
  const vs = Number(v.start_time);
  const fs0 = Number(doc.format?.start_time);
  const videoDelay = Number.isFinite(vs) && Number.isFinite(fs0) && vs - fs0 > 0.0005 ? vs - fs0 : 0;
  const known = (c: string | undefined) => (c && c !== 'unknown' && c !== 'reserved' && c !== 'unspecified' ? c : undefined);
  return {
    file,
    format: doc.format?.format_name ?? '?',
    streamIndex: v.index,
    codec: v.codec_name ?? '?',
    width: quarter ? v.height : v.width,
    height: quarter ? v.width : v.height,
    rate,
    frames,
    framesExact,
    audioStreams: audio.length,
    audioCodecs: audio.map((a) => a.codec_name ?? '?'),
    videoDelay,
    colorPrimaries: known(v.color_primaries),
    colorTransfer: known(v.color_transfer),
  };
}
