// The library in a real browser: a fresh build of the browser entry (dist/src/browser.js: navigator.gpu +
// fetch) runs in headless Chromium's WebGPU and must match the PyTorch reference's golden fixture, as the
// Node tests do on dawn.node. Driven by test/browser/run.mjs (also a command of its own).
//
// Needs Chromium (/usr/bin/chromium or CHROMIUM_PATH; .ci/run installs Debian's) and playwright-core (a dev
// dependency). MSVSR_BROWSER_TEST (.ci/run sets 1):
//   1      required: missing prerequisites fail the test;
//   0      skipped;
//   unset  runs when both are present, else is skipped with the reason printed.
// MSVSR_BROWSER_CASE picks the fixture (default t2_32x48); MSVSR_BROWSER_DIST serves an existing build
// instead of compiling one (the default compiles src/ into a temporary folder, so a stale dist/ cannot pass).
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, TOLERANCE, missingPrerequisites, passes, runBrowserCheck } from './browser/run.mjs';

const mode = process.env.MSVSR_BROWSER_TEST;
const caseName = process.env.MSVSR_BROWSER_CASE || 't2_32x48';
const missing = mode === '0' ? [] : await missingPrerequisites({ dist: null });
const skipReason = mode === '0' ? 'MSVSR_BROWSER_TEST=0' : mode !== '1' && missing.length ? missing.join('; ') : undefined;

let tmp: string | undefined;
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Compiles the project (src/ with the bundled WGSL, which vitest.config.ts regenerates) into a temp folder. */
function freshBuild(): string {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'msvsr-browser-'));
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', tmp, '--declaration', 'false', '--sourceMap', 'false'], {
    cwd: ROOT,
    stdio: 'pipe',
  });
  return tmp;
}

describe('the library in headless Chromium (WebGPU) vs the PyTorch reference', () => {
  const title = `msvsr_${caseName} through the browser entry: max abs error <= ${TOLERANCE}`;
  if (skipReason) {
    console.log(`browser test skipped: ${skipReason} (MSVSR_BROWSER_TEST=1 makes it required)`);
    it.skip(`${title} [skipped: ${skipReason}]`, () => {});
    return;
  }
  it(title, async () => {
    if (missing.length) throw new Error(`MSVSR_BROWSER_TEST=1, but the browser test cannot run: ${missing.join('; ')}`);
    const dist = process.env.MSVSR_BROWSER_DIST ? path.resolve(ROOT, process.env.MSVSR_BROWSER_DIST) : freshBuild();
    const r = await runBrowserCheck({ caseName, dist, timeoutMs: 480_000 });
    const summary = { adapter: r.adapter, maxAbsErr: r.maxAbsErr, seconds: r.seconds, pipelines: r.pipelines, chromium: r.chromium, flags: r.flags };
    console.log(`browser: ${JSON.stringify(summary)}`);
    const why = [r.error, r.stack, ...r.console].filter(Boolean).join('\n');
    expect(r.ok, why).toBe(true);
    expect(r.maxAbsErr, 'max abs error vs the reference (null: NaN or infinity in the output)').not.toBeNull();
    expect(r.maxAbsErr!).toBeLessThanOrEqual(TOLERANCE);
    expect(passes(r)).toBe(true);
  }, 600_000);
});
