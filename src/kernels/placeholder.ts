import type { Gpu } from '../gpu/device.js';

// Unused binding slots of a kernel still need a buffer; one small one per device serves them all.
const held = new WeakMap<GPUDevice, GPUBuffer>();

export function placeholder(gpu: Gpu): GPUBuffer {
  let b = held.get(gpu.device);
  if (!b) {
    b = gpu.device.createBuffer({ label: 'unused slot', size: 16, usage: GPUBufferUsage.STORAGE });
    held.set(gpu.device, b);
  }
  return b;
}
