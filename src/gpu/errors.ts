// Typed GPU errors. Callers choose what to tell the user (a smaller chunk, f16, another adapter) from the
// error's class and fields, never from its message text.

/** Anything the WebGPU device reported: validation errors, out-of-memory, device loss, no adapter. */
export class GpuError extends Error {
  override name = 'GpuError';
}

/** The device was lost (driver reset, `device.destroy()` by someone else); a new device may work. */
export class DeviceLostError extends GpuError {
  override name = 'DeviceLostError';
}

/** The device reported out-of-memory for an allocation. */
export class OutOfMemoryError extends GpuError {
  override name = 'OutOfMemoryError';
}

/** One tensor is larger than a single storage binding may be (maxStorageBufferBindingSize). */
export class BindingLimitError extends GpuError {
  override name = 'BindingLimitError';
  constructor(
    message: string,
    readonly label: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(message);
  }
}

/** One buffer is larger than the device allows (maxBufferSize). */
export class BufferLimitError extends GpuError {
  override name = 'BufferLimitError';
  constructor(
    message: string,
    readonly label: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(message);
  }
}

/** The device could not allocate a plan's buffers (out of memory), or an allocation budget refused them. */
export class PlanAllocationError extends GpuError {
  override name = 'PlanAllocationError';
  constructor(
    message: string,
    /** Bytes the plan asked for. */
    readonly bytes: number,
  ) {
    super(message);
  }
}

/** A kernel specialization needs more workgroup memory or invocations than the device offers. */
export class KernelLimitError extends GpuError {
  override name = 'KernelLimitError';
}

/** A WebGPU feature the request needs (e.g. shader-f16) is missing on this adapter. */
export class FeatureError extends GpuError {
  override name = 'FeatureError';
  constructor(
    message: string,
    readonly feature: GPUFeatureName,
  ) {
    super(message);
  }
}
