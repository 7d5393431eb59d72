// Exit 0 and print the adapter when dawn.node finds a WebGPU adapter; exit 1 otherwise. Used by .ci/run
// before the build exists, hence plain JS.
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
process.env.XDG_RUNTIME_DIR ??= '/tmp';
let gpu = create([]);
try {
  const a = await gpu.requestAdapter();
  if (!a) throw new Error('requestAdapter returned null');
  console.log(
    `adapter: ${a.info.description || a.info.device} (features: ${[...a.features].filter((f) => ['shader-f16', 'subgroups', 'timestamp-query'].includes(f)).join(', ')})`,
  );
  gpu = null;
} catch (e) {
  console.log(`no WebGPU adapter: ${e.message.split('\n')[0]}`);
  process.exit(1);
}
