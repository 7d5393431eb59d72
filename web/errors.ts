// What went wrong, said so that a person knows what to do: the library's typed errors (and a few browser
// ones) mapped to an AppError with a title, the message and advice.
import { DeviceLostError, FeatureError, GpuError, OutOfMemoryError, PlanAllocationError, PlanLimitError, WeightsError } from 'msvsr-webgpu';
import { AppFailure } from './media.js';
import type { AppError } from './protocol.js';

const firstLine = (s: string) => s.split('\n')[0];

export const WEBGPU_ADVICE = [
  'Use Chrome or Edge 113 or newer on Windows, macOS or ChromeOS (Android 12 or newer from Chrome 121), Safari 26 or newer, or Firefox 141 or newer on Windows.',
  'Chrome on Linux: enable chrome://flags/#enable-unsafe-webgpu and chrome://flags/#enable-vulkan (or start it with --enable-unsafe-webgpu --enable-features=Vulkan).',
  'Open the page over https:// or from http://localhost or 127.0.0.1: browsers offer WebGPU to secure pages only.',
  'Or use the command line (npx msvsr upscale), which runs on your GPU through Dawn without a browser.',
];

export function noWebGpu(detail: string): AppError {
  const missing = /navigator\.gpu|No WebGPU implementation/.test(detail) && !/adapter/i.test(firstLine(detail));
  return {
    code: 'no-webgpu',
    title: 'WebGPU is not available in this browser',
    message: missing
      ? 'This browser does not offer WebGPU, which this page needs to run the network on your GPU.'
      : 'This browser has WebGPU but offered no GPU adapter: WebGPU may be disabled, or your GPU or its driver blocklisted.',
    advice: WEBGPU_ADVICE,
    detail,
  };
}

/** The missing tensors a WeightsError lists ("missing (n):" then one name per line). */
export function missingTensors(message: string): string[] {
  const m = /missing \(\d+\):\n((?: {4}.*\n?)+)/.exec(message);
  return m
    ? m[1]
        .split('\n')
        .filter(Boolean)
        .map((l) => l.trim().split(' ')[0])
    : [];
}

export function weightsError(e: WeightsError): AppError {
  const msg = e.message;
  const missing = missingTensors(msg);
  const notMsvsr = /does not match|not PP-MSVSR/.test(msg);
  let message = firstLine(msg);
  if (missing.length) message = `These weights are missing the tensor ${missing[0]}${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}.`;
  else if (/not PP-MSVSR weights/.test(msg)) message = 'None of the tensors in this file has a PP-MSVSR name and shape.';
  else if (/not a \.pdparams/.test(msg)) message = 'This is neither a .pdparams (Paddle) nor a .safetensors file.';
  return {
    code: 'weights',
    title: notMsvsr ? 'These weights are not PP-MSVSR' : 'These weights cannot be read',
    message,
    advice: [
      "Use PaddleGAN's PP-MSVSR_reds_x4.pdparams (or PP-MSVSR-L), or a .safetensors written from it by `msvsr convert`.",
      'The file is only read, never executed: a pickle is parsed by an allow-list, so a wrong file is refused, not run.',
    ],
    detail: msg,
  };
}

/** Any failure during a preview or a run. */
export function classify(e: unknown): AppError {
  if (e instanceof AppFailure) return e.error;
  if (e instanceof WeightsError) return weightsError(e);
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof PlanLimitError) {
    return {
      code: 'memory',
      title: 'These frames do not fit the GPU memory budget',
      message: firstLine(msg),
      advice: ['Raise "GPU memory" if your GPU has more.', 'Use fewer frames per pass.', 'Use precision f16 where your GPU has it (half the memory).'],
      detail: msg,
    };
  }
  if (e instanceof OutOfMemoryError || e instanceof PlanAllocationError || /out of memory|gave up after/i.test(msg)) {
    return {
      code: 'oom',
      title: 'The GPU ran out of memory',
      message: 'The GPU refused the memory this run needs, even after the plan was made smaller.',
      advice: ['Lower "GPU memory" and start again: the planner then uses shorter windows or smaller tiles.', 'Close other tabs or programs that use the GPU.'],
      detail: msg,
    };
  }
  if (e instanceof DeviceLostError) {
    return {
      code: 'gpu',
      title: 'The GPU device was lost',
      message: firstLine(msg),
      advice: ['Reload the page and start again.', 'Lower "GPU memory": a driver may reset a GPU that runs out of memory.'],
      detail: msg,
    };
  }
  if (e instanceof GpuError && /No WebGPU/.test(msg)) return noWebGpu(msg);
  if (e instanceof FeatureError) {
    return { code: 'gpu', title: `This GPU lacks ${e.feature}`, message: firstLine(msg), advice: ['Choose precision f32.'], detail: msg };
  }
  if (/encod/i.test(msg)) {
    return {
      code: 'codec-encode',
      title: 'The browser could not encode the video',
      message: firstLine(msg),
      advice: ['Choose another output codec (VP9 or AV1), or "PNG sequence" (lossless, no audio).'],
      detail: msg,
    };
  }
  if (/decod/i.test(msg)) {
    return {
      code: 'codec-decode',
      title: 'The browser could not decode the video',
      message: firstLine(msg),
      advice: ['Convert it to H.264 first, e.g.: ffmpeg -i input -c:v libx264 -crf 16 -c:a copy output.mp4'],
      detail: msg,
    };
  }
  return {
    code: 'internal',
    title: 'Something went wrong',
    message: firstLine(msg),
    advice: ['Reload the page and try again; if it happens again, report it with the details below.'],
    detail: e instanceof Error && e.stack ? `${msg}\n${e.stack}` : msg,
  };
}
