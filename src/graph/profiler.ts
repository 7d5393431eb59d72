// GPU time per dispatch from timestamp queries: each dispatch gets its own compute pass with begin/end
// timestamps. (dawn.node gives nanoseconds with timestamp_quantization disabled, which the Node platform
// does.) Used by the benchmarks; the runner's normal path puts many dispatches in one pass instead.
import type { Gpu } from '../gpu/device.js';
import { encodeDispatch, type Dispatch } from '../kernels/kernel.js';

const MAX_QUERIES = 4096;

/** Runs the dispatches in order, each in its own pass, and returns each one's GPU time in ms. */
export async function timeDispatches(gpu: Gpu, ds: readonly Dispatch[]): Promise<number[]> {
  if (!gpu.timestamps) throw new Error(`adapter ${gpu.adapter.name} has no timestamp-query feature`);
  const out: number[] = [];
  for (let start = 0; start < ds.length; start += MAX_QUERIES / 2) {
    const chunk = ds.slice(start, start + MAX_QUERIES / 2);
    const n = chunk.length * 2;
    const qs = gpu.device.createQuerySet({ type: 'timestamp', count: n });
    const resolve = gpu.device.createBuffer({ size: n * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    try {
      const enc = gpu.device.createCommandEncoder();
      chunk.forEach((d, i) => {
        const pass = enc.beginComputePass({
          label: d.label,
          timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
        });
        encodeDispatch(pass, d);
        pass.end();
      });
      enc.resolveQuerySet(qs, 0, n, resolve, 0);
      gpu.device.queue.submit([enc.finish()]);
      const t = new BigInt64Array(await gpu.read(resolve));
      for (let i = 0; i < chunk.length; i++) out.push(Number(t[2 * i + 1] - t[2 * i]) / 1e6);
    } finally {
      qs.destroy();
      resolve.destroy();
    }
  }
  return out;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
