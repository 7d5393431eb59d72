// The kernel harness. A Kernel is one WGSL file. Its binding layout and its uniform struct layout are read
// from the WGSL with wgsl_reflect, so no binding list is ever written twice. A kernel is specialised by
// replacing the values of its module-scope `const` and `alias` declarations (shapes, tile sizes, fused
// epilogue switches, the storage type): WGSL needs real constants for private array sizes and full unrolling,
// and the text key doubles as the pipeline cache key, as tfjs's shader keys and ncnn's specialization
// constants do. Pipelines are built once per (device, kernel, specialization), and only after the
// specialization's workgroup memory and invocation count are checked against the device's limits.
import { WgslParser, WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import type { Gpu } from '../gpu/device.js';
import { KernelLimitError } from '../gpu/errors.js';

export type SpecValue = number | boolean | string;
/** Values for a kernel's template parameters. Each kernel's `.ts` declares its own typed specialization. */
export type Specialization = Readonly<Record<string, SpecValue>>;

type BindingKind = 'uniform' | 'read-only-storage' | 'storage';
interface BindingInfo {
  name: string;
  binding: number;
  kind: BindingKind;
}
interface UniformField {
  offset: number;
  scalar: 'u32' | 'i32' | 'f32';
  count: number;
}
interface UniformLayout {
  binding: number;
  size: number;
  fields: Map<string, UniformField>;
}

interface DeviceCache {
  layout: GPUBindGroupLayout;
  pipelineLayout: GPUPipelineLayout;
  pipelines: Map<string, Promise<GPUComputePipeline>>;
}

/** What one workgroup of a specialization needs from the device. */
export interface WorkgroupResources {
  /** Bytes of all `var<workgroup>` declarations. */
  storageBytes: number;
  size: [number, number, number];
  invocations: number;
}

const DECL = /^(const|alias)\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*([A-Za-z0-9_<>]+))?\s*=\s*([^;]+);/gm;
const WORKGROUP_VAR = /^var<workgroup>[^;]*;/gm;
const WORKGROUP_SIZE = /@workgroup_size\(([^)]*)\)/;

/** Pipelines compiled in this process (reported by the benchmark next to first-run latency). */
export const compileStats = { pipelines: 0 };

export class Kernel<Spec extends Specialization = Specialization> {
  readonly bindings: BindingInfo[];
  readonly uniform: UniformLayout | undefined;
  /** Declared template parameters and their default values as written. */
  readonly params: Map<string, { kind: 'const' | 'alias'; type?: string }>;
  private readonly caches = new WeakMap<GPUDevice, DeviceCache>();
  private readonly resourceCache = new Map<string, WorkgroupResources>();

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.params = new Map();
    for (const m of source.matchAll(DECL)) this.params.set(m[2], { kind: m[1] as 'const' | 'alias', type: m[3] });
    const r = new WgslReflect(declarationsOnly(source));
    const bindings: BindingInfo[] = [];
    let uniform: UniformLayout | undefined;
    for (const u of r.uniforms) {
      if (u.group !== 0) throw new Error(`${name}.wgsl: only @group(0) is supported (${u.name})`);
      bindings.push({ name: u.name, binding: u.binding, kind: 'uniform' });
      if (uniform) throw new Error(`${name}.wgsl: at most one uniform struct`);
      const fields = new Map<string, UniformField>();
      for (const m of (u.members ?? []) as { name: string; offset: number; size: number; type: { name: string; format?: { name: string } } }[]) {
        const t = m.type.format?.name ?? m.type.name;
        const scalar = (t.startsWith('i') ? 'i32' : t.startsWith('f') ? 'f32' : 'u32') as UniformField['scalar'];
        fields.set(m.name, { offset: m.offset, scalar, count: m.size / 4 });
      }
      uniform = { binding: u.binding, size: Math.ceil(u.size / 16) * 16, fields };
    }
    for (const s of r.storage) {
      if (s.group !== 0) throw new Error(`${name}.wgsl: only @group(0) is supported (${s.name})`);
      bindings.push({ name: s.name, binding: s.binding, kind: s.access === 'read' ? 'read-only-storage' : 'storage' });
    }
    bindings.sort((a, b) => a.binding - b.binding);
    this.bindings = bindings;
    this.uniform = uniform;
  }

  /** The WGSL text for one specialization. */
  specialize(spec: Spec): string {
    const seen = new Set<string>();
    let f16 = false;
    const text = this.source.replace(DECL, (whole, kind: string, id: string, type: string | undefined) => {
      if (!(id in spec)) return whole;
      seen.add(id);
      const v = spec[id];
      if (kind === 'alias') {
        if (String(v).includes('f16')) f16 = true;
        return `alias ${id} = ${v};`;
      }
      return `const ${id}${type ? `: ${type}` : ''} = ${literal(v, type, `${this.name}.${id}`)};`;
    });
    for (const k of Object.keys(spec)) {
      if (!seen.has(k)) throw new Error(`${this.name}.wgsl has no template parameter '${k}'`);
    }
    return f16 && !/^enable f16;/m.test(text) ? `enable f16;\n${text}` : text;
  }

  private cache(gpu: Gpu): DeviceCache {
    let c = this.caches.get(gpu.device);
    if (!c) {
      const layout = gpu.device.createBindGroupLayout({
        label: this.name,
        entries: this.bindings.map((b) => ({
          binding: b.binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: b.kind },
        })),
      });
      c = {
        layout,
        pipelineLayout: gpu.device.createPipelineLayout({ label: this.name, bindGroupLayouts: [layout] }),
        pipelines: new Map(),
      };
      this.caches.set(gpu.device, c);
    }
    return c;
  }

  static key(spec: Specialization): string {
    return Object.keys(spec)
      .sort()
      .map((k) => `${k}=${spec[k]}`)
      .join(',');
  }

  /**
   * Workgroup memory and invocations of a specialization, reflected from its module-scope declarations (a
   * few milliseconds: only the declarations and the entry point's attribute are parsed, not the bodies).
   */
  resources(spec: Spec): WorkgroupResources {
    const key = Kernel.key(spec);
    let r = this.resourceCache.get(key);
    if (r) return r;
    const code = this.specialize(spec);
    const wg = WORKGROUP_SIZE.exec(code);
    if (!wg) throw new Error(`${this.name}.wgsl: no @workgroup_size on the entry point`);
    const decls = [...code.matchAll(DECL)].map((m) => m[0]);
    const vars = [...code.matchAll(WORKGROUP_VAR)].map((m) => m[0]);
    const mini = `${/^enable f16;/m.test(code) ? 'enable f16;\n' : ''}${decls.join('\n')}\n${vars.join('\n')}\n@compute @workgroup_size(${wg[1]}) fn main() {}\n`;
    const reflect = new WgslReflect(mini);
    let storageBytes = 0;
    type TypeArgs = Parameters<WgslReflect['getTypeInfo']>;
    for (const node of new WgslParser().parse(mini) as { storage?: string; type?: TypeArgs[0]; attributes?: TypeArgs[1] }[]) {
      if (node.storage !== 'workgroup' || !node.type) continue;
      storageBytes += reflect.getTypeInfo(node.type, node.attributes)?.size ?? 0;
    }
    const s = reflect.entry.compute[0].workgroupSize as unknown as number[];
    const size: [number, number, number] = [Number(s[0] ?? 1), Number(s[1] ?? 1), Number(s[2] ?? 1)];
    r = { storageBytes, size, invocations: size[0] * size[1] * size[2] };
    this.resourceCache.set(key, r);
    return r;
  }

  /** Why a specialization cannot run on this device (undefined when it can). */
  misfit(gpu: Gpu, spec: Spec): string | undefined {
    const r = this.resources(spec);
    const l = gpu.limits;
    const over: string[] = [];
    if (r.storageBytes > l.maxComputeWorkgroupStorageSize) over.push(`${r.storageBytes} bytes of workgroup memory (limit ${l.maxComputeWorkgroupStorageSize})`);
    if (r.invocations > l.maxComputeInvocationsPerWorkgroup)
      over.push(`${r.invocations} invocations per workgroup (limit ${l.maxComputeInvocationsPerWorkgroup})`);
    const dims = [l.maxComputeWorkgroupSizeX, l.maxComputeWorkgroupSizeY, l.maxComputeWorkgroupSizeZ];
    r.size.forEach((n, i) => {
      if (n > dims[i]) over.push(`workgroup size ${'xyz'[i]} ${n} (limit ${dims[i]})`);
    });
    return over.length ? over.join(', ') : undefined;
  }

  /**
   * The first specialization of `candidates` (in order of preference) that fits the device's workgroup limits;
   * a KernelLimitError with every candidate's numbers when none does.
   */
  fit(gpu: Gpu, candidates: readonly Spec[]): Spec {
    const why: string[] = [];
    for (const c of candidates) {
      const m = this.misfit(gpu, c);
      if (!m) return c;
      why.push(`{${Kernel.key(c)}}: ${m}`);
    }
    throw new KernelLimitError(`${this.name}: no tiling fits this device's compute limits:\n  ${why.join('\n  ')}`);
  }

  /** The compute pipeline for a specialization, compiled once per device after its limits are checked. */
  pipeline(gpu: Gpu, spec: Spec): Promise<GPUComputePipeline> {
    const c = this.cache(gpu);
    const key = Kernel.key(spec);
    let p = c.pipelines.get(key);
    if (!p) {
      const misfit = this.misfit(gpu, spec);
      if (misfit) return Promise.reject(new KernelLimitError(`${this.name}{${key}}: needs ${misfit}`));
      const label = `${this.name}{${key}}`;
      const code = this.specialize(spec);
      p = (async () => {
        const module = await gpu.scoped(`compiling ${label}`, () => gpu.device.createShaderModule({ label, code }));
        try {
          return await gpu.device.createComputePipelineAsync({
            label,
            layout: c.pipelineLayout,
            compute: { module, entryPoint: 'main' },
          });
        } catch (e) {
          throw new Error(`pipeline ${label}: ${(e as Error).message}`);
        } finally {
          compileStats.pipelines++;
        }
      })();
      c.pipelines.set(key, p);
      p.catch(() => c.pipelines.delete(key));
    }
    return p;
  }

  /** Packs named uniform values into the layout the WGSL declares. */
  packUniform(values: Record<string, number | readonly number[]>): ArrayBuffer {
    const u = this.uniform;
    if (!u) throw new Error(`${this.name}.wgsl declares no uniform`);
    const buf = new ArrayBuffer(u.size);
    const dv = new DataView(buf);
    for (const [k, _f] of u.fields) {
      if (!(k in values)) throw new Error(`${this.name}: uniform field '${k}' not given`);
    }
    for (const [k, v] of Object.entries(values)) {
      const f = u.fields.get(k);
      if (!f) throw new Error(`${this.name}: uniform has no field '${k}'`);
      const arr = typeof v === 'number' ? [v] : v;
      if (arr.length !== f.count) throw new Error(`${this.name}: uniform field '${k}' takes ${f.count} values`);
      arr.forEach((x, i) => {
        const o = f.offset + 4 * i;
        if (f.scalar === 'f32') dv.setFloat32(o, x, true);
        else if (f.scalar === 'i32') dv.setInt32(o, x, true);
        else {
          if (!(x >= 0 && x <= 0xffffffff && Number.isInteger(x))) throw new Error(`${this.name}: uniform '${k}' = ${x} is not a u32`);
          dv.setUint32(o, x, true);
        }
      });
    }
    return buf;
  }

  /** A bind group from buffers named as in the WGSL. The uniform (if any) is given as values. */
  bindGroup(gpu: Gpu, resources: Record<string, GPUBufferBinding | GPUBuffer>, uniform?: Record<string, number | readonly number[]>): GPUBindGroup {
    const c = this.cache(gpu);
    const entries: GPUBindGroupEntry[] = [];
    for (const b of this.bindings) {
      if (b.kind === 'uniform') {
        if (!uniform) throw new Error(`${this.name}: uniform values missing`);
        entries.push({ binding: b.binding, resource: { buffer: uniformBuffer(gpu, this.packUniform(uniform)) } });
        continue;
      }
      const r = resources[b.name];
      if (!r) throw new Error(`${this.name}: no buffer bound to '${b.name}'`);
      entries.push({ binding: b.binding, resource: 'buffer' in r ? r : { buffer: r } });
    }
    for (const k of Object.keys(resources)) {
      if (!this.bindings.some((b) => b.name === k)) throw new Error(`${this.name}.wgsl has no binding '${k}'`);
    }
    return gpu.device.createBindGroup({ label: this.name, layout: c.layout, entries });
  }
}

/**
 * The module-scope declarations of a WGSL text, with every function body emptied: the bindings and the uniform
 * struct are all the reflection needs, and wgsl_reflect does not parse every type a body may use (the
 * experimental subgroup_matrix_* types, for one).
 */
export function declarationsOnly(source: string): string {
  const text = source.replace(/\/\/[^\n]*/g, '');
  let out = '';
  let i = 0;
  for (const m of text.matchAll(/(^|\n)\s*fn\s/g)) {
    if (m.index < i) continue;
    const open = text.indexOf('{', m.index);
    if (open < 0) break;
    let depth = 0;
    let j = open;
    for (; j < text.length; j++) {
      if (text[j] === '{') depth++;
      else if (text[j] === '}' && --depth === 0) break;
    }
    out += `${text.slice(i, open)}{}`;
    i = j + 1;
  }
  return out + text.slice(i);
}

function literal(v: number | boolean | string, type: string | undefined, what: string): string {
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) throw new Error(`${what}: ${v} is not a finite number`);
  switch (type) {
    case 'u32':
      if (!Number.isInteger(v) || v < 0) throw new Error(`${what}: ${v} is not a u32`);
      return `${v}u`;
    case 'i32':
      if (!Number.isInteger(v)) throw new Error(`${what}: ${v} is not an i32`);
      return `${v}i`;
    case 'f32':
      return `${Number.isInteger(v) ? v.toFixed(1) : String(v)}f`;
    default:
      return String(v);
  }
}

// Uniform buffers are immutable once made and many dispatches share the same contents (same shapes),
// so they are de-duplicated per device by content. Bind groups hold their own references, so dropping the
// table when it grows large (many resolutions in a long-lived process) only costs some duplicates later.
const uniformCache = new WeakMap<GPUDevice, Map<string, GPUBuffer>>();
const UNIFORM_CACHE_MAX = 4096;
function uniformBuffer(gpu: Gpu, data: ArrayBuffer): GPUBuffer {
  let m = uniformCache.get(gpu.device);
  if (!m || m.size >= UNIFORM_CACHE_MAX) {
    m = new Map();
    uniformCache.set(gpu.device, m);
  }
  const key = Array.from(new Uint32Array(data)).join(',');
  let b = m.get(key);
  if (!b) {
    b = gpu.device.createBuffer({ label: 'uniform', size: data.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    gpu.device.queue.writeBuffer(b, 0, data);
    m.set(key, b);
  }
  return b;
}

/** One prepared dispatch: everything bound, nothing left to decide at encode time. */
/**
 * Candidates with an override first: the preferred candidate with the override applied, then the others
 * unchanged, so that Kernel.fit can still fall back when the override does not fit a device's limits.
 */
export function preferring<T extends object>(candidates: readonly T[], override: Partial<T> | undefined): T[] {
  if (!override || !candidates.length) return [...candidates];
  const first = { ...candidates[0], ...override };
  const key = JSON.stringify(first);
  return [first, ...candidates.filter((t) => JSON.stringify(t) !== key)];
}

export interface Dispatch {
  label: string;
  /** What it computes and at which size, for grouping in profiles (e.g. "conv3x3 96->32 lrelu @180x320"). */
  op: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
  /** Analytic cost, for the profiler: floating-point operations and bytes moved (each tensor once). */
  flops: number;
  bytes: number;
  /** Multiply-accumulates of convolutions (and the deformable conv's GEMM); 0 for other ops. */
  macs?: number;
}

export function encodeDispatch(pass: GPUComputePassEncoder, d: Dispatch): void {
  pass.setPipeline(d.pipeline);
  pass.setBindGroup(0, d.bindGroup);
  pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
}

/** Encodes dispatches into one compute pass and submits them (used by tests and one-off ops). */
export async function runDispatches(gpu: Gpu, ds: readonly Dispatch[]): Promise<void> {
  gpu.check();
  const enc = gpu.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  for (const d of ds) encodeDispatch(pass, d);
  pass.end();
  gpu.device.queue.submit([enc.finish()]);
  await gpu.sync();
}
