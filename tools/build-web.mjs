#!/usr/bin/env node
// Builds the browser app (web/) into dist/web: web/main.ts and web/worker.ts bundled by esbuild (ES modules,
// the library and mediabunny included), index.html and style.css copied. The library is imported as a user
// of the npm package imports it: the bare name 'msvsr-webgpu', resolved through package.json's "exports"
// with the "browser" condition (dist/src/browser.js), so `npm run build` must have run first.
//
//   node tools/build-web.mjs [--outdir dist/web] [--dev]
//
// buildWeb({ packageRoot }) resolves 'msvsr-webgpu' from another copy of the package (a package.json and
// its dist/), which the tests use to bundle a fresh compile instead of whatever dist/ holds.
import { existsSync, mkdirSync, copyFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WEB = path.join(ROOT, 'web');

/**
 * Bundles the app into `outdir` and returns esbuild's metafile and warnings. `packageRoot` (default: the
 * repository) is where 'msvsr-webgpu' resolves, through its package.json's exports.
 */
export async function buildWeb(o = {}) {
  const outdir = path.resolve(o.outdir ?? path.join(ROOT, 'dist/web'));
  const packageRoot = path.resolve(o.packageRoot ?? ROOT);
  const browserEntry = path.join(packageRoot, 'dist/src/browser.js');
  if (!existsSync(browserEntry)) throw new Error(`${browserEntry} is missing: run \`npm run build\` first`);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });

  // The bare package name resolves as a file inside the package itself would resolve it (its exports).
  const fromPackage = {
    name: 'msvsr-webgpu-from-package',
    setup(build) {
      build.onResolve({ filter: /^msvsr-webgpu$/ }, async (args) => {
        if (args.pluginData?.fromPackage) return undefined;
        const r = await build.resolve(args.path, { kind: args.kind, resolveDir: packageRoot, pluginData: { fromPackage: true } });
        return r.errors.length ? { errors: r.errors } : { path: r.path };
      });
    },
  };

  const result = await esbuild.build({
    entryPoints: { main: path.join(WEB, 'main.ts'), worker: path.join(WEB, 'worker.ts') },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome113', 'safari17', 'firefox128'],
    conditions: ['browser'],
    nodePaths: [path.join(ROOT, 'node_modules')],
    plugins: [fromPackage],
    minify: !o.dev,
    sourcemap: o.dev ? 'inline' : true,
    metafile: true,
    logLevel: 'silent',
    legalComments: 'linked',
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(path.join(WEB, f), path.join(outdir, f));
  const outputs = Object.entries(result.metafile.outputs)
    .filter(([f]) => !f.endsWith('.map'))
    .map(([f, v]) => ({ file: path.relative(ROOT, f), bytes: v.bytes }));
  const library = Object.keys(result.metafile.inputs).find((f) => f.endsWith('dist/src/browser.js'));
  return { outdir, outputs, library, warnings: result.warnings };
}

async function main(argv) {
  const arg = (name) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const r = await buildWeb({ outdir: arg('outdir'), dev: argv.includes('--dev') });
  for (const w of r.warnings) console.warn(`warning: ${w.text}`);
  for (const f of r.outputs) console.log(`  ${f.file}  ${(f.bytes / 1024).toFixed(0)} KiB`);
  console.log(`built ${path.relative(process.cwd(), r.outdir) || '.'} (library: ${r.library})`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e.errors ? e.message : (e.stack ?? e));
    process.exit(1);
  });
}
