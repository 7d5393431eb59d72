// The portable public surface, shared by the Node and browser entry points.
export { getDevice, Gpu, GpuError, type DeviceOptions, type AdapterDescription } from './gpu/device.js';
export { Tensor } from './gpu/tensor.js';
export {
  loadModel,
  modelFrom,
  upscaleFrames,
  upscaleStream,
  Upscaler,
  planUpscale,
  toUint8,
  type Frame,
  type Model,
  type Precision,
  type UpscaleOptions,
  type UpscalerOptions,
} from './api.js';
export {
  DEFAULT_CHUNK,
  DEFAULT_HALO,
  DEFAULT_OVERLAP,
  OptionError,
  checkChunkSize,
  checkHalo,
  checkOverlap,
  checkPrecision,
  checkTune,
  parseBytes,
} from './options.js';
export { defaultBudget, planChunk, PlanLimitError, type ChunkPlan, type MemoryLimits, type PlanRequest } from './graph/planner.js';
export { streamStart, temporalWindows, type Window } from './windows.js';
export { loadTuneTable, TUNE_STATE } from './upscaler.js';
export { bicubic, keys } from './bicubic.js';
export { adapterKey, convCandidates, describeVariant, tuneConv, type ConvVariant, type TuneMode, type TuneTable } from './graph/tuner.js';
export { BindingLimitError, BufferLimitError, DeviceLostError, FeatureError, KernelLimitError, OutOfMemoryError, PlanAllocationError } from './gpu/errors.js';
export { WeightsError } from './weights/errors.js';
export { readWeights, summarize, toSafetensors, type LoadedWeights, type WeightsSummary } from './weights/load.js';
export { CONFIGS, type ConfigName, type MsvsrConfig } from './weights/manifest.js';
