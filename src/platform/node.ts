// Node host: dawn.node for WebGPU, the file system for weights. Only Node entry points import this file.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchBytes } from './download.js';
import type { Platform } from './platform.js';

// One dawn.node GPU object per adapter filter, reference-counted: while it is referenced, dawn.node keeps
// the event loop alive, so the last release drops it and the process can exit on its own.
const held = new Map<string, { gpu: GPU; refs: number }>();

function flags(adapter: string | undefined, unsafeApis: boolean): string[] {
  // Nanosecond timestamps for the benchmarks (Dawn quantizes them by default).
  const f = ['disable-dawn-features=timestamp_quantization'];
  if (unsafeApis) f.push('enable-dawn-features=allow_unsafe_apis');
  if (adapter) f.push(`adapter=${adapter}`);
  return f;
}

export const nodePlatform: Platform = {
  async acquireGPU(adapter, unsafeApis = false) {
    const key = `${unsafeApis ? 'unsafe ' : ''}${adapter ?? ''}`;
    const h = held.get(key);
    if (h) {
      h.refs++;
      return h.gpu;
    }
    const mod = (await import('webgpu')) as unknown as { create(flags: string[]): GPU; globals: Record<string, unknown> };
    // GPUBufferUsage & co. are globals in browsers; dawn.node hands them out separately.
    for (const [k, v] of Object.entries(mod.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
    process.env.XDG_RUNTIME_DIR ??= '/tmp'; // the Vulkan loader complains loudly without it
    const gpu = mod.create(flags(adapter, unsafeApis));
    held.set(key, { gpu, refs: 1 });
    return gpu;
  },
  releaseGPU(gpu) {
    for (const [k, h] of held) {
      if (h.gpu === gpu && --h.refs === 0) held.delete(k);
    }
  },
  async readFile(source) {
    if (source instanceof URL || /^[a-z]+:\/\//i.test(source)) {
      const url = source instanceof URL ? source : new URL(source);
      if (url.protocol === 'file:') return new Uint8Array(await readFile(fileURLToPath(url)));
      return fetchBytes(url); // size cap and idle timeout, as in browsers
    }
    return new Uint8Array(await readFile(source));
  },
  env: (name) => process.env[name],
  adapterHelp:
    'Install a GPU driver with Vulkan support, or a software Vulkan driver: Mesa lavapipe >= 23 ' +
    '(Debian 12: add bookworm-backports from your Debian mirror to the apt sources, then ' +
    'apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers; the README has the command). ' +
    'MSVSR_ADAPTER=<name> picks an adapter by name.',
  loadState(name) {
    try {
      const file = path.join(cacheDir(), name);
      const st = statSync(file);
      // a regular file of a sensible size only (not a FIFO that would block, not a huge file)
      if (!st.isFile() || st.size > MAX_STATE_BYTES) return undefined;
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  },
  saveState(name, text) {
    const file = path.join(cacheDir(), name);
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, file);
    } catch {
      // a read-only cache folder: the state is only an optimisation
    }
  },
  stateLocation: (name) => path.join(cacheDir(), name),
};

/** The largest state file read back (a tuner table is a few kB). */
const MAX_STATE_BYTES = 4 * 2 ** 20;

/** MSVSR_CACHE_DIR, else $XDG_CACHE_HOME/msvsr (an absolute XDG_CACHE_HOME only), else ~/.cache/msvsr. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MSVSR_CACHE_DIR) return path.resolve(env.MSVSR_CACHE_DIR);
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'msvsr');
  if (process.platform === 'win32' && env.LOCALAPPDATA) return path.join(env.LOCALAPPDATA, 'msvsr', 'cache');
  return path.join(os.homedir(), '.cache', 'msvsr');
}
