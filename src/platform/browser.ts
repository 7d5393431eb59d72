// Browser host: navigator.gpu and fetch.
import { fetchBytes } from './download.js';
import type { Platform } from './platform.js';

export const browserPlatform: Platform = {
  async acquireGPU() {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) throw new Error('WebGPU is not available in this browser (navigator.gpu is undefined).');
    return gpu;
  },
  releaseGPU() {},
  // Any URL fetch takes (relative to the page, blob:, data:), with the downloader's size cap and idle timeout.
  readFile: (source) => fetchBytes(source),
  env: () => undefined,
  adapterHelp: 'Use a browser with WebGPU enabled (Chrome/Edge 113+, Safari 26+, Firefox 141+ on Windows).',
  loadState(name) {
    try {
      return globalThis.localStorage?.getItem(`msvsr:${name}`) ?? undefined;
    } catch {
      return undefined;
    }
  },
  saveState(name, text) {
    try {
      globalThis.localStorage?.setItem(`msvsr:${name}`, text);
    } catch {
      // storage full or disabled: the state is only an optimisation
    }
  },
  stateLocation: (name) => `localStorage["msvsr:${name}"]`,
};
