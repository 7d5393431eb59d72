import { flow_warp as source } from './wgsl.gen.js';
import { Kernel, type Dispatch } from './kernel.js';
import type { Gpu } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { channelGroup, expectDisjoint, expectNonEmpty, expectShape, pixelWorkgroups, expectDtypesSupported } from './tensor-checks.js';

export type FlowWarpSpec = { S: string; F: string; C4: number; CG: number; BORDER: boolean };

const kernel = new Kernel<FlowWarpSpec>('flow_warp', source);

export type WarpPadding = 'zeros' | 'border';

export interface FlowWarpBinding {
  /** The tensor to sample (h×w×c). */
  src: Tensor;
  /** h×w×2 displacement in pixels: channel 0 = x (horizontal), channel 1 = y. May be f32 while src is f16. */
  flow: Tensor;
  /** h×w×c, same dtype as src. */
  out: Tensor;
}

export function flowWarpSpec(c: number, padding: WarpPadding, dtype: string, flowDtype: string): FlowWarpSpec {
  const c4 = Math.ceil(c / 4);
  return { S: dtype, F: flowDtype, C4: c4, CG: channelGroup(c4), BORDER: padding === 'border' };
}

/**
 * PaddleGAN's flow_warp(src, flow, padding_mode): bilinear sampling of `src` at (x + flow_x, y + flow_y)
 * (grid_sample, align_corners=True). 'zeros' is used for every feature warp, 'border' inside SPyNet.
 */
export async function flowWarp(gpu: Gpu, b: FlowWarpBinding, padding: WarpPadding = 'zeros', label = 'flow_warp'): Promise<Dispatch> {
  const { src, flow, out } = b;
  expectNonEmpty(label, 'src', src);
  expectShape(label, 'flow', flow, src.h, src.w, 2);
  expectShape(label, 'out', out, src.h, src.w, src.c, src.dtype);
  expectDisjoint(label, src, 'src', out, 'out');
  expectDisjoint(label, flow, 'flow', out, 'out');
  expectDtypesSupported(gpu, label, src, flow, out);
  if (padding !== 'zeros' && padding !== 'border') throw new Error(`${label}: padding '${String(padding)}', expected 'zeros' or 'border'`);
  const spec = flowWarpSpec(src.c, padding, src.dtype, flow.dtype);
  const pipeline = await kernel.pipeline(gpu, spec);
  const bindGroup = kernel.bindGroup(gpu, { src: src.binding, flow: flow.binding, dst: out.binding }, { h: src.h, w: src.w });
  const pixels = src.h * src.w;
  return {
    label,
    op: `flow_warp ${padding} c${src.c} @${src.h}x${src.w}`,
    pipeline,
    bindGroup,
    workgroups: pixelWorkgroups(src.h, src.w, Math.ceil(spec.C4 / spec.CG)),
    // per pixel ~16 flops of coordinate/weight math; per output channel 4 multiply-adds
    flops: pixels * (16 + 8 * src.c),
    bytes: src.bytes + flow.bytes + out.bytes,
  };
}
