// Browser host: navigator.gpu and fetch.
import type { Platform } from './platform.js';

export const browserPlatform: Platform = {
  async acquireGPU() {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) throw new Error('WebGPU is not available in this browser (navigator.gpu is undefined).');
    return gpu;
  },
  releaseGPU() {},
  async readFile(source) {
    const res = await fetch(source);
    if (!res.ok) throw new Error(`${String(source)}: HTTP ${res.status} ${res.statusText}`);
    return new Uint8Array(await res.arrayBuffer());
  },
  env: () => undefined,
  adapterHelp: 'Use a browser with WebGPU enabled (Chrome/Edge 113+, Safari 26+, Firefox 141+ on Windows).',
};
