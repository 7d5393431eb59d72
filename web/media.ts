// Reading and writing media in the worker, through mediabunny (demux/mux of MP4, MOV, WebM, MKV) and the
// browser's WebCodecs (decode/encode): what a file holds, its frames as RGBA, images, and the output file.
import {
  ALL_FORMATS,
  BlobSource,
  BufferTarget,
  canEncodeVideo,
  Input,
  type InputAudioTrack,
  type InputFormat,
  type InputVideoTrack,
  MkvOutputFormat,
  MovOutputFormat,
  Mp4OutputFormat,
  type OutputFormat,
  QUALITY_HIGH,
  StreamTarget,
  type Target,
  type VideoCodec,
  type VideoSample,
  WebMOutputFormat,
} from 'mediabunny';
import { type AppError, type AudioInfo, type InputInfo, VIDEO_CODEC_NAMES, type VideoCodecName } from './protocol.js';
import { type Colour, colourOf, convertible, yuvToRgba } from './yuv.js';

/** Names a person recognises, for info lines and error messages. */
const CODEC_NAMES: Record<string, string> = {
  ...VIDEO_CODEC_NAMES,
  aac: 'AAC',
  opus: 'Opus',
  mp3: 'MP3',
  vorbis: 'Vorbis',
  flac: 'FLAC',
  ac3: 'Dolby Digital (AC-3)',
  eac3: 'Dolby Digital Plus (E-AC-3)',
  dts: 'DTS',
};

/** Container codec ids mediabunny does not decode, by the name a person would search for. */
const INTERNAL_NAMES: Record<string, string> = {
  mp4v: 'MPEG-4 Part 2 (mp4v)',
  'V_MPEG4/ISO/ASP': 'MPEG-4 Part 2',
  V_MPEG2: 'MPEG-2 Video',
  'V_MS/VFW/FOURCC': 'a Video for Windows codec',
  V_THEORA: 'Theora',
  s263: 'H.263',
  mjpa: 'Motion JPEG',
  mjpb: 'Motion JPEG',
  jpeg: 'Motion JPEG',
  V_MJPEG: 'Motion JPEG',
  apcn: 'Apple ProRes',
  apch: 'Apple ProRes',
  ap4h: 'Apple ProRes 4444',
  dvh1: 'Dolby Vision (HEVC)',
  hev1: 'H.265 (HEVC)',
  hvc1: 'H.265 (HEVC)',
};

export function codecName(codec: string | null, internal?: unknown): string {
  if (codec && CODEC_NAMES[codec]) return CODEC_NAMES[codec];
  if (typeof internal === 'string') return INTERNAL_NAMES[internal] ?? `an unsupported codec (${internal})`;
  if (typeof internal === 'number') return `an unsupported codec (id ${internal})`;
  return 'an unknown codec';
}

export class AppFailure extends Error {
  constructor(readonly error: AppError) {
    super(error.message);
  }
}

export const fail = (error: AppError): never => {
  throw new AppFailure(error);
};

/** Encoders tried for an output, in order of preference (the input's codec goes first). */
export const OUTPUT_CODECS: VideoCodecName[] = ['avc', 'vp9', 'av1', 'vp8', 'hevc'];

export async function encodableCodecs(width: number, height: number, only?: VideoCodecName[]): Promise<VideoCodecName[]> {
  const out: VideoCodecName[] = [];
  for (const c of OUTPUT_CODECS) {
    if (only && !only.includes(c)) continue;
    if (await canEncodeVideo(c as VideoCodec, { width, height, bitrate: QUALITY_HIGH }).catch(() => false)) out.push(c);
  }
  return out;
}

export interface OpenVideo {
  file: File;
  input: Input;
  format: InputFormat;
  track: InputVideoTrack;
  audio: InputAudioTrack[];
  /** Timestamps are multiples of 1 / timeResolution seconds. */
  timeResolution: number;
  rotation: 0 | 90 | 180 | 270;
  /** How YUV frames become RGB (undefined: the browser decides). */
  colour: Colour | undefined;
  info: InputInfo;
}

export async function openVideo(file: File, only?: VideoCodecName[]): Promise<OpenVideo> {
  const input = new Input({ source: new BlobSource(file), formats: ALL_FORMATS });
  let format: InputFormat;
  try {
    format = await input.getFormat();
  } catch {
    input.dispose();
    return fail({
      code: 'container',
      title: `${file.name}: not a video this page can read`,
      message: `${file.name} is not an MP4, MOV, WebM or Matroska (MKV) file, nor images.`,
      advice: [
        'Convert it to MP4 first, e.g.: ffmpeg -i input -c:v libx264 -crf 16 -c:a copy output.mp4',
        'Or use the command line (msvsr upscale), which reads anything ffmpeg reads.',
      ],
    });
  }
  const track = await input.getPrimaryVideoTrack();
  if (!track) {
    input.dispose();
    return fail({
      code: 'input',
      title: `${file.name} has no video track`,
      message: `${file.name} holds no video.`,
      advice: ['Choose a file with a video track.'],
    });
  }
  const codec = (await track.getCodec()) as VideoCodecName | null;
  const internal = await track.getInternalCodecId();
  const name = codecName(codec, internal);
  const width = await track.getCodedWidth();
  const height = await track.getCodedHeight();
  if (!(await track.canDecode())) {
    input.dispose();
    return fail({
      code: 'codec-decode',
      title: `This browser cannot decode ${name}`,
      message: `${file.name} is ${name} video (${width}x${height}); this browser has no decoder for it.`,
      advice: [
        'Convert it to H.264 or VP9 first, e.g.: ffmpeg -i input -c:v libx264 -crf 16 -c:a copy output.mp4',
        codec === 'hevc'
          ? 'Or use a browser that decodes HEVC (Safari; Chrome or Edge with hardware HEVC decoding on Windows or macOS).'
          : 'Or open it in another browser.',
        'Or use the command line (msvsr upscale), which decodes anything ffmpeg reads.',
      ],
    });
  }
  const stats = await track.computePacketStats();
  const metrics = await track.computeFrameRateMetrics().catch(() => undefined);
  const duration = await input.computeDuration();
  const audio = await input.getAudioTracks();
  const audioInfo: AudioInfo[] = [];
  for (const a of audio) {
    const c = await a.getCodec();
    audioInfo.push({
      codec: codecName(c, await a.getInternalCodecId()),
      channels: await a.getNumberOfChannels(),
      sampleRate: await a.getSampleRate(),
      language: await a.getLanguageCode(),
    });
  }
  const colour = colourOf(await track.getColorSpace().catch(() => ({})), height);
  const fps = metrics?.bestGuessFrameRate ?? (duration > 0 ? stats.packetCount / duration : Number.NaN);
  const info: InputInfo = {
    kind: 'video',
    name: file.name,
    bytes: file.size,
    width,
    height,
    frames: stats.packetCount,
    fps,
    constantRate: metrics?.frameRateIsConstant ?? false,
    duration,
    container: format.name,
    codecName: name,
    codec,
    colour: colour
      ? `${colour.name}, ${colour.fullRange ? 'full' : 'limited'} range${colour.tagged ? '' : ' (untagged: by the rule)'}`
      : 'as the browser decodes it',
    audio: audioInfo,
    encodable: await encodableCodecs(4 * width, 4 * height, only),
  };
  return { file, input, format, track, audio, timeResolution: await track.getTimeResolution(), rotation: await track.getRotation(), colour, info };
}

/**
 * A decoded frame as RGBA bytes. YUV frames are converted here with the stream's colour (yuv.ts: the
 * command line's rule for what is untagged); anything else is converted by the browser to sRGB.
 */
export async function sampleToRgba(sample: VideoSample, colour?: Colour): Promise<{ width: number; height: number; data: Uint8ClampedArray }> {
  const { width, height } = sample.visibleRect;
  if (colour && convertible(sample.format)) {
    const data = new Uint8Array(sample.allocationSize());
    const layout = await sample.copyTo(data);
    return { width, height, data: yuvToRgba({ format: sample.format!, width, height, data, layout }, colour) };
  }
  const data = new Uint8ClampedArray(width * height * 4);
  try {
    await sample.copyTo(data, { format: 'RGBA', colorSpace: 'srgb' } as VideoFrameCopyToOptions);
  } catch {
    // Older browsers convert only through a canvas.
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    sample.draw(ctx, 0, 0, width, height);
    data.set(ctx.getImageData(0, 0, width, height).data);
  }
  return { width, height, data };
}

const IMAGE_TYPES = /^image\/(png|jpeg|webp|bmp|gif|avif)$/;
const IMAGE_NAMES = /\.(png|jpe?g|webp|bmp|gif|avif)$/i;

export function isImage(f: File): boolean {
  return IMAGE_TYPES.test(f.type) || IMAGE_NAMES.test(f.name);
}

/** Natural order (frame2 before frame10), as the command line sorts a folder of frames. */
export function naturalOrder(files: File[]): File[] {
  return [...files].sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: 'base' }));
}

/** An image's pixels as RGBA, untouched by colour management (PNG bytes in, the same bytes out). */
export async function decodeImage(file: File): Promise<{ width: number; height: number; data: Uint8ClampedArray }> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    return fail({
      code: 'input',
      title: `${file.name}: this browser cannot decode it`,
      message: `${file.name} could not be decoded as an image.`,
      advice: ['Use PNG or JPEG frames.'],
    });
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' })!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return { width, height, data: ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data };
}

export async function imagesInfo(files: File[]): Promise<InputInfo> {
  const first = await decodeImage(files[0]);
  const bytes = files.reduce((n, f) => n + f.size, 0);
  return {
    kind: 'images',
    name: files.length === 1 ? files[0].name : `${files.length} images (${files[0].name} … ${files[files.length - 1].name})`,
    bytes,
    width: first.width,
    height: first.height,
    frames: files.length,
    fps: Number.NaN,
    constantRate: false,
    duration: Number.NaN,
    container: 'images',
    colour: 'RGB',
    codecName: [...new Set(files.map((f) => (f.type || f.name.split('.').pop() || '?').replace('image/', '').toUpperCase()))].join(', '),
    codec: null,
    audio: [],
    encodable: [],
  };
}

/** The output container: the input's when it can hold the video and audio codecs, else MP4, else MKV. */
export function outputFormatFor(input: InputFormat, video: VideoCodecName, audio: (string | null)[]): OutputFormat {
  const name = input.name.toLowerCase();
  const candidates: OutputFormat[] = [];
  if (name.includes('webm')) candidates.push(new WebMOutputFormat());
  else if (name.includes('matroska') || name.includes('mkv')) candidates.push(new MkvOutputFormat());
  else if (name.includes('quicktime') || name.includes('mov')) candidates.push(new MovOutputFormat({ fastStart: false }));
  candidates.push(new Mp4OutputFormat({ fastStart: false }), new MkvOutputFormat());
  const fits = (f: OutputFormat) =>
    f.getSupportedVideoCodecs().includes(video as VideoCodec) && audio.every((a) => a && f.getSupportedAudioCodecs().includes(a as never));
  return candidates.find(fits) ?? candidates.find((f) => f.getSupportedVideoCodecs().includes(video as VideoCodec))!;
}

/**
 * Where the output file is written: the origin-private file system when the browser has it (a long video
 * does not have to fit in memory), else memory.
 */
export async function outputTarget(name: string): Promise<{ target: Target; file(): Promise<Blob>; discard(): Promise<void> }> {
  try {
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle('msvsr-output', { create: true });
    // Earlier outputs are dropped: one result is kept at a time.
    for await (const key of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) await dir.removeEntry(key).catch(() => {});
    const handle = await dir.getFileHandle(name, { create: true });
    const writable = await handle.createWritable();
    return {
      target: new StreamTarget(writable as unknown as WritableStream, { chunked: true }),
      file: () => handle.getFile(),
      discard: async () => {
        await writable.abort().catch(() => {});
        await dir.removeEntry(name).catch(() => {});
      },
    };
  } catch {
    const target = new BufferTarget();
    return { target, file: async () => new Blob([target.buffer!]), discard: async () => {} };
  }
}
