// Encoders and containers: which video encoders msvsr drives (and their quality and speed options), which
// container an output extension means and what it can hold, and what the local ffmpeg has.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { CliError } from './errors.js';

export interface Container {
  /** ffmpeg's muxer name. */
  muxer: string;
  /** Video encoders it can hold (of ENCODERS). */
  codecs: readonly string[];
  /** The text subtitle codec it takes when a text subtitle cannot be copied (none: it holds no text subtitles). */
  textSubtitle?: string;
  /** The audio codec a stream that cannot be copied is re-encoded to. */
  audio: string;
  chapters: boolean;
  /** Holds variable frame rates (AVI's timing is a frame count). */
  vfr: boolean;
}

const ALL = ['libx264', 'libx265', 'libvpx-vp9', 'libaom-av1', 'libsvtav1', 'ffv1', 'prores_ks'];
const MP4: Container = {
  muxer: 'mp4',
  codecs: ['libx264', 'libx265', 'libvpx-vp9', 'libaom-av1', 'libsvtav1'],
  textSubtitle: 'mov_text',
  audio: 'aac',
  chapters: true,
  vfr: true,
};

export const CONTAINERS: Record<string, Container> = {
  '.mp4': MP4,
  '.mkv': { muxer: 'matroska', codecs: ALL, textSubtitle: 'srt', audio: 'flac', chapters: true, vfr: true },
  '.mov': { muxer: 'mov', codecs: ['libx264', 'libx265', 'prores_ks', 'ffv1'], textSubtitle: 'mov_text', audio: 'aac', chapters: true, vfr: true },
  '.m4v': MP4,
  '.avi': { muxer: 'avi', codecs: ['libx264', 'ffv1'], audio: 'aac', chapters: false, vfr: false },
  '.ts': { muxer: 'mpegts', codecs: ['libx264', 'libx265'], audio: 'aac', chapters: false, vfr: true },
  '.webm': { muxer: 'webm', codecs: ['libvpx-vp9', 'libaom-av1', 'libsvtav1'], textSubtitle: 'webvtt', audio: 'libopus', chapters: true, vfr: true },
};

export const VIDEO_EXTENSIONS = Object.keys(CONTAINERS);

export function containerOf(output: string): Container | undefined {
  return CONTAINERS[path.extname(output).toLowerCase()];
}

/** The extensions whose container holds `codec`. */
export function extensionsFor(codec: string): string[] {
  return VIDEO_EXTENSIONS.filter((e) => CONTAINERS[e].codecs.includes(codec));
}

export interface EncoderSpec {
  /** Default quality (CRF), or undefined when the encoder has none (lossless or profile-driven). */
  crf?: { default: number; max: number; args: (crf: number) => string[] };
  /** How --preset is passed (undefined: the encoder has no speed preset). */
  preset?: (p: string) => string[];
  /** Always passed (before --crf and --preset). */
  base: string[];
  what: string;
  /**
   * The container of a job's segment files: one that keeps the encoder's time base exactly and the colour
   * description of any codec (mov's colr atom, mp4's codec boxes), which the final container gets on the join.
   */
  segment: 'mov' | 'mp4';
}

export const ENCODERS: Record<string, EncoderSpec> = {
  libx264: { what: 'H.264', segment: 'mov', base: [], crf: { default: 16, max: 51, args: (c) => ['-crf', String(c)] }, preset: (p) => ['-preset', p] },
  libx265: {
    what: 'HEVC',
    segment: 'mov',
    base: ['-x265-params', 'log-level=error'],
    crf: { default: 18, max: 51, args: (c) => ['-crf', String(c)] },
    preset: (p) => ['-preset', p],
  },
  'libvpx-vp9': {
    what: 'VP9',
    segment: 'mp4',
    base: ['-row-mt', '1', '-deadline', 'good', '-cpu-used', '4'],
    crf: { default: 24, max: 63, args: (c) => ['-crf', String(c), '-b:v', '0'] },
    preset: (p) => ['-cpu-used', p],
  },
  'libaom-av1': {
    what: 'AV1',
    segment: 'mp4',
    base: ['-row-mt', '1', '-cpu-used', '6'],
    crf: { default: 24, max: 63, args: (c) => ['-crf', String(c), '-b:v', '0'] },
    preset: (p) => ['-cpu-used', p],
  },
  libsvtav1: {
    what: 'AV1',
    segment: 'mp4',
    base: ['-preset', '8'],
    crf: { default: 24, max: 63, args: (c) => ['-crf', String(c)] },
    preset: (p) => ['-preset', p],
  },
  ffv1: { what: 'FFV1, lossless', segment: 'mov', base: ['-level', '3', '-slicecrc', '1'] },
  prores_ks: { what: 'ProRes', segment: 'mov', base: ['-profile:v', '3'] },
};

export const ENCODER_NAMES = Object.keys(ENCODERS);

/** The encoder options for a codec and the user's --crf / --preset (refused where the encoder has none). */
export function encoderOptions(codec: string, o: { crf?: number; preset?: string }): string[] {
  const e = ENCODERS[codec];
  if (!e) throw new CliError(`--codec ${codec}: msvsr drives ${ENCODER_NAMES.join(', ')}`);
  const a = [...e.base];
  if (o.crf !== undefined && !e.crf) {
    throw new CliError(`--crf: ${codec} (${e.what}) has no CRF; pass its own quality options with --encoder-args (e.g. prores_ks: "-profile:v 2")`);
  }
  if (e.crf) {
    const crf = o.crf ?? e.crf.default;
    if (!(Number.isInteger(crf) && crf >= 0 && crf <= e.crf.max)) throw new CliError(`--crf ${crf}: ${codec} takes 0..${e.crf.max}`);
    a.push(...e.crf.args(crf));
  }
  if (o.preset !== undefined) {
    if (!e.preset) throw new CliError(`--preset: ${codec} (${e.what}) has no speed preset`);
    a.push(...e.preset(o.preset));
  }
  return a;
}

let encoderList: { ffmpeg: string; names: Set<string> } | undefined;

/** The encoders the local ffmpeg has (read once). */
export function localEncoders(ffmpeg: string): Set<string> {
  if (encoderList?.ffmpeg === ffmpeg) return encoderList.names;
  const r = spawnSync(ffmpeg, ['-hide_banner', '-v', 'error', '-encoders'], { encoding: 'utf8', timeout: 30_000, maxBuffer: 16 << 20 });
  const names = new Set<string>();
  if (r.status === 0) for (const m of r.stdout.matchAll(/^\s*[VAS][A-Z.]{5}\s+(\S+)/gm)) names.add(m[1]);
  encoderList = { ffmpeg, names };
  return names;
}

export function hasEncoder(ffmpeg: string, name: string): boolean {
  return localEncoders(ffmpeg).has(name);
}

/** The pixel formats an encoder takes, from `ffmpeg -h encoder=<name>`. */
export function encoderPixFmts(ffmpeg: string, codec: string): string[] {
  const r = spawnSync(ffmpeg, ['-hide_banner', '-v', 'error', '-h', `encoder=${codec}`], { encoding: 'utf8', timeout: 30_000 });
  const m = /Supported pixel formats:([^\n]*)/.exec(r.stdout ?? '');
  return m ? m[1].trim().split(/\s+/) : [];
}

/** Refuses, before any work, a codec the local ffmpeg lacks or the output's container cannot hold. */
export function checkCodec(ffmpeg: string, codec: string, output: string, container: Container): void {
  if (!ENCODERS[codec]) throw new CliError(`--codec ${codec}: msvsr drives ${ENCODER_NAMES.join(', ')}`);
  if (!hasEncoder(ffmpeg, codec)) {
    const have = ENCODER_NAMES.filter((n) => hasEncoder(ffmpeg, n));
    throw new CliError(`--codec ${codec}: ${ffmpeg} has no ${codec} encoder; it has ${have.join(', ') || 'none of the encoders msvsr drives'}`);
  }
  if (!container.codecs.includes(codec)) {
    throw new CliError(`${output}: ${path.extname(output)} cannot hold ${codec} (${ENCODERS[codec].what}); use ${extensionsFor(codec).join(' or ')}`);
  }
}

/** Splits --encoder-args like a shell would (quotes and backslashes; no expansion). */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let any = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      any = true;
    } else if (ch === '\\' && i + 1 < s.length) {
      cur += s[++i];
      any = true;
    } else if (/\s/.test(ch)) {
      if (any || cur) out.push(cur);
      cur = '';
      any = false;
    } else cur += ch;
  }
  if (quote) throw new CliError(`--encoder-args: unterminated ${quote} quote in: ${s}`);
  if (any || cur) out.push(cur);
  return out;
}
