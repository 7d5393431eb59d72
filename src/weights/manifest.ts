// The architecture manifest: every state-dict name and shape of PP-MSVSR and PP-MSVSR-L, generated from the
// generator's constructor parameters exactly as MSVSR.__init__ in PaddleGAN's ppgan/models/generators/msvsr.py
// builds the module tree (configs/msvsr_reds.yaml and configs/msvsr_l_reds.yaml give the parameters), in
// Paddle's state_dict order. The network code is built from the same `MsvsrConfig`.
import { WeightsError, clip, fmtShape } from './errors.js';
import type { NamedTensor } from './named-tensor.js';

export type ConfigName = 'PP-MSVSR' | 'PP-MSVSR-L';

/** The MSVSR constructor parameters (configs/msvsr_reds.yaml, msvsr_vimeo90k_BD.yaml, msvsr_l_reds.yaml). */
export interface MsvsrConfig {
  readonly name: ConfigName;
  /** mid_channels: feature width of every stage. */
  readonly midChannels: number;
  /** num_init_blocks: residual blocks in feat_extract. */
  readonly numInitBlocks: number;
  /** num_blocks: residual blocks in each backbone.stage{2,3}_{backward,forward}. */
  readonly numBlocks: number;
  /** num_reconstruction_blocks: residual blocks in reconstruction. */
  readonly numReconstructionBlocks: number;
  /** Residual blocks in stage1_blocks: hard-coded 3 in the source, whatever num_blocks is. */
  readonly stage1Blocks: number;
  /** aux_reconstruction_blocks: residual blocks in aux_reconstruction. */
  readonly auxReconstructionBlocks: number;
  /** deform_groups: deformable groups of the stage-2/3 alignment DCNs. */
  readonly deformGroups: number;
  /** stage1_groups: deformable groups of stage1_align. */
  readonly stage1Groups: number;
  /** only_last: true → conv_last straight after upsample2; false → conv_hr (mid→mid) + lrelu first. */
  readonly onlyLast: boolean;
  /** SPyNet pyramid levels (= number of SPyNetBlocks): 3 for use_tiny_spynet, 6 for the full SPyNet. */
  readonly spynetLevels: number;
  /** Channel chain of each SPyNetBlock's convolutions, input 8 … output 2 (length = convs + 1). */
  readonly spynetChannels: readonly number[];
  /** auxiliary_loss: the aux_* modules exist (and are used at inference). */
  readonly auxiliaryLoss: boolean;
  /** use_refine_align: stage 3 uses ReAlignmentModule. */
  readonly useRefineAlign: boolean;
  /** use_local_connnect (sic): the stage-1 feature is added after upsampling. */
  readonly useLocalConnect: boolean;
  /** max_residue_magnitude: bound of the predicted offset residue (10 in AlignmentModule / ReAlignmentModule); the offset heads use it. */
  readonly maxResidueMagnitude: number;
}

const TINY_SPYNET = [8, 16, 16, 32, 32, 32, 32, 16, 16, 16, 8, 8, 2] as const;
const FULL_SPYNET = [8, 16, 16, 32, 32, 32, 64, 32, 32, 32, 16, 16, 16, 16, 16, 2] as const;

/** PP-MSVSR (configs/msvsr_reds.yaml; the Vimeo-90K BD weights use the same architecture). */
export const PP_MSVSR: MsvsrConfig = Object.freeze({
  name: 'PP-MSVSR',
  midChannels: 32,
  numInitBlocks: 2,
  numBlocks: 3,
  numReconstructionBlocks: 2,
  stage1Blocks: 3,
  auxReconstructionBlocks: 1,
  deformGroups: 4,
  stage1Groups: 8,
  onlyLast: true,
  spynetLevels: 3,
  spynetChannels: Object.freeze([...TINY_SPYNET]),
  auxiliaryLoss: true,
  useRefineAlign: true,
  useLocalConnect: true,
  maxResidueMagnitude: 10,
});

/** PP-MSVSR-L (configs/msvsr_l_reds.yaml). */
export const PP_MSVSR_L: MsvsrConfig = Object.freeze({
  name: 'PP-MSVSR-L',
  midChannels: 64,
  numInitBlocks: 5,
  numBlocks: 7,
  numReconstructionBlocks: 5,
  stage1Blocks: 3,
  auxReconstructionBlocks: 2,
  deformGroups: 8,
  stage1Groups: 8,
  onlyLast: false,
  spynetLevels: 6,
  spynetChannels: Object.freeze([...FULL_SPYNET]),
  auxiliaryLoss: true,
  useRefineAlign: true,
  useLocalConnect: true,
  maxResidueMagnitude: 10,
});

export const CONFIGS: Readonly<Record<ConfigName, MsvsrConfig>> = Object.freeze({ 'PP-MSVSR': PP_MSVSR, 'PP-MSVSR-L': PP_MSVSR_L });

/** ModifiedSPyNet's persistable buffers (ImageNet normalisation), shape [1, 3, 1, 1]. */
export const SPYNET_MEAN = Object.freeze([0.485, 0.456, 0.406]);
export const SPYNET_STD = Object.freeze([0.229, 0.224, 0.225]);

export interface ManifestEntry {
  readonly name: string;
  readonly shape: readonly number[];
  /** A persistable buffer (spynet.mean/std), not a trainable parameter. */
  readonly buffer: boolean;
}

/** Every state-dict entry of `cfg`, in Paddle's state_dict order. */
export function buildManifest(cfg: MsvsrConfig): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  const mid = cfg.midChannels;
  const conv = (prefix: string, cout: number, cin: number, k = 3) => {
    out.push({ name: `${prefix}.weight`, shape: [cout, cin, k, k], buffer: false });
    out.push({ name: `${prefix}.bias`, shape: [cout], buffer: false });
  };
  // ResidualBlocksWithInputConv: covn1 (sic), then ResidualBlocks.block{i}.conv{1,2}
  const rbic = (prefix: string, cin: number, n: number) => {
    conv(`${prefix}.covn1`, mid, cin);
    for (let i = 0; i < n; i++) {
      conv(`${prefix}.ResidualBlocks.block${i}.conv1`, mid, mid);
      conv(`${prefix}.ResidualBlocks.block${i}.conv2`, mid, mid);
    }
  };
  const convOffset = (prefix: string, groups: number) => {
    conv(`${prefix}.conv_offset.0`, mid, 2 * mid + 2);
    conv(`${prefix}.conv_offset.2`, mid, mid);
    conv(`${prefix}.conv_offset.4`, mid, mid);
    conv(`${prefix}.conv_offset.6`, 27 * groups, mid);
  };
  const align = (prefix: string, groups: number) => {
    convOffset(prefix, groups);
    conv(`${prefix}.dcn`, mid, mid);
  };
  const realign = (prefix: string, groups: number) => {
    conv(`${prefix}.mdconv`, mid, mid);
    convOffset(prefix, groups);
    conv(`${prefix}.dcn`, mid, mid);
  };

  // spynet: buffers first (a layer's own parameters, then its buffers, then its sublayers)
  out.push({ name: 'spynet.mean', shape: [1, 3, 1, 1], buffer: true });
  out.push({ name: 'spynet.std', shape: [1, 3, 1, 1], buffer: true });
  const ch = cfg.spynetChannels;
  for (let l = 0; l < cfg.spynetLevels; l++) {
    for (let i = 0; i + 1 < ch.length; i++) conv(`spynet.basic_module.${l}.basic_module.${i}.conv`, ch[i + 1], ch[i]);
  }
  rbic('feat_extract', 3, cfg.numInitBlocks);
  const props = ['stage2_backward', 'stage2_forward', 'stage3_backward', 'stage3_forward'];
  for (const [i, p] of props.entries()) (i > 1 && cfg.useRefineAlign ? realign : align)(`deform_align.${p}`, cfg.deformGroups);
  for (const [i, p] of props.entries()) rbic(`backbone.${p}`, (3 + i) * mid, cfg.numBlocks);
  align('stage1_align', cfg.stage1Groups);
  rbic('stage1_blocks', 3 * mid, cfg.stage1Blocks);
  rbic('reconstruction', 6 * mid, cfg.numReconstructionBlocks);
  conv('upsample1.upsample_conv', mid * 4, mid);
  conv('upsample2.upsample_conv', mid * 4, mid);
  if (!cfg.onlyLast) conv('conv_hr', mid, mid);
  conv('conv_last', 3, mid);
  if (cfg.auxiliaryLoss) {
    conv('aux_fusion', mid, 2 * mid);
    rbic('aux_reconstruction', 4 * mid, cfg.auxReconstructionBlocks);
    conv('aux_block_down1.0', mid, 3 + mid);
    conv('aux_block_down1.2', mid, mid);
    conv('aux_block_down2.0', mid, 2 * mid);
    conv('aux_block_down2.2', mid, mid);
    conv('aux_conv_last', 3, mid);
  }
  conv('aux_upsample1.upsample_conv', mid * 4, mid);
  conv('aux_upsample2.upsample_conv', mid * 4, mid);
  conv('hybrid_conv_last', 3, mid);
  return out;
}

const manifestCache = new Map<ConfigName, ManifestEntry[]>();
/** The manifest of a built-in config (cached; do not mutate). */
export function manifestOf(cfg: MsvsrConfig): readonly ManifestEntry[] {
  if (CONFIGS[cfg.name] !== cfg) return buildManifest(cfg);
  let m = manifestCache.get(cfg.name);
  if (!m) {
    m = buildManifest(cfg);
    manifestCache.set(cfg.name, m);
  }
  return m;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export interface ManifestStats {
  /** State-dict entries, buffers included. */
  tensors: number;
  /** Trainable parameters (buffers excluded). */
  parameters: number;
  buffers: number;
  bufferElements: number;
}

export function manifestStats(entries: readonly ManifestEntry[]): ManifestStats {
  const s: ManifestStats = { tensors: entries.length, parameters: 0, buffers: 0, bufferElements: 0 };
  for (const e of entries) {
    if (e.buffer) {
      s.buffers++;
      s.bufferElements += elementCount(e.shape);
    } else s.parameters += elementCount(e.shape);
  }
  return s;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Picks the config whose manifest the tensors match best (by name and shape). */
export function detectConfig(tensors: ReadonlyMap<string, { shape: readonly number[] }>, file: string): MsvsrConfig {
  let best: MsvsrConfig | null = null;
  let bestScore = 0;
  for (const cfg of Object.values(CONFIGS)) {
    let score = 0;
    for (const e of manifestOf(cfg)) {
      const t = tensors.get(e.name);
      if (t && sameShape(t.shape, e.shape)) score++;
    }
    if (score > bestScore) {
      best = cfg;
      bestScore = score;
    }
  }
  if (!best) {
    const some = [...tensors.keys()]
      .slice(0, 5)
      .map((k) => `'${clip(k, 60)}'`)
      .join(', ');
    throw new WeightsError(
      `${file}: not PP-MSVSR weights: none of its ${tensors.size} tensors (${some || 'none'}) has a PP-MSVSR or PP-MSVSR-L name and shape`,
    );
  }
  return best;
}

const LIST_CAP = 500;
function listed(title: string, lines: string[]): string {
  if (!lines.length) return '';
  const shown = lines
    .slice(0, LIST_CAP)
    .map((l) => `\n    ${l}`)
    .join('');
  return `\n  ${title} (${lines.length}):${shown}${lines.length > LIST_CAP ? `\n    … and ${lines.length - LIST_CAP} more` : ''}`;
}

/**
 * Checks `tensors` against the manifest of `cfg` and returns them in manifest order, with spynet.mean/std
 * filled in when absent (they are constants). Every missing, unexpected or misshaped tensor is
 * reported by name in one WeightsError; so is every tensor holding NaN or ±Inf.
 */
export function validateTensors(tensors: ReadonlyMap<string, NamedTensor>, cfg: MsvsrConfig, file: string): Map<string, NamedTensor> {
  const manifest = manifestOf(cfg);
  const expected = new Map(manifest.map((e) => [e.name, e]));
  const missing: string[] = [];
  const unexpected: string[] = [];
  const misshaped: string[] = [];
  for (const e of manifest) {
    const t = tensors.get(e.name);
    if (!t) {
      if (!e.buffer) missing.push(`${e.name} ${fmtShape(e.shape)}`); // the buffers are constants: filled in below
    } else if (!sameShape(t.shape, e.shape)) misshaped.push(`${e.name}: expected ${fmtShape(e.shape)}, found ${fmtShape(t.shape)}`);
    else if (t.data.length !== elementCount(e.shape)) misshaped.push(`${e.name}: shape ${fmtShape(e.shape)} but ${t.data.length} values`);
  }
  for (const [name, t] of tensors) if (!expected.has(name)) unexpected.push(`${clip(name)} ${fmtShape(t.shape)}`);
  if (missing.length || unexpected.length || misshaped.length) {
    const n = missing.length + unexpected.length + misshaped.length;
    throw new WeightsError(
      `${file}: does not match the ${cfg.name} architecture (${manifest.length} tensors expected, ${tensors.size} found; ${n} problem${n === 1 ? '' : 's'}):` +
        listed('missing', missing) +
        listed('unexpected', unexpected) +
        listed('wrong shape', misshaped),
    );
  }
  const nonFinite: string[] = [];
  for (const e of manifest) {
    const t = tensors.get(e.name);
    if (!t) continue;
    let bad = 0;
    let first = 0;
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      if (v - v !== 0) {
        if (!bad) first = i;
        bad++;
      }
    }
    if (bad) nonFinite.push(`${e.name}: ${bad} of ${d.length} values are NaN or infinite (first at index ${first}: ${d[first]})`);
  }
  if (nonFinite.length) throw new WeightsError(`${file}: ${nonFinite.length} tensor(s) hold NaN or Inf:${listed('non-finite', nonFinite)}`);
  const out = new Map<string, NamedTensor>();
  for (const e of manifest) {
    const t = tensors.get(e.name);
    if (t) out.set(e.name, t);
    else if (e.name === 'spynet.mean') out.set(e.name, { shape: [1, 3, 1, 1], data: Float32Array.from(SPYNET_MEAN) });
    else if (e.name === 'spynet.std') out.set(e.name, { shape: [1, 3, 1, 1], data: Float32Array.from(SPYNET_STD) });
  }
  return out;
}

/** Trainable parameters in a validated tensor map (buffers excluded). */
export function countParameters(tensors: ReadonlyMap<string, { data: { length: number } }>, cfg: MsvsrConfig): number {
  let n = 0;
  for (const e of manifestOf(cfg)) if (!e.buffer) n += tensors.get(e.name)?.data.length ?? 0;
  return n;
}
