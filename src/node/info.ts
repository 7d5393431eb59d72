// `msvsr info`: what msvsr would run on — the WebGPU adapter (name, backend, features, limits), what the
// network can use of it, ffmpeg, where the default weights are and which published models are cached.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodePlatform } from '../platform/node.js';
import { adapterKey, describeVariant, getDevice, loadTuneTable, TUNE_STATE } from '../index.js';
import { ffmpegVersion, findFfmpeg } from './ffmpeg.js';
import { cachedModels, defaultWeightsPath, weightsUrl } from './weights.js';

export interface Info {
  msvsr: string;
  node: string;
  webgpu: string;
  adapter: {
    name: string;
    vendor: string;
    architecture: string;
    description: string;
    device: string;
    backend: string;
    fallback: boolean;
    subgroupMinSize?: number;
    subgroupMaxSize?: number;
  };
  /** Every feature the adapter offers. */
  features: string[];
  /** The features msvsr enables on its device. */
  enabled: string[];
  /** Subgroup-matrix shapes (f16 -> f32) the f16 convs run on: only with --unsafe-apis, on an adapter that has them. */
  matrix: { M: number; N: number; K: number; subgroupSize: number }[];
  precisions: string[];
  limits: Record<string, number>;
  ffmpeg: { ffmpeg: string; ffprobe: string; version?: string } | { error: string };
  weights: { default: string; present: boolean; url: string; MSVSR_WEIGHTS?: string };
  /** PaddleGAN's published weights (--model) and whether each is in the cache. */
  models: ReturnType<typeof cachedModels>;
  /** The tuner's measured choices for this adapter (--tune full), by conv shape. */
  tune: { file: string; choices: { shape: string; variant: string; ms: number }[] };
}

function packageVersion(name: string): string {
  try {
    const req = createRequire(import.meta.url);
    const file = req.resolve(`${name}/package.json`);
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

function ownVersion(): string {
  // dist/src/node/info.js or src/node/info.ts: the package root is three or two levels up
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const p = path.join(dir, 'package.json');
    if (fs.existsSync(p)) {
      const j = JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (j.name === 'msvsr-webgpu') return j.version ?? '?';
    }
    dir = path.dirname(dir);
  }
  return '?';
}

/** The backend dawn.node picks by default on each OS (the adapter does not report it). */
function backendGuess(): string {
  return process.platform === 'darwin' ? 'metal' : process.platform === 'win32' ? 'd3d12' : 'vulkan';
}

export async function gatherInfo(env: NodeJS.ProcessEnv = process.env): Promise<Info> {
  // The device msvsr opens (what the network uses), then the raw adapter for everything it offers.
  const gpu = await getDevice();
  let adapter: GPUAdapter | null;
  let enabled: string[];
  const tuneKey = `${adapterKey(gpu)} | `;
  const matrix = gpu.adapter.matrix ?? [];
  const host = await nodePlatform.acquireGPU(env.MSVSR_ADAPTER || undefined, env.MSVSR_UNSAFE_APIS === '1');
  try {
    enabled = [...gpu.device.features].sort();
    adapter = await host.requestAdapter({ powerPreference: 'high-performance' });
  } finally {
    gpu.destroy();
  }
  try {
    if (!adapter) throw new Error('no WebGPU adapter');
    const i = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number; isFallbackAdapter?: boolean };
    const limits: Record<string, number> = {};
    for (const k in adapter.limits) {
      const v = (adapter.limits as unknown as Record<string, unknown>)[k];
      if (typeof v === 'number') limits[k] = v;
    }
    let ff: Info['ffmpeg'];
    try {
      const t = findFfmpeg(env);
      ff = { ...t, version: ffmpegVersion(t.ffmpeg) };
    } catch (e) {
      ff = { error: (e as Error).message };
    }
    const def = defaultWeightsPath(env);
    return {
      msvsr: ownVersion(),
      node: process.version,
      webgpu: packageVersion('webgpu'),
      adapter: {
        name: gpu.adapter.name,
        vendor: i.vendor,
        architecture: i.architecture,
        description: i.description,
        device: i.device,
        backend: gpu.adapter.backend || `${backendGuess()} (dawn's default on ${process.platform})`,
        fallback: !!(i.isFallbackAdapter ?? (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter),
        subgroupMinSize: i.subgroupMinSize,
        subgroupMaxSize: i.subgroupMaxSize,
      },
      features: [...adapter.features].sort(),
      enabled,
      matrix,
      precisions: enabled.includes('shader-f16') ? ['f32', 'f16'] : ['f32'],
      limits,
      ffmpeg: ff,
      weights: { default: def, present: fs.existsSync(def), url: weightsUrl(env), ...(env.MSVSR_WEIGHTS ? { MSVSR_WEIGHTS: env.MSVSR_WEIGHTS } : {}) },
      models: cachedModels(env),
      tune: {
        file: nodePlatform.stateLocation(TUNE_STATE),
        choices: Object.entries(loadTuneTable())
          .filter(([k]) => k.startsWith(tuneKey))
          .map(([k, v]) => ({ shape: k.slice(tuneKey.length), variant: describeVariant(v.choice), ms: v.ms })),
      },
    };
  } finally {
    nodePlatform.releaseGPU(host);
  }
}

export function formatInfo(info: Info): string {
  const a = info.adapter;
  const lines = [
    `msvsr ${info.msvsr}  (node ${info.node}, webgpu ${info.webgpu})`,
    `adapter:      ${a.name}`,
    `vendor:       ${a.vendor || '?'} (${a.architecture || '?'})${a.fallback ? ' — software / fallback adapter' : ''}`,
    `backend:      ${a.backend}`,
    ...(a.subgroupMinSize ? [`subgroups:    ${a.subgroupMinSize}..${a.subgroupMaxSize} lanes`] : []),
    `precision:    ${info.precisions.join(', ')}${info.precisions.includes('f16') ? '' : ' (no shader-f16)'}`,
    `msvsr uses:   ${info.enabled.join(', ') || 'none'}`,
    `tensor cores: ${
      info.matrix.length
        ? `subgroup matrices f16 ${info.matrix.map((m) => `${m.M}x${m.N}x${m.K}`).join(', ')} -> f32 (subgroups of ${info.matrix[0].subgroupSize}): the f16 convs use them`
        : info.features.includes('chromium-experimental-subgroup-matrix')
          ? 'subgroup matrices offered, but none for f16 -> f32'
          : 'none (subgroup matrices need --unsafe-apis and an adapter that has them)'
    }`,
    `features:     ${info.features.join(', ')}`,
    `ffmpeg:       ${'error' in info.ffmpeg ? `not found — ${info.ffmpeg.error}` : `${info.ffmpeg.ffmpeg} (${info.ffmpeg.version ?? '?'}); ffprobe ${info.ffmpeg.ffprobe}`}`,
    `weights:      ${info.weights.MSVSR_WEIGHTS ? `MSVSR_WEIGHTS=${info.weights.MSVSR_WEIGHTS}` : `${info.weights.default} (${info.weights.present ? 'present' : `absent: downloaded on first use from ${info.weights.url}`})`}`,
    'models (--model):',
    ...info.models.map(
      (m) => `  ${m.name.padEnd(9)} ${m.present ? `cached, ${m.bytes} bytes: ${m.file}` : `not cached (downloaded on first use from ${m.url})`} — ${m.about}`,
    ),
    `tuned convs:  ${info.tune.choices.length ? `${info.tune.choices.length} for this adapter in ${info.tune.file}` : `none for this adapter (msvsr upscale --tune full measures them)`}`,
    ...info.tune.choices.map((c) => `  ${c.shape.padEnd(44)} ${c.variant} (${c.ms.toFixed(2)} ms)`),
    'limits:',
    ...Object.entries(info.limits).map(([k, v]) => `  ${k.padEnd(44)} ${v}`),
  ];
  return lines.join('\n');
}
