#!/usr/bin/env node
// Runs the built library (dist/src/browser.js) in headless Chromium with WebGPU and checks one golden
// fixture of the PyTorch reference: serves the repository root on 127.0.0.1, opens test/browser/page.html,
// waits for its result, prints one JSON line {adapter, maxAbsErr, seconds, ...} and exits non-zero on any
// failure or an error above the tolerance.
//
//   npm run build && node test/browser/run.mjs [--case t2_32x48] [--timeout 300] [--chromium /usr/bin/chromium]
//     [--repeat N] [--flags '--more --chromium-switches'] [--dist other/build/dir (served as /dist/)]
//
// Needs a Chromium (CHROMIUM_PATH, else /usr/bin/chromium; Debian: apt-get install chromium) and the npm
// package playwright-core (a dev dependency).
// On a machine without a GPU, Chromium's WebGPU runs on SwiftShader's Vulkan (a CPU adapter): slow, and
// most of the time of a first pass is compiling its 35 pipelines (about 45 s on two cores), whatever the size.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWebServer } from '../../tools/serve-web.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TOLERANCE = 1e-3;

/**
 * Chromium switches (checked with Debian's Chromium 156 on a GPU-less machine, Mesa lavapipe installed).
 * The first six keep a root, offline machine quiet: no sandbox as root, no connections to Google's services.
 * --enable-unsafe-webgpu is the one WebGPU needs here: Chromium blocklists CPU adapters
 * (crbug.com/40057808), so without it requestAdapter() answers null ("No available adapters"). With it the
 * adapter is SwiftShader's Vulkan (vendor "google", architecture "swiftshader", isFallbackAdapter); no
 * other switch (--enable-features=Vulkan, --use-vulkan, --use-angle=vulkan, --use-webgpu-adapter=...)
 * changes that, and lavapipe, which Dawn does enumerate, is never chosen: Chromium's adapter filter
 * only takes adapters that can import external textures or that are SwiftShader. --disable-gpu makes no
 * difference to WebGPU on SwiftShader and is left out so that a machine with a real GPU would use it.
 */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
];

/** The Chromium to drive: CHROMIUM_PATH, else the first of the usual places that exists. */
export function findChromium(env = process.env) {
  if (env.CHROMIUM_PATH) return existsSync(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'].find((p) => existsSync(p));
}

/** playwright-core's chromium, or undefined when the package is not installed. */
export async function loadPlaywright() {
  try {
    return (await import('playwright-core')).chromium;
  } catch (e) {
    if (e && (e.code === 'ERR_MODULE_NOT_FOUND' || /Cannot find (package|module)/.test(String(e.message)))) return undefined;
    throw e;
  }
}

/** What is missing for the browser check, as sentences (empty: ready). `dist`: the build to check for. */
export async function missingPrerequisites(o = {}) {
  const env = o.env ?? process.env;
  const missing = [];
  if (!findChromium(env))
    missing.push(env.CHROMIUM_PATH ? `CHROMIUM_PATH=${env.CHROMIUM_PATH} does not exist` : 'no Chromium (apt-get install chromium, or set CHROMIUM_PATH)');
  if (!(await loadPlaywright())) missing.push('npm package playwright-core is not installed (npm ci installs it: it is a dev dependency)');
  if (o.dist !== null && !existsSync(path.join(o.dist ?? path.join(ROOT, 'dist'), 'src/browser.js')))
    missing.push('dist/src/browser.js is missing (npm run build)');
  return missing;
}

/**
 * Runs the page once and returns its result plus the browser's version and what the page printed.
 * Resolves (never rejects for a failure inside the page): check `result.ok`.
 */
export async function runBrowserCheck(o = {}) {
  const caseName = o.caseName ?? 't2_32x48';
  const timeoutMs = o.timeoutMs ?? 300_000;
  const executablePath = o.chromiumPath ?? findChromium();
  if (!executablePath) throw new Error('no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)');
  const chromium = await loadPlaywright();
  if (!chromium) throw new Error('playwright-core is not installed (npm ci installs it: it is a dev dependency)');
  const dist = o.dist ?? path.join(ROOT, 'dist');
  if (!existsSync(path.join(dist, 'src/browser.js'))) throw new Error(`${path.join(dist, 'src/browser.js')} is missing: run npm run build first`);

  const t0 = performance.now();
  // the repository root, with `dist` (a build made elsewhere, e.g. a fresh one in a temporary folder) as /dist/
  const srv = await startWebServer({ dir: ROOT, mounts: { '/dist/': dist } });
  const console_ = [];
  let browser;
  try {
    browser = await chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_FLAGS, ...(o.extraFlags ?? [])], timeout: 60_000 });
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (!m.text().startsWith('MSVSR_RESULT ')) console_.push(`[${m.type()}] ${m.text()}`);
    });
    page.on('pageerror', (e) => console_.push(`[pageerror] ${e.message}`));
    page.on('requestfailed', (r) => console_.push(`[requestfailed] ${r.url()}: ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400) console_.push(`[http ${r.status()}] ${r.url()}`);
    });
    const crashed = new Promise((_, reject) => page.once('crash', () => reject(new Error('the page crashed'))));
    const q = new URLSearchParams({ case: caseName });
    if (o.weights) q.set('weights', o.weights);
    if (o.repeat) q.set('repeat', String(o.repeat));
    await page.goto(`${srv.url}test/browser/page.html?${q}`, { waitUntil: 'load' });
    let result;
    try {
      await Promise.race([page.waitForFunction(() => window.__msvsr !== undefined, null, { timeout: timeoutMs, polling: 250 }), crashed]);
      result = await page.evaluate(() => window.__msvsr);
    } catch (e) {
      result = { ok: false, error: `no result from the page: ${e.message.split('\n')[0]}` };
    }
    return {
      ...result,
      chromium: browser.version(),
      flags: CHROMIUM_FLAGS.concat(o.extraFlags ?? []),
      wallSeconds: (performance.now() - t0) / 1000,
      console: console_,
    };
  } finally {
    await browser?.close().catch(() => {});
    await srv.close();
  }
}

/** True when the result passes: ran, finite output, max abs error within the tolerance. */
export function passes(r, tol = TOLERANCE) {
  return r.ok === true && typeof r.maxAbsErr === 'number' && r.maxAbsErr <= tol;
}

async function main(argv) {
  const arg = (name, dflt) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
  };
  const dist = arg('dist', undefined);
  const missing = await missingPrerequisites({ dist });
  if (missing.length) {
    console.log(JSON.stringify({ ok: false, error: `prerequisites missing: ${missing.join('; ')}` }));
    return 2;
  }
  const extra = arg('flags', process.env.MSVSR_CHROMIUM_FLAGS ?? '')
    .split(/\s+/)
    .filter(Boolean);
  const r = await runBrowserCheck({
    caseName: arg('case', 't2_32x48'),
    timeoutMs: Number(arg('timeout', '300')) * 1000,
    chromiumPath: arg('chromium', undefined),
    weights: arg('weights', undefined),
    repeat: Number(arg('repeat', '1')),
    dist,
    extraFlags: extra,
  });
  const ok = passes(r);
  const line = {
    ok,
    adapter: r.adapter,
    maxAbsErr: r.maxAbsErr,
    seconds: r.seconds,
    pipelines: r.pipelines,
    ...(r.repeatSeconds ? { repeatSeconds: r.repeatSeconds } : {}),
    case: r.case,
    chromium: r.chromium,
    flags: r.flags,
    wallSeconds: r.wallSeconds,
    ...(r.ok ? {} : { error: r.error, stack: r.stack }),
    ...(ok ? {} : { console: r.console }),
  };
  if (r.ok && !ok) line.error = `max abs error ${r.maxAbsErr} exceeds ${TOLERANCE}${r.nonFinite ? ` (${r.nonFinite} non-finite values)` : ''}`;
  console.log(JSON.stringify(line));
  return ok ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.log(JSON.stringify({ ok: false, error: String(e?.stack ?? e) }));
      process.exit(1);
    },
  );
}
