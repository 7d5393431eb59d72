// `msvsr convert` / `msvsr inspect` through the built CLI (node dist/tools/cli.js). The build runs first
// when dist is older than the sources.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWeights } from '../../src/weights/load.js';
import { writeSafetensors } from '../../src/weights/safetensors.js';
import { FIXTURES, FULL_PDPARAMS, ROOT, expected, readBytes } from './util.js';

const CLI = path.join(ROOT, 'dist', 'tools', 'cli.js');

function newestSource(): number {
  const files = [path.join(ROOT, 'tools', 'cli.ts'), path.join(ROOT, 'tools', 'commands', 'weights.ts'), path.join(ROOT, 'src', 'numeric', 'half.ts')];
  for (const f of readdirSync(path.join(ROOT, 'src', 'weights'))) files.push(path.join(ROOT, 'src', 'weights', f));
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

function builtFresh(): boolean {
  const out = path.join(ROOT, 'dist', 'tools', 'commands', 'weights.js');
  return (
    existsSync(CLI) &&
    existsSync(out) &&
    statSync(out).mtimeMs >= newestSource() &&
    statSync(CLI).mtimeMs >= statSync(path.join(ROOT, 'tools', 'cli.ts')).mtimeMs
  );
}

let dir: string;
beforeAll(() => {
  if (!builtFresh()) {
    // tsc emits even when unrelated files have type errors; what matters is that the CLI is there afterwards
    spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' });
    if (!builtFresh()) throw new Error('building dist/tools/cli.js failed: run `npm run build`');
  }
  dir = mkdtempSync(path.join(tmpdir(), 'msvsr-cli-'));
}, 600_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function msvsr(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function leftovers(): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.tmp'));
}

describe('msvsr inspect', () => {
  it('prints config, tensor count, parameter count, dtype and bytes', () => {
    const r = msvsr('inspect', FULL_PDPARAMS);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/config: +PP-MSVSR\n/);
    expect(r.stdout).toMatch(/format: +pdparams\n/);
    expect(r.stdout).toMatch(/tensors: +248\n/);
    expect(r.stdout).toMatch(/parameters: +1,453,607\n/);
    expect(r.stdout).toMatch(/dtype: +F32\n/);
    expect(r.stdout).toContain(`bytes:      ${statSync(FULL_PDPARAMS).size.toLocaleString('en-US')}`);
  });

  it('says when spynet.mean/std were not in the file', () => {
    const w = readWeights(readBytes(FULL_PDPARAMS), 'in');
    const t = new Map(w.tensors);
    t.delete('spynet.mean');
    t.delete('spynet.std');
    const file = path.join(dir, 'no_buffers.safetensors');
    writeFileSync(file, writeSafetensors(t));
    const r = msvsr('inspect', file);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/tensors: +248 \(spynet\.mean, spynet\.std not in the file: constants filled in\)/);
    expect(JSON.parse(msvsr('inspect', file, '--json').stdout).filled).toEqual(['spynet.mean', 'spynet.std']);
  });

  it('--json prints one object', () => {
    const r = msvsr('inspect', FULL_PDPARAMS, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      file: FULL_PDPARAMS,
      format: 'pdparams',
      config: 'PP-MSVSR',
      tensors: 248,
      parameters: 1_453_607,
      dtype: 'F32',
      bytes: statSync(FULL_PDPARAMS).size,
    });
  });

  it.each([
    ['a missing file', path.join(FIXTURES, 'no_such.pdparams'), /no_such\.pdparams: cannot read \(ENOENT\)/],
    ['a directory', FIXTURES, /not a regular file/],
    ['a truncated file', path.join(FIXTURES, 'bad_truncated.pdparams'), /bad_truncated\.pdparams: truncated or corrupt/],
    ['a file of another network', path.join(FIXTURES, 'mini_p4.pdparams'), /mini_p4\.pdparams: not PP-MSVSR weights/],
    ['a float64 file', path.join(FIXTURES, 'bad_float64.pdparams'), /tensor 'conv\.weight' has dtype float64/],
  ])('exits non-zero with the problem named for %s', (_what, file, re) => {
    const r = msvsr('inspect', file);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/^msvsr: /);
    expect(r.stderr).toMatch(re);
  });

  it('refuses a hostile file, and its command does not run', () => {
    const marker = expected.markers.os_system;
    rmSync(marker, { force: true });
    const r = msvsr('inspect', path.join(FIXTURES, 'evil_os_system.pdparams'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/refusing pickle global os\.system/);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('msvsr convert', () => {
  it('converts .pdparams to safetensors (F32, bit-identical) and inspect reads the result', () => {
    const out = path.join(dir, 'w.safetensors');
    const r = msvsr('convert', FULL_PDPARAMS, '-o', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PP-MSVSR, 248 tensors, 1,453,607 parameters, F32/);
    const a = readWeights(readBytes(FULL_PDPARAMS), 'in');
    const b = readWeights(readBytes(out), 'out');
    expect(b.format).toBe('safetensors');
    for (const [k, t] of a.tensors) expect(Buffer.from(b.tensors.get(k)!.data.buffer).equals(Buffer.from(t.data.buffer)), k).toBe(true);
    const i = msvsr('inspect', out, '--json');
    expect(JSON.parse(i.stdout)).toMatchObject({ format: 'safetensors', config: 'PP-MSVSR', tensors: 248, parameters: 1_453_607, dtype: 'F32' });
    expect(leftovers()).toEqual([]);
  });

  it('refuses to replace an existing output without --overwrite; replaces it with --overwrite (--f16)', () => {
    const out = path.join(dir, 'exists.safetensors');
    writeFileSync(out, 'precious');
    const r = msvsr('convert', FULL_PDPARAMS, '-o', out);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/exists\.safetensors: already exists \(use --overwrite to replace it\)/);
    expect(readFileSync(out, 'utf8')).toBe('precious');
    const o = msvsr('convert', FULL_PDPARAMS, '-o', out, '--f16', '--overwrite');
    expect(o.status, o.stderr).toBe(0);
    expect(o.stdout).toMatch(/F16/);
    expect(o.stdout).toMatch(/float16 rounding: max \|error\| [\d.e+-]+, max relative error [\d.e+-]+ \(bound 2\^-11 = 4\.88e-4\)/);
    const i = JSON.parse(msvsr('inspect', out, '--json').stdout);
    expect(i).toMatchObject({ dtype: 'F16', config: 'PP-MSVSR', tensors: 248 });
    expect(i.bytes).toBeLessThan(0.51 * statSync(FULL_PDPARAMS).size);
    expect(leftovers()).toEqual([]);
  });

  it('never writes over its input', () => {
    const input = path.join(dir, 'in.pdparams');
    copyFileSync(FULL_PDPARAMS, input);
    const before = readFileSync(input);
    linkSync(input, path.join(dir, 'hardlink.pdparams'));
    symlinkSync(input, path.join(dir, 'symlink.safetensors'));
    for (const out of [input, path.relative(ROOT, input), path.join(dir, 'hardlink.pdparams'), path.join(dir, 'symlink.safetensors')]) {
      const r = msvsr('convert', input, '-o', out, '--overwrite');
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/refusing to write the output over the input file/);
    }
    expect(readFileSync(input).equals(before)).toBe(true);
  });

  it('bad inputs exit non-zero and leave no output and no temporary file', () => {
    const marker = expected.markers.eval;
    rmSync(marker, { force: true });
    for (const [file, re] of [
      ['evil_eval.pdparams', /refusing pickle global builtins\.eval/],
      ['bad_binbytes8_1tb.pdparams', /needs 1099511627776 bytes/],
      ['mini_p2.pdparams', /not PP-MSVSR weights/],
    ] as const) {
      const out = path.join(dir, `${file}.safetensors`);
      const r = msvsr('convert', path.join(FIXTURES, file), '-o', out);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(re);
      expect(existsSync(out)).toBe(false);
    }
    expect(existsSync(marker)).toBe(false);
    expect(leftovers()).toEqual([]);
    const missing = msvsr('convert', FULL_PDPARAMS);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/required option '-o, --output <file>' not specified/);
  });
});
