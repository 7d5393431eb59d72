// `msvsr convert` and `msvsr inspect`: the Node side of src/weights (files, atomic writes, printing).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { samePath, writeFileAtomic } from '../../src/node/files.js';
import { WeightsError, f16MaxError, readWeights, summarize, toSafetensors, type LoadedWeights } from '../../src/weights/index.js';

/** Official files are 6–30 MB; anything past this is not a weights file. */
const MAX_INPUT = 1 << 30;

function readInput(file: string): Uint8Array {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new WeightsError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!st.isFile()) throw new WeightsError(`${file}: not a regular file`);
  if (st.size > MAX_INPUT) throw new WeightsError(`${file}: ${st.size} bytes is far larger than any PP-MSVSR weights file`);
  const b = fs.readFileSync(file);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function load(file: string): { w: LoadedWeights; bytes: number } {
  const bytes = readInput(file);
  return { w: readWeights(bytes, file), bytes: bytes.length };
}

const n = (x: number) => x.toLocaleString('en-US');

export function registerWeightCommands(program: Command): void {
  program
    .command('convert')
    .description('check PaddleGAN .pdparams weights (or safetensors) against the PP-MSVSR / PP-MSVSR-L architecture and write them as safetensors')
    .argument('<in>', 'input weights: .pdparams (as paddle.save wrote it) or .safetensors')
    .requiredOption('-o, --output <file>', 'output .safetensors file')
    .option('--f16', 'store float16: half the size; every value rounds to nearest (relative error <= 2^-11 for |x| >= 2^-14, absolute <= 2^-25 below)')
    .option('--overwrite', 'replace the output file if it exists')
    .action((input: string, opts: { output: string; f16?: boolean; overwrite?: boolean }) => {
      const out = opts.output;
      if (samePath(input, out)) throw new WeightsError(`${out}: refusing to write the output over the input file`);
      if (!opts.overwrite && fs.existsSync(out)) throw new WeightsError(`${out}: already exists (use --overwrite to replace it)`);
      const { w } = load(input);
      const dtype = opts.f16 ? 'f16' : 'f32';
      const data = toSafetensors(w, dtype, { source: path.basename(input), source_format: w.format });
      readWeights(data, out); // what is written must load
      writeFileAtomic(out, data, { overwrite: !!opts.overwrite });
      const s = summarize(w);
      console.log(`${out}: ${s.config}, ${s.tensors} tensors, ${n(s.parameters)} parameters, ${dtype.toUpperCase()}, ${n(data.length)} bytes`);
      if (opts.f16) {
        const e = f16MaxError(w.tensors);
        console.log(`float16 rounding: max |error| ${e.abs.toExponential(2)}, max relative error ${e.rel.toExponential(2)} (bound 2^-11 = 4.88e-4)`);
      }
    });

  program
    .command('inspect')
    .description('check a weights file (.pdparams or .safetensors) and print its config, tensor and parameter counts, dtype and size')
    .argument('<file>', 'weights file')
    .option('--json', 'print one JSON object')
    .action((file: string, opts: { json?: boolean }) => {
      const { w, bytes } = load(file);
      const s = summarize(w);
      const info = {
        file,
        format: s.format,
        config: s.config,
        tensors: s.tensors,
        parameters: s.parameters,
        dtype: s.dtype.toUpperCase(),
        bytes,
        ...(w.filled.length ? { filled: w.filled } : {}),
      };
      if (opts.json) console.log(JSON.stringify(info));
      else {
        console.log(`file:       ${file}`);
        console.log(`format:     ${s.format}`);
        console.log(`config:     ${s.config}`);
        console.log(`tensors:    ${s.tensors}${w.filled.length ? ` (${w.filled.join(', ')} not in the file: constants filled in)` : ''}`);
        console.log(`parameters: ${n(s.parameters)}`);
        console.log(`dtype:      ${s.dtype.toUpperCase()}`); // the file's own spelling (F32 / F16)
        console.log(`bytes:      ${n(bytes)}`);
      }
    });
}
