// Messages between the page (main.ts) and the worker (worker.ts). Everything heavy (weights, demuxing,
// decoding, the network, encoding, muxing) runs in the worker; the page only shows state and sends commands.

export type Precision = 'f32' | 'f16';
export type VideoCodecName = 'avc' | 'hevc' | 'vp8' | 'vp9' | 'av1' | 'prores';

export const VIDEO_CODEC_NAMES: Record<VideoCodecName, string> = {
  avc: 'H.264 (AVC)',
  hevc: 'H.265 (HEVC)',
  vp8: 'VP8',
  vp9: 'VP9',
  av1: 'AV1',
  prores: 'Apple ProRes',
};
/** 'same' is the input's codec (or the first encodable one); 'png' a zip of PNGs (one PNG for one image). */
export type OutputChoice = 'same' | 'avc' | 'vp9' | 'av1' | 'vp8' | 'png';

export interface RunOptions {
  output: OutputChoice;
  /** 'auto': f16 where the adapter has shader-f16, else f32. */
  precision: 'auto' | Precision;
  /** GPU bytes a plan may use. */
  maxMemory: number;
  /** Output frames per forward pass. */
  chunkSize: number;
  /** Context frames before and after each pass (the library's overlap). */
  overlap: number;
  /** Context around each tile's core, in low-resolution pixels. */
  halo: number;
  /** Video encoding: mediabunny's quality levels, or a low constant quantizer (near-lossless, large files). */
  quality: 'high' | 'very-high' | 'near-lossless';
}

export interface AudioInfo {
  codec: string;
  channels: number;
  sampleRate: number;
  language: string;
}

export interface InputInfo {
  kind: 'video' | 'images';
  name: string;
  bytes: number;
  width: number;
  height: number;
  frames: number;
  /** Frames per second (videos); NaN for images. */
  fps: number;
  constantRate: boolean;
  /** Seconds (videos); NaN for images. */
  duration: number;
  container: string;
  /** Human name of the video codec ('H.264 (AVC)'), or 'PNG / JPEG images'. */
  codecName: string;
  codec: VideoCodecName | null;
  /** How the frames become RGB: the matrix and range, and whether the stream tagged them. */
  colour: string;
  audio: AudioInfo[];
  /** Outputs this browser can encode at the x4 size, in order of preference. */
  encodable: VideoCodecName[];
}

export interface PlanInfo {
  chunk: number;
  window: number;
  overlap: number;
  tiled: boolean;
  tiles: number;
  tileWidth: number;
  tileHeight: number;
  halo: number;
  mib: number;
  budgetMib: number;
  precision: Precision;
}

export interface AppError {
  /** Stable code: tests and the page's styling key on it. */
  code: 'no-webgpu' | 'weights' | 'weights-download' | 'codec-decode' | 'codec-encode' | 'container' | 'input' | 'memory' | 'oom' | 'gpu' | 'internal';
  title: string;
  message: string;
  /** What a person can do about it. */
  advice: string[];
  /** The library's full message, when it adds detail. */
  detail?: string;
}

export interface Notice {
  code: 'no-f16' | 'codec-encode' | 'oom' | 'gpu' | 'audio' | 'info';
  message: string;
}

export type ToWorker =
  | { type: 'init'; debug?: DebugOptions }
  | { type: 'debug'; debug: DebugOptions }
  | { type: 'weights-file'; file: File }
  | { type: 'weights-url'; url: string }
  | { type: 'clear-weights' }
  | { type: 'open'; files: File[] }
  | { type: 'preview'; frame: number; options: RunOptions }
  | { type: 'start'; options: RunOptions }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'cancel' };

/** Test switches (web/README.md): simulate what this machine cannot produce for real. */
export interface DebugOptions {
  /** Only these codecs count as encodable (simulates a browser without the others' encoders). */
  encoders?: VideoCodecName[];
  /** The next run's GPU allocations fail past 70 % of its first plan's activations, like a smaller GPU. */
  outOfMemory?: boolean;
}

export interface PreviewResult {
  frame: number;
  /** Seconds into the video (NaN for images). */
  time: number;
  width: number;
  height: number;
  /** RGBA, 4·width x 4·height. */
  bicubic: Uint8ClampedArray;
  ours: Uint8ClampedArray;
  seconds: number;
}

export type FromWorker =
  | { type: 'gpu'; ok: true; adapter: string; f16: boolean; maxBinding: number; maxBuffer: number }
  | { type: 'gpu'; ok: false; error: AppError }
  | { type: 'weights'; state: 'none' }
  | { type: 'weights'; state: 'loading'; what: string }
  | { type: 'weights'; state: 'ready'; name: string; config: string; parameters: number; format: string; cached: boolean }
  | { type: 'weights'; state: 'error'; error: AppError; keep?: boolean }
  | { type: 'input'; state: 'probing' }
  | { type: 'input'; state: 'ready'; info: InputInfo }
  | { type: 'input'; state: 'error'; error: AppError }
  | { type: 'plan'; plan: PlanInfo }
  | { type: 'notice'; notice: Notice }
  | { type: 'preview'; state: 'running' }
  | { type: 'preview'; state: 'done'; result: PreviewResult }
  | { type: 'preview'; state: 'error'; error: AppError }
  | { type: 'run'; state: 'started'; total: number; output: string }
  | { type: 'run'; state: 'progress'; done: number; total: number }
  | { type: 'run'; state: 'paused' | 'resumed' | 'cancelling' | 'cancelled' }
  | { type: 'run'; state: 'done'; file: Blob; name: string; frames: number; seconds: number; summary: string }
  | { type: 'run'; state: 'error'; error: AppError };
