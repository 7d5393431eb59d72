// Default weights: downloaded once into the cache from MSVSR_WEIGHTS_URL (a local server here), atomically,
// validated; failures leave nothing in the cache and say what to do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_WEIGHTS_NAME, OFFICIAL_WEIGHTS_URL, cacheDir, defaultWeightsPath, resolveWeights } from '../../src/node/weights.js';
import { WEIGHTS, cli, ensureBuilt, listAll, rgbFrame, scratch } from './helpers.js';
import { encodePng } from '../../src/node/png.js';

let dir: string;
let server: http.Server;
let base: string;
const hits: string[] = [];
const good = fs.readFileSync(WEIGHTS);

beforeAll(async () => {
  ensureBuilt();
  dir = scratch('download');
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    switch (req.url) {
      case '/ok.pdparams':
        res.writeHead(200, { 'content-length': good.length, 'content-type': 'application/octet-stream' });
        res.end(good);
        return;
      case '/chunked.pdparams': // no content-length: validated by parsing alone
        res.writeHead(200);
        res.write(good.subarray(0, 1000));
        res.end(good.subarray(1000));
        return;
      case '/truncated.pdparams': // announces the full size, sends half, hangs up
        res.writeHead(200, { 'content-length': good.length });
        res.write(good.subarray(0, good.length >> 1), () => res.destroy());
        return;
      case '/truncated-unannounced.pdparams': // no length, half the file: the parser must catch it
        res.writeHead(200);
        res.end(good.subarray(0, good.length >> 1));
        return;
      case '/huge.pdparams': // announces far more than any weights file (the client hangs up at once)
        res.writeHead(200, { 'content-length': 1 << 30 });
        res.write(good.subarray(0, 1000));
        return;
      case '/garbage.pdparams':
        res.writeHead(200, { 'content-length': 4096 });
        res.end(Buffer.alloc(4096, 0x42));
        return;
      case '/html.pdparams': // a captive portal / error page served with 200
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>Please log in</body></html>');
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

function cacheEnv(tag: string, url: string) {
  const cache = path.join(dir, `cache-${tag}`);
  return { cache, env: { MSVSR_CACHE_DIR: cache, MSVSR_WEIGHTS_URL: url, MSVSR_WEIGHTS: '' } };
}

describe('weights location', () => {
  it('MSVSR_CACHE_DIR, else $XDG_CACHE_HOME/msvsr (absolute only), else ~/.cache/msvsr', () => {
    expect(cacheDir({ MSVSR_CACHE_DIR: '/c/x', XDG_CACHE_HOME: '/xdg' })).toBe('/c/x');
    expect(cacheDir({ XDG_CACHE_HOME: '/xdg' })).toBe('/xdg/msvsr');
    expect(cacheDir({ XDG_CACHE_HOME: 'relative' })).toBe(path.join(os.homedir(), '.cache', 'msvsr'));
    expect(cacheDir({})).toBe(path.join(os.homedir(), '.cache', 'msvsr'));
    expect(defaultWeightsPath({ XDG_CACHE_HOME: '/xdg' })).toBe(`/xdg/msvsr/${DEFAULT_WEIGHTS_NAME}`);
    expect(OFFICIAL_WEIGHTS_URL).toBe('https://paddlegan.bj.bcebos.com/models/PP-MSVSR_reds_x4.pdparams');
  });

  it('--weights, then MSVSR_WEIGHTS, then the cache', async () => {
    const { env } = cacheEnv('order', `${base}/404`);
    expect((await resolveWeights({ weights: WEIGHTS, env: { ...env, MSVSR_WEIGHTS: '/nope' } })).how).toBe('option');
    expect((await resolveWeights({ env: { ...env, MSVSR_WEIGHTS: WEIGHTS } })).how).toBe('MSVSR_WEIGHTS');
    await expect(resolveWeights({ env: { ...env, MSVSR_WEIGHTS: '/nope.pdparams' } })).rejects.toThrow(/MSVSR_WEIGHTS \/nope\.pdparams: no such file/);
  });
});

describe('download (local HTTP server on 127.0.0.1)', () => {
  it('success: saved into the cache, validated, reused without a second download', async () => {
    const { cache, env } = cacheEnv('ok', `${base}/ok.pdparams`);
    const progress: number[] = [];
    const r = await resolveWeights({ env, onDownload: (got) => progress.push(got) });
    expect(r.how).toBe('download');
    expect(r.file).toBe(path.join(cache, DEFAULT_WEIGHTS_NAME));
    expect(r.weights.config).toBe('PP-MSVSR');
    expect(Buffer.compare(fs.readFileSync(r.file), good)).toBe(0);
    expect(listAll(cache)).toEqual([DEFAULT_WEIGHTS_NAME]); // no temporary file left
    expect(progress.at(-1)).toBe(good.length);
    const n = hits.length;
    const again = await resolveWeights({ env });
    expect(again.how).toBe('cache');
    expect(again.sha256).toBe(r.sha256);
    expect(hits.length).toBe(n);
  });

  it('success without Content-Length', async () => {
    const { cache, env } = cacheEnv('chunked', `${base}/chunked.pdparams`);
    expect((await resolveWeights({ env })).how).toBe('download');
    expect(listAll(cache)).toEqual([DEFAULT_WEIGHTS_NAME]);
  });

  const failures: Array<[string, string, RegExp]> = [
    ['404', '/missing.pdparams', /could not download the PP-MSVSR weights from http:\/\/127\.0\.0\.1:\d+\/missing\.pdparams: HTTP 404 Not Found/],
    [
      'truncated',
      '/truncated.pdparams',
      /could not download .*truncated\.pdparams: the download broke off after \d+ of \d+ bytes|truncated: got \d+ of \d+ bytes/,
    ],
    ['truncated-unannounced', '/truncated-unannounced.pdparams', /the file downloaded from .* is not valid PP-MSVSR weights, so it was not saved/],
    ['huge', '/huge.pdparams', /could not download .*huge\.pdparams: the server announces 1073741824 bytes, far more than a weights file/],
    ['garbage', '/garbage.pdparams', /the file downloaded from .*garbage\.pdparams is not valid PP-MSVSR weights, so it was not saved: .*not a \.pdparams/],
    ['html', '/html.pdparams', /is not valid PP-MSVSR weights, so it was not saved/],
  ];
  for (const [tag, url, msg] of failures) {
    it(`${tag}: a clear error, nothing in the cache`, async () => {
      const { cache, env } = cacheEnv(tag, `${base}${url}`);
      await expect(resolveWeights({ env })).rejects.toThrow(msg);
      expect(listAll(cache)).toEqual([]);
    });
  }

  it('offline (connection refused): names the URL and where to put the file', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { cache, env } = cacheEnv('offline', `http://127.0.0.1:${port}/PP-MSVSR_reds_x4.pdparams`);
    const e = await resolveWeights({ env }).catch((x: Error) => x);
    expect(e).toBeInstanceOf(Error);
    const m = (e as Error).message;
    expect(m).toMatch(new RegExp(`could not download the PP-MSVSR weights from http://127\\.0\\.0\\.1:${port}/PP-MSVSR_reds_x4\\.pdparams: ECONNREFUSED`));
    expect(m).toContain(`put it at ${path.join(cache, DEFAULT_WEIGHTS_NAME)}`);
    expect(m).toMatch(/--weights/);
    expect(listAll(cache)).toEqual([]);
  });

  it('an invalid file already in the cache is reported, not used', async () => {
    const { cache, env } = cacheEnv('bad-cache', `${base}/ok.pdparams`);
    fs.mkdirSync(cache);
    fs.writeFileSync(path.join(cache, DEFAULT_WEIGHTS_NAME), 'junk');
    await expect(resolveWeights({ env })).rejects.toThrow(/cached weights .* are not valid .*; delete the file to download it again/);
  });

  it('the CLI without --weights downloads into the cache, then upscales; a failed download leaves no output', async () => {
    const png = path.join(dir, 'in.png');
    fs.writeFileSync(png, encodePng({ width: 16, height: 16, data: rgbFrame(16, 16, 0) }));
    const bad = cacheEnv('cli-404', `${base}/missing.pdparams`);
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    const f = await cli(['upscale', png, '-o', path.join(out, 'x.png')], { env: bad.env });
    expect(f.code).toBe(1);
    expect(f.stderr).toMatch(/HTTP 404 Not Found.*\n.*put it at .*cache-cli-404\/PP-MSVSR_reds_x4\.pdparams/);
    expect(listAll(out)).toEqual([]);
    expect(listAll(bad.cache)).toEqual([]);
    const ok = cacheEnv('cli-ok', `${base}/ok.pdparams`);
    const r = await cli(['upscale', png, '-o', path.join(out, 'x.png')], { env: ok.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/downloading the PP-MSVSR weights \(once\) from http:\/\/127\.0\.0\.1:\d+\/ok\.pdparams/);
    expect(listAll(ok.cache)).toEqual([DEFAULT_WEIGHTS_NAME]);
    expect(listAll(out)).toEqual(['x.png']);
  });
});
