import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';
// @ts-expect-error plain ESM build script without types
import { bundleWgsl } from './tools/bundle-wgsl.mjs';

bundleWgsl(); // tests import the kernels from src/, so the bundled WGSL must be current

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // GPU tests share one software adapter on two cores: run files one at a time.
    fileParallelism: false,
    // An empty cache folder: a developer's tuned conv choices (tune.json) or cached weights must not change
    // what the tests compute or download (tests that need a cache make their own).
    env: { MSVSR_CACHE_DIR: mkdtempSync(path.join(os.tmpdir(), 'msvsr-test-cache-')) },
  },
});
