// The portable public surface, shared by the Node and browser entry points.
export { getDevice, Gpu, GpuError, type DeviceOptions, type AdapterDescription } from './gpu/device.js';
export { Tensor, type DType } from './gpu/tensor.js';
export {
  loadModel,
  modelFrom,
  upscaleFrames,
  upscaleStream,
  Upscaler,
  toUint8,
  DEFAULT_CHUNK,
  type Frame,
  type Model,
  type Precision,
  type UpscaleOptions,
} from './api.js';
export { WeightsError } from './weights/errors.js';
export { readWeights, summarize, toSafetensors, type LoadedWeights, type WeightsSummary } from './weights/load.js';
export { CONFIGS, type ConfigName, type MsvsrConfig } from './weights/manifest.js';
