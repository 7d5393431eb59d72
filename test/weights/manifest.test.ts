// The architecture manifests, generated from the config parameters, against the tensor and parameter counts
// of the state dicts PaddleGAN's MSVSR builds (per module for PP-MSVSR, in total for PP-MSVSR-L), and the
// validation report.
import { describe, expect, it } from 'vitest';
import {
  CONFIGS,
  PP_MSVSR,
  PP_MSVSR_L,
  SPYNET_MEAN,
  SPYNET_STD,
  buildManifest,
  countParameters,
  detectConfig,
  elementCount,
  manifestStats,
  validateTensors,
  type MsvsrConfig,
} from '../../src/weights/manifest.js';
import type { NamedTensor } from '../../src/weights/named-tensor.js';
import { expectWeightsError } from './util.js';

function tensorsOf(cfg: MsvsrConfig, fill = 0.01): Map<string, NamedTensor> {
  return new Map(buildManifest(cfg).map((e) => [e.name, { shape: [...e.shape], data: new Float32Array(elementCount(e.shape)).fill(fill) }]));
}

function group(cfg: MsvsrConfig, prefix: string): [number, number] {
  const es = buildManifest(cfg).filter((e) => e.name.startsWith(prefix) && !e.buffer);
  return [es.length, es.reduce((n, e) => n + elementCount(e.shape), 0)];
}

describe('PP-MSVSR manifest', () => {
  const m = buildManifest(PP_MSVSR);
  it('has 248 entries and 1,453,607 trainable parameters (+ 6 buffer values)', () => {
    expect(manifestStats(m)).toEqual({ tensors: 248, parameters: 1_453_607, buffers: 2, bufferElements: 6 });
    expect(new Set(m.map((e) => e.name)).size).toBe(248);
  });

  // the state dict of PaddleGAN's PP-MSVSR (configs/msvsr_reds.yaml), module by module
  it.each([
    ['spynet.basic_module', 72, 141_078],
    ['feat_extract', 10, 37_888],
    ['deform_align.stage2_backward', 10, 77_996],
    ['deform_align.stage2_forward', 10, 77_996],
    ['deform_align.stage3_backward', 12, 87_244],
    ['deform_align.stage3_forward', 12, 87_244],
    ['backbone.stage2_backward', 14, 83_168],
    ['backbone.stage2_forward', 14, 92_384],
    ['backbone.stage3_backward', 14, 101_600],
    ['backbone.stage3_forward', 14, 110_816],
    ['stage1_align', 10, 109_208],
    ['stage1_blocks', 14, 83_168],
    ['reconstruction', 10, 92_320],
    ['upsample1', 2, 36_992],
    ['upsample2', 2, 36_992],
    ['conv_last', 2, 867],
    ['aux_fusion', 2, 18_464],
    ['aux_reconstruction', 6, 55_392],
    ['aux_block_down1', 4, 19_360],
    ['aux_block_down2', 4, 27_712],
    ['aux_conv_last', 2, 867],
    ['aux_upsample1', 2, 36_992],
    ['aux_upsample2', 2, 36_992],
    ['hybrid_conv_last', 2, 867],
  ] as const)('%s: %i tensors, %i parameters', (prefix, tensors, params) => {
    expect(group(PP_MSVSR, prefix)).toEqual([tensors, params]);
  });

  it('names and shapes of ppgan/models/generators/msvsr.py (spot checks, incl. the covn1 spelling and Sequential indices)', () => {
    const shapes = new Map(m.map((e) => [e.name, e.shape]));
    expect(m.slice(0, 3).map((e) => e.name)).toEqual(['spynet.mean', 'spynet.std', 'spynet.basic_module.0.basic_module.0.conv.weight']);
    expect(shapes.get('spynet.basic_module.2.basic_module.11.conv.weight')).toEqual([2, 8, 3, 3]);
    expect(shapes.get('feat_extract.covn1.weight')).toEqual([32, 3, 3, 3]);
    expect(shapes.get('deform_align.stage2_backward.conv_offset.0.weight')).toEqual([32, 66, 3, 3]);
    expect(shapes.get('deform_align.stage3_forward.conv_offset.6.weight')).toEqual([108, 32, 3, 3]);
    expect(shapes.get('deform_align.stage3_backward.mdconv.bias')).toEqual([32]);
    expect(shapes.get('stage1_align.conv_offset.6.bias')).toEqual([216]);
    expect(shapes.get('backbone.stage3_forward.covn1.weight')).toEqual([32, 192, 3, 3]);
    expect(shapes.get('reconstruction.covn1.weight')).toEqual([32, 192, 3, 3]);
    expect(shapes.get('aux_block_down1.0.weight')).toEqual([32, 35, 3, 3]);
    expect(shapes.get('aux_block_down2.2.weight')).toEqual([32, 32, 3, 3]);
    expect(shapes.get('upsample2.upsample_conv.weight')).toEqual([128, 32, 3, 3]);
    expect(shapes.has('conv_hr.weight')).toBe(false);
    expect(m[m.length - 1].name).toBe('hybrid_conv_last.bias');
  });
});

describe('PP-MSVSR-L manifest (configs/msvsr_l_reds.yaml)', () => {
  const m = buildManifest(PP_MSVSR_L);
  const shapes = new Map(m.map((e) => [e.name, e.shape]));
  it('has 450 entries and 7,417,197 trainable parameters', () => {
    expect(manifestStats(m)).toEqual({ tensors: 450, parameters: 7_417_197, buffers: 2, bufferElements: 6 });
  });
  it('full SPyNet: 6 levels × 15 convolutions, 577,644 parameters, chain 8→16→16→32→32→32→64→32→32→32→16→16→16→16→16→2', () => {
    expect(group(PP_MSVSR_L, 'spynet.basic_module')).toEqual([180, 577_644]);
    expect(PP_MSVSR_L.spynetChannels).toEqual([8, 16, 16, 32, 32, 32, 64, 32, 32, 32, 16, 16, 16, 16, 16, 2]);
    expect(shapes.get('spynet.basic_module.5.basic_module.6.conv.weight')).toEqual([32, 64, 3, 3]);
    expect(shapes.get('spynet.basic_module.5.basic_module.14.conv.weight')).toEqual([2, 16, 3, 3]);
    expect(shapes.has('spynet.basic_module.6.basic_module.0.conv.weight')).toBe(false);
  });
  it('mid 64, deform groups 8, conv_hr before conv_last, block counts 5/7/5/2 and stage1_blocks fixed at 3', () => {
    expect(shapes.get('deform_align.stage2_forward.conv_offset.0.weight')).toEqual([64, 130, 3, 3]);
    for (const p of ['deform_align.stage2_backward', 'deform_align.stage3_forward', 'stage1_align'])
      expect(shapes.get(`${p}.conv_offset.6.weight`)).toEqual([216, 64, 3, 3]);
    const names = m.map((e) => e.name);
    expect(shapes.get('conv_hr.weight')).toEqual([64, 64, 3, 3]);
    expect(names.indexOf('conv_hr.bias') + 1).toBe(names.indexOf('conv_last.weight'));
    const blocks = (prefix: string) =>
      new Set(names.filter((n) => n.startsWith(`${prefix}.ResidualBlocks.`)).map((n) => n.slice(prefix.length + 16).split('.')[0])).size;
    expect(blocks('feat_extract')).toBe(5);
    for (const p of ['stage2_backward', 'stage2_forward', 'stage3_backward', 'stage3_forward']) expect(blocks(`backbone.${p}`)).toBe(7);
    expect(blocks('reconstruction')).toBe(5);
    expect(blocks('aux_reconstruction')).toBe(2);
    expect(blocks('stage1_blocks')).toBe(3);
    expect(shapes.get('aux_block_down1.0.weight')).toEqual([64, 67, 3, 3]);
    expect(shapes.get('upsample1.upsample_conv.weight')).toEqual([256, 64, 3, 3]);
  });
});

describe('detection and validation', () => {
  it('detects each config from its tensors', () => {
    for (const cfg of Object.values(CONFIGS)) expect(detectConfig(tensorsOf(cfg), 'x')).toBe(cfg);
    expectWeightsError(
      () => detectConfig(new Map([['foo', { shape: [1] }]]), 'other.pdparams'),
      /^other\.pdparams: not PP-MSVSR weights: none of its 1 tensors \('foo'\)/,
    );
  });

  it('accepts a complete set and returns it in manifest order', () => {
    const t = tensorsOf(PP_MSVSR);
    const reversed = new Map([...t].reverse());
    const v = validateTensors(reversed, PP_MSVSR, 'w');
    expect([...v.keys()]).toEqual(buildManifest(PP_MSVSR).map((e) => e.name));
    expect(countParameters(v, PP_MSVSR)).toBe(1_453_607);
  });

  it('fills in spynet.mean / spynet.std when absent (constants)', () => {
    const t = tensorsOf(PP_MSVSR);
    t.delete('spynet.mean');
    t.delete('spynet.std');
    const v = validateTensors(t, PP_MSVSR, 'w');
    expect(v.size).toBe(248);
    expect([...v.get('spynet.mean')!.data]).toEqual(SPYNET_MEAN.map(Math.fround));
    expect([...v.get('spynet.std')!.data]).toEqual(SPYNET_STD.map(Math.fround));
    expect(v.get('spynet.std')!.shape).toEqual([1, 3, 1, 1]);
  });

  it('reports every missing, unexpected and misshaped tensor, with expected vs found shapes, in one error', () => {
    const t = tensorsOf(PP_MSVSR);
    t.delete('conv_last.weight');
    t.delete('backbone.stage2_forward.ResidualBlocks.block2.conv1.bias');
    t.set('conv_hr.weight', { shape: [32, 32, 3, 3], data: new Float32Array(9216) });
    t.set('generator.extra', { shape: [2], data: new Float32Array(2) });
    t.set('stage1_align.conv_offset.6.weight', { shape: [108, 32, 3, 3], data: new Float32Array(108 * 288) });
    t.set('aux_fusion.bias', { shape: [1, 32], data: new Float32Array(32) });
    const err = expectWeightsError(
      () => validateTensors(t, PP_MSVSR, 'mine.pdparams'),
      /^mine\.pdparams: does not match the PP-MSVSR architecture \(248 tensors expected, 248 found; 6 problems\)/,
      /missing \(2\):\n {4}backbone\.stage2_forward\.ResidualBlocks\.block2\.conv1\.bias \[32\]\n {4}conv_last\.weight \[3, 32, 3, 3\]/,
      /unexpected \(2\):\n {4}conv_hr\.weight \[32, 32, 3, 3\]\n {4}generator\.extra \[2\]/,
      'stage1_align.conv_offset.6.weight: expected [216, 32, 3, 3], found [108, 32, 3, 3]',
      'aux_fusion.bias: expected [32], found [1, 32]',
    );
    expect(err.message).toContain('wrong shape (2):');
  });

  it('names every tensor holding NaN or Inf', () => {
    const t = tensorsOf(PP_MSVSR_L);
    t.get('conv_hr.bias')!.data[5] = NaN;
    const w = t.get('spynet.basic_module.4.basic_module.3.conv.weight')!.data;
    w[0] = Infinity;
    w[7] = -Infinity;
    expectWeightsError(
      () => validateTensors(t, PP_MSVSR_L, 'l.safetensors'),
      /^l\.safetensors: 2 tensor\(s\) hold NaN or Inf/,
      'spynet.basic_module.4.basic_module.3.conv.weight: 2 of 9216 values are NaN or infinite (first at index 0: Infinity)',
      'conv_hr.bias: 1 of 64 values are NaN or infinite (first at index 5: NaN)',
    );
  });

  it('a shape that disagrees with its data length is reported', () => {
    const t = tensorsOf(PP_MSVSR);
    t.set('conv_last.bias', { shape: [3], data: new Float32Array(2) });
    expectWeightsError(() => validateTensors(t, PP_MSVSR, 'w'), 'conv_last.bias: shape [3] but 2 values');
  });
});
