// Measures the two approximations a long or large video needs, against the exact result, on seeded random
// weights and seeded frames (the difference is what matters, not the picture):
//   tiles:   tiled vs untiled output, for each halo (max and mean abs difference, and per-pixel seconds);
//   overlap: chunked (chunk 10) with `overlap` context frames vs one pass over the whole sequence, at the
//            frames next to a chunk boundary and elsewhere, with the extra compute it costs.
//   node dist/bench/approximations.js tiles --size 144x176 --frames 3 --halos 8,16,32,48 --core 48 --cases 2
//   node dist/bench/approximations.js overlap --size 32x48 --frames 30 --overlaps 0,2,4,8 --cases 3
import { Command } from 'commander';
import { type Gpu, getDevice, upscaleFrames } from '../src/index.js';
import { temporalWindows } from '../src/windows.js';
import { diff, movingFrames, seededModel, toFloat } from './scenes.js';

async function tiles(gpu: Gpu, o: { size: string; frames: number; halos: number[]; core: number; cases: number }) {
  const [h, w] = o.size.split('x').map(Number);
  console.log(`| case | halo | tiles | tile | max abs diff | mean abs diff | s/frame |`);
  console.log(`|---|---|---|---|---|---|---|`);
  for (let c = 1; c <= o.cases; c++) {
    const model = seededModel(c);
    const frames = toFloat(movingFrames(o.frames, w, h, 100 + c));
    let t0 = performance.now();
    const whole = await upscaleFrames(frames, { model, device: gpu, chunkSize: o.frames, overlap: 0 });
    console.log(`| ${c} | untiled | 1 | ${w}x${h} | 0 | 0 | ${((performance.now() - t0) / 1000 / o.frames).toFixed(2)} |`);
    for (const halo of o.halos) {
      let plan = '';
      t0 = performance.now();
      const tiled = await upscaleFrames(frames, {
        model,
        device: gpu,
        chunkSize: o.frames,
        overlap: 0,
        halo,
        tileSize: o.core,
        onPlan: (p) => {
          plan = `${p.tile.count} | ${p.tile.width}x${p.tile.height}`;
        },
      });
      const d = diff(tiled, whole);
      console.log(
        `| ${c} | ${halo} | ${plan} | ${d.max.toExponential(2)} | ${d.mean.toExponential(2)} | ${((performance.now() - t0) / 1000 / o.frames).toFixed(2)} |`,
      );
    }
  }
}

async function overlap(gpu: Gpu, o: { size: string; frames: number; overlaps: number[]; cases: number; chunk: number }) {
  const [h, w] = o.size.split('x').map(Number);
  console.log(`| case | overlap | window | compute per frame | max abs diff (boundary frames) | mean (boundary) | max (elsewhere) | mean (elsewhere) |`);
  console.log(`|---|---|---|---|---|---|---|---|`);
  for (let c = 1; c <= o.cases; c++) {
    const model = seededModel(c);
    const frames = toFloat(movingFrames(o.frames, w, h, 200 + c));
    const ideal = await upscaleFrames(frames, { model, device: gpu, chunkSize: o.frames, overlap: 0 });
    for (const ov of o.overlaps) {
      const got = await upscaleFrames(frames, { model, device: gpu, chunkSize: o.chunk, overlap: ov });
      const ws = temporalWindows(o.frames, o.chunk, ov);
      const computed = ws.reduce((a, x) => a + x.end - x.start, 0);
      // Boundary frames: the first and last emitted frame of every chunk that has a neighbour chunk there.
      const boundary = new Set<number>();
      for (const x of ws) {
        if (x.emitStart > 0) boundary.add(x.emitStart);
        if (x.emitEnd < o.frames) boundary.add(x.emitEnd - 1);
      }
      const at = (keep: (i: number) => boolean) => {
        const idx = got.map((_, i) => i).filter(keep);
        return diff(
          idx.map((i) => got[i]),
          idx.map((i) => ideal[i]),
        );
      };
      const b = at((i) => boundary.has(i));
      const e = at((i) => !boundary.has(i));
      const win = ws[0].end - ws[0].start;
      console.log(
        `| ${c} | ${ov} | ${win} | ${(computed / o.frames).toFixed(2)}x | ${b.max.toExponential(2)} | ${b.mean.toExponential(2)} | ${e.max.toExponential(2)} | ${e.mean.toExponential(2)} |`,
      );
    }
  }
}

const list = (v: string) => v.split(',').map(Number);
const program = new Command('approximations');
program
  .command('tiles')
  .option('--size <HxW>', 'low-resolution size', '96x128')
  .option('--frames <T>', 'frames', '3')
  .option('--halos <list>', 'halos in LR pixels', '8,16,32,48')
  .option('--core <n>', 'tile core size in LR pixels', '48')
  .option('--cases <n>', 'seeded cases', '2')
  .action(async (o) => {
    const gpu = await getDevice();
    try {
      await tiles(gpu, { size: o.size, frames: +o.frames, halos: list(o.halos), core: +o.core, cases: +o.cases });
    } finally {
      gpu.destroy();
    }
  });
program
  .command('overlap')
  .option('--size <HxW>', 'low-resolution size', '24x32')
  .option('--frames <n>', 'frames', '30')
  .option('--chunk <n>', 'chunk', '10')
  .option('--overlaps <list>', 'overlaps', '0,2,4,8')
  .option('--cases <n>', 'seeded cases', '2')
  .action(async (o) => {
    const gpu = await getDevice();
    try {
      await overlap(gpu, { size: o.size, frames: +o.frames, chunk: +o.chunk, overlaps: list(o.overlaps), cases: +o.cases });
    } finally {
      gpu.destroy();
    }
  });
program.parseAsync();
