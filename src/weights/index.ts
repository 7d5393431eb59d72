// The weights layer: safe .pdparams (pickle) and safetensors readers, the architecture manifest, validation.
export { WeightsError } from './errors.js';
export {
  readWeights,
  readStateDict,
  detectFormat,
  summarize,
  toSafetensors,
  f16MaxError,
  type LoadedWeights,
  type WeightsFormat,
  type WeightsSummary,
} from './load.js';
export {
  PP_MSVSR,
  PP_MSVSR_L,
  CONFIGS,
  SPYNET_MEAN,
  SPYNET_STD,
  buildManifest,
  manifestOf,
  manifestStats,
  detectConfig,
  validateTensors,
  countParameters,
  elementCount,
  type ConfigName,
  type MsvsrConfig,
  type ManifestEntry,
  type ManifestStats,
} from './manifest.js';
export type { NamedTensor } from './named-tensor.js';
export { readSafetensors, writeSafetensors, looksLikeSafetensors, type SafetensorsContents } from './safetensors.js';
export { decodeF16, decodeF32 } from './float-data.js';
export { readPdparams, type PdparamsContents } from './pdparams.js';
export { unpickle } from './pickle.js';
export { PICKLE_LIMITS } from './pickle-values.js';
