// The one seam between the portable core and its host. The core (kernels, graph, weights, API) never
// imports Node modules; an entry point (src/index.ts for Node, src/browser.ts for browsers) installs a
// Platform before anything asks for a GPU or a file.

export interface Platform {
  /**
   * A WebGPU entry point; `adapter` is a name filter (MSVSR_ADAPTER in Node); `unsafeApis` asks for the
   * experimental features (Dawn's allow_unsafe_apis), where the platform can.
   */
  acquireGPU(adapter?: string, unsafeApis?: boolean): Promise<GPU>;
  /** Drops the platform's hold on a GPU object returned by acquireGPU (dawn.node keeps Node alive). */
  releaseGPU(gpu: GPU): void;
  /** Reads a local path or URL into memory. */
  readFile(source: string | URL): Promise<Uint8Array>;
  /** Environment lookup (empty in browsers). */
  env(name: string): string | undefined;
  /** Text that tells a user how to get a WebGPU adapter on this platform. */
  adapterHelp: string;
  /**
   * A small persistent store for what the library learns about the machine (the tuner's measurements): a file
   * in the cache folder in Node, localStorage in a browser. Failures are ignored (the store is an optimisation).
   */
  loadState(name: string): string | undefined;
  saveState(name: string, text: string): void;
  /** Where loadState/saveState keep `name`, for messages (e.g. msvsr info). */
  stateLocation(name: string): string;
}

let current: Platform | undefined;

export function setPlatform(p: Platform): void {
  current = p;
}

export function platform(): Platform {
  if (!current) {
    throw new Error('msvsr-webgpu: no platform installed; import the package entry point (msvsr-webgpu), not internal modules');
  }
  return current;
}
