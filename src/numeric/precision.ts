// The one precision vocabulary: how activations are stored on the GPU ('f32', or 'f16' with f32
// accumulation) and how weights files store their tensors. Every option, tensor and file dtype uses it.
export type Precision = 'f32' | 'f16';

export const PRECISIONS: readonly Precision[] = ['f32', 'f16'];

export const bytesPerScalar = (p: Precision): number => (p === 'f32' ? 4 : 2);

export function isPrecision(v: unknown): v is Precision {
  return v === 'f32' || v === 'f16';
}
