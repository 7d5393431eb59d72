// The portable public surface, shared by the Node and browser entry points.
export { getDevice, Gpu, GpuError, type DeviceOptions } from './graph/device.js';
export { Tensor, type DType } from './graph/tensor.js';
