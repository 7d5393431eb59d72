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
  },
});
