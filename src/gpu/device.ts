// The GPU device: adapter choice, the limits and features the kernels want, and errors that surface as
// exceptions. WebGPU reports validation errors, out-of-memory and device loss asynchronously; a Gpu collects
// them and throws at the next synchronisation point, so a broken dispatch never reads back as zeros.
import { platform } from '../platform/platform.js';
import { BufferLimitError, DeviceLostError, FeatureError, GpuError, OutOfMemoryError } from './errors.js';

export { GpuError };

export interface DeviceOptions {
  /** Adapter name filter (defaults to the MSVSR_ADAPTER environment variable). */
  adapter?: string;
  powerPreference?: GPUPowerPreference;
  /**
   * 'adapter' (default) asks for the adapter's maximum limits; 'default' keeps WebGPU's defaults (16 KiB of
   * workgroup memory, 128 MiB bindings), as a browser page that asks for nothing gets them.
   */
  limits?: 'adapter' | 'default';
  /**
   * Opt in to the adapter's experimental features (Dawn's allow_unsafe_apis in Node; in a browser, whatever
   * the browser was started with): today the subgroup matrices (`chromium-experimental-subgroup-matrix`,
   * tensor cores) that conv2d_matrix runs on. Off by default (MSVSR_UNSAFE_APIS=1 in Node's environment turns
   * it on): the API may change or misbehave.
   */
  unsafeApis?: boolean;
}

const WANTED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
] as const;

const WANTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;
const SUBGROUP_MATRIX = 'chromium-experimental-subgroup-matrix';

/** A subgroup-matrix shape the adapter offers for f16 products accumulated in f32 (and its subgroup size). */
export interface MatrixConfig {
  M: number;
  N: number;
  K: number;
  /** The adapter's largest subgroup size: a workgroup's x size must be a multiple of it. */
  subgroupSize: number;
}

export interface AdapterDescription {
  name: string;
  vendor: string;
  architecture: string;
  description: string;
  backend: string;
  /** f16 x f16 -> f32 subgroup-matrix shapes, when the device has the feature (unsafeApis only). */
  matrix?: MatrixConfig[];
}

/**
 * Test hooks: called where a real failure would surface, so tests can inject one (an allocation that fails,
 * a device lost in the middle of a chunk) and check that the run recovers.
 */
export interface GpuHooks {
  /** Before each createBuffer; throwing here is an allocation failure. */
  allocate?(label: string, bytes: number): void;
  /** After each submit through Gpu.submit. */
  submitted?(): void;
}

interface Opened {
  device: GPUDevice;
  adapter: AdapterDescription;
  gpu: GPU;
}

export class Gpu {
  private errors: string[] = [];
  /** Buffers made through createBuffer and not yet released, with their sizes. */
  private readonly live = new Map<GPUBuffer, number>();
  private lostMessage: string | undefined;
  private destroyed = false;
  private current: GPUDevice;
  private adapterDesc: AdapterDescription;
  /** Times the device was reopened after a loss. */
  reopened = 0;
  hooks: GpuHooks = {};

  private constructor(
    device: GPUDevice,
    adapter: AdapterDescription,
    /** The platform GPU object to release with the device; absent for a device the caller owns. */
    private gpu: GPU | undefined,
    /** How the device was opened (a device the caller owns cannot be reopened). */
    readonly options?: DeviceOptions,
  ) {
    this.current = device;
    this.adapterDesc = adapter;
    this.attach(device);
  }

  private attach(device: GPUDevice): void {
    device.addEventListener('uncapturederror', (ev) => {
      if (device !== this.current) return;
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.errors.push(`${e.constructor.name}: ${e.message}`);
    });
    void device.lost.then((info) => {
      if (device === this.current && !this.destroyed) this.lostMessage = `GPU device lost (${info.reason}): ${info.message}`;
    });
  }

  get device(): GPUDevice {
    return this.current;
  }

  get adapter(): AdapterDescription {
    return this.adapterDesc;
  }

  private static async open(opts: DeviceOptions): Promise<Opened> {
    const p = platform();
    const name = opts.adapter ?? p.env('MSVSR_ADAPTER') ?? undefined;
    const unsafe = opts.unsafeApis ?? p.env('MSVSR_UNSAFE_APIS') === '1';
    let gpu: GPU;
    let adapter: GPUAdapter | null = null;
    try {
      gpu = await p.acquireGPU(name || undefined, unsafe);
    } catch (e) {
      throw new GpuError(`No WebGPU implementation: ${(e as Error).message}\n${p.adapterHelp}`);
    }
    try {
      adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
    } catch (e) {
      p.releaseGPU(gpu);
      const why = (e as Error).message;
      throw new GpuError(name ? `No WebGPU adapter matches MSVSR_ADAPTER="${name}": ${why}` : `No WebGPU adapter: ${why}\n${p.adapterHelp}`);
    }
    if (!adapter) {
      p.releaseGPU(gpu);
      throw new GpuError(`No WebGPU adapter found.\n${p.adapterHelp}`);
    }
    const requiredLimits: Record<string, number> = {};
    if (opts.limits !== 'default') for (const k of WANTED_LIMITS) requiredLimits[k] = adapter.limits[k];
    const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
    const i = adapter.info;
    const matrix = unsafe && adapter.features.has(SUBGROUP_MATRIX) && adapter.features.has('shader-f16') ? matrixConfigs(i) : [];
    if (matrix.length) requiredFeatures.push(SUBGROUP_MATRIX as GPUFeatureName);
    const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
    const desc: AdapterDescription = {
      name: i.description || i.device || [i.vendor, i.architecture].filter(Boolean).join(' ') || 'unknown adapter',
      vendor: i.vendor,
      architecture: i.architecture,
      description: i.description,
      backend: (i as unknown as { backendType?: string }).backendType ?? '',
      ...(matrix.length ? { matrix } : {}),
    };
    return { device, adapter: desc, gpu };
  }

  static async create(opts: DeviceOptions = {}): Promise<Gpu> {
    const o = await Gpu.open(opts);
    return new Gpu(o.device, o.adapter, o.gpu, opts);
  }

  /**
   * Replaces a lost device with a new one from the same adapter choice, in place (everything made on the old
   * device is gone: plans must be rebuilt). Only for a device this Gpu opened itself.
   */
  async reopen(): Promise<void> {
    if (!this.gpu) throw new GpuError('cannot reopen a GPU device owned by the caller');
    if (this.destroyed) throw new GpuError('GPU device was destroyed');
    const old = this.current;
    const oldGpu = this.gpu;
    this.live.clear();
    old.destroy();
    const o = await Gpu.open(this.options ?? {});
    this.current = o.device;
    this.adapterDesc = o.adapter;
    this.gpu = o.gpu;
    this.attach(o.device);
    platform().releaseGPU(oldGpu);
    this.errors = [];
    this.lostMessage = undefined;
    this.reopened++;
  }

  /**
   * Whether the device is lost. A lost device rejects what is pending before its `lost` promise settles, so
   * an error may arrive first: this waits a moment for the promise before answering.
   */
  async isLost(waitMs = 200): Promise<boolean> {
    if (this.lostMessage !== undefined) return true;
    const settled = await Promise.race([this.current.lost.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), waitMs))]);
    return settled && !this.destroyed;
  }

  /** Submits command buffers (and calls the test hook). */
  submit(cbs: GPUCommandBuffer[]): void {
    this.current.queue.submit(cbs);
    this.hooks.submitted?.();
  }

  /** Wraps a device the caller created and keeps ownership of (destroy() leaves it alone). */
  static wrap(device: GPUDevice): Gpu {
    const i = device.adapterInfo;
    const name = i?.description || i?.device || [i?.vendor, i?.architecture].filter(Boolean).join(' ') || 'caller-provided device';
    return new Gpu(device, { name, vendor: i?.vendor ?? '', architecture: i?.architecture ?? '', description: i?.description ?? '', backend: '' }, undefined);
  }

  get f16(): boolean {
    return this.device.features.has('shader-f16');
  }
  get subgroups(): boolean {
    return this.device.features.has('subgroups');
  }
  /** The subgroup-matrix shape conv2d_matrix uses (the adapter's first f16 -> f32 one), if the device has one. */
  get matrix(): MatrixConfig | undefined {
    return this.device.features.has(SUBGROUP_MATRIX) ? this.adapterDesc.matrix?.[0] : undefined;
  }
  get timestamps(): boolean {
    return this.device.features.has('timestamp-query');
  }
  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** True when this Gpu opened its device itself, so a lost device can be replaced by `Gpu.create(options)`. */
  get reopenable(): boolean {
    return this.gpu !== undefined;
  }

  /** Throws a FeatureError naming the adapter and what needs the feature. */
  requireFeature(feature: GPUFeatureName, what: string, instead: string): void {
    if (!this.device.features.has(feature)) {
      throw new FeatureError(`${what} needs the WebGPU feature ${feature}, which adapter "${this.adapter.name}" lacks; ${instead}`, feature);
    }
  }

  /** Throws if the device was lost or an error was reported since the last check. */
  check(): void {
    if (this.destroyed) throw new GpuError('GPU device was destroyed');
    if (this.lostMessage) throw new DeviceLostError(this.lostMessage);
    if (this.errors.length) {
      const all = this.errors.splice(0);
      throw new GpuError(all.length === 1 ? all[0] : `${all.length} GPU errors:\n${all.join('\n')}`);
    }
  }

  /** Runs `fn` inside validation + out-of-memory error scopes and throws what they caught. */
  async scoped<T>(what: string, fn: () => T): Promise<T> {
    const d = this.device;
    d.pushErrorScope('out-of-memory');
    d.pushErrorScope('validation');
    let result: { value: T } | { error: unknown };
    try {
      result = { value: fn() };
    } catch (error) {
      result = { error };
    }
    // The scopes are popped whatever fn did; what they caught explains a throw better than the throw itself.
    const v = await d.popErrorScope();
    const m = await d.popErrorScope();
    if (v) throw new GpuError(`${what}: ${v.message}`);
    if (m) throw new OutOfMemoryError(`${what}: ${m.message}`);
    if ('error' in result) throw result.error;
    return result.value;
  }

  /** Waits for submitted work and surfaces any error it produced. */
  async sync(): Promise<void> {
    this.check();
    await this.device.queue.onSubmittedWorkDone();
    this.check();
  }

  createBuffer(label: string, size: number, usage: GPUBufferUsageFlags): GPUBuffer {
    this.hooks.allocate?.(label, size);
    const max = this.device.limits.maxBufferSize;
    if (size > max) {
      throw new BufferLimitError(`${label}: buffer of ${size} bytes exceeds this adapter's maxBufferSize (${max} bytes)`, label, size, max);
    }
    const b = this.device.createBuffer({ label, size: Math.max(4, Math.ceil(size / 4) * 4), usage });
    this.live.set(b, b.size);
    return b;
  }

  /** Destroys a buffer made with createBuffer. */
  release(b: GPUBuffer | undefined): void {
    if (!b) return;
    this.live.delete(b);
    b.destroy();
  }

  /** Bytes of the buffers made with createBuffer that are still alive. */
  get liveBytes(): number {
    let n = 0;
    for (const v of this.live.values()) n += v;
    return n;
  }

  /** Copies a GPU buffer range back to the host. */
  async read(buffer: GPUBuffer, offset = 0, size = buffer.size - offset): Promise<ArrayBuffer> {
    this.check();
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      const enc = this.device.createCommandEncoder();
      enc.copyBufferToBuffer(buffer, offset, staging, 0, size);
      this.device.queue.submit([enc.finish()]);
      try {
        await staging.mapAsync(GPUMapMode.READ);
      } catch (e) {
        this.check();
        throw new GpuError(`readback failed: ${(e as Error).message}`);
      }
      this.check();
      return staging.getMappedRange().slice(0);
    } finally {
      staging.destroy();
    }
  }

  /** Releases the device; in Node this also lets the process exit. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (!this.gpu) return;
    this.device.destroy();
    platform().releaseGPU(this.gpu);
  }
}

/** The adapter's f16 -> f32 subgroup-matrix shapes (the experimental adapterInfo.subgroupMatrixConfigs). */
function matrixConfigs(info: GPUAdapterInfo): MatrixConfig[] {
  const i = info as unknown as {
    subgroupMaxSize?: number;
    subgroupMatrixConfigs?: { componentType: string; resultComponentType: string; M: number; N: number; K: number }[];
  };
  const size = i.subgroupMaxSize ?? 0;
  if (!size) return [];
  return (i.subgroupMatrixConfigs ?? [])
    .filter((c) => c.componentType === 'f16' && c.resultComponentType === 'f32' && c.M > 0 && c.N > 0 && c.K > 0)
    .map((c) => ({ M: c.M, N: c.N, K: c.K, subgroupSize: size }));
}

/** Opens the WebGPU device (dawn.node in Node, navigator.gpu in browsers). */
export function getDevice(opts?: DeviceOptions): Promise<Gpu> {
  return Gpu.create(opts);
}
