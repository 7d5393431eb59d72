// Default weights: downloaded once into the cache from MSVSR_WEIGHTS_URL (a local server here), atomically,
// validated; failures leave nothing in the cache and say what to do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_WEIGHTS_NAME, MODELS, OFFICIAL_WEIGHTS_URL, cacheDir, defaultWeightsPath, modelUrl, resolveWeights } from '../../src/node/weights.js';
import { WEIGHTS, cli, ensureBuilt, listAll, rgbFrame, scratch } from './helpers.js';
import { encodePng } from '../../src/node/png.js';
import type { Info } from '../../src/node/info.js';
import { CONFIGS, manifestOf } from '../../src/weights/manifest.js';
import { writeSafetensors } from '../../src/weights/safetensors.js';
import { seededStateDict } from '../../src/weights/seeded.js';

let dir: string;
let server: http.Server;
let base: string;
const hits: string[] = [];
const good = fs.readFileSync(WEIGHTS);
/** PP-MSVSR-L weights (seeded), as safetensors: what the server hands out for the `large` model. */
const large = Buffer.from(
  writeSafetensors(
    seededStateDict(
      7,
      manifestOf(CONFIGS['PP-MSVSR-L']).map((e) => [e.name, e.shape] as const),
    ),
  ),
);

beforeAll(async () => {
  ensureBuilt();
  dir = scratch('download');
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    switch (req.url) {
      case `/models/${MODELS.vimeo90k.file}`:
      case `/wrong/${MODELS.vimeo90k.file}`:
      case `/wrong/${MODELS.large.file}`: // PP-MSVSR weights under the PP-MSVSR-L name
        res.writeHead(200, { 'content-length': good.length });
        res.end(good);
        return;
      case `/models/${MODELS.large.file}`:
        res.writeHead(200, { 'content-length': large.length });
        res.end(large);
        return;
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

describe("--model: PaddleGAN's published weights, each downloaded once into the cache", () => {
  it("the three names, their URLs (PaddleGAN's server, or MSVSR_MODELS_URL), and the architecture each must hold", async () => {
    expect(modelUrl('reds', {})).toBe('https://paddlegan.bj.bcebos.com/models/PP-MSVSR_reds_x4.pdparams');
    expect(modelUrl('vimeo90k', {})).toBe('https://paddlegan.bj.bcebos.com/models/PP-MSVSR_vimeo90k_x4.pdparams');
    expect(modelUrl('large', {})).toBe('https://paddlegan.bj.bcebos.com/models/PP-MSVSR-L_reds_x4.pdparams');
    expect(modelUrl('large', { MSVSR_MODELS_URL: 'http://x/m' })).toBe('http://x/m/PP-MSVSR-L_reds_x4.pdparams');
    const cache = path.join(dir, 'cache-models');
    const env = { MSVSR_CACHE_DIR: cache, MSVSR_MODELS_URL: `${base}/models/`, MSVSR_WEIGHTS: WEIGHTS };
    const v = await resolveWeights({ model: 'vimeo90k', env }); // --model wins over MSVSR_WEIGHTS
    expect(v).toMatchObject({ how: 'download', model: 'vimeo90k', file: path.join(cache, MODELS.vimeo90k.file) });
    expect(v.weights.config).toBe('PP-MSVSR');
    const l = await resolveWeights({ model: 'large', env });
    expect(l).toMatchObject({ how: 'download', model: 'large' });
    expect(l.weights.config).toBe('PP-MSVSR-L');
    expect(Buffer.compare(fs.readFileSync(l.file), large)).toBe(0);
    const n = hits.length;
    expect((await resolveWeights({ model: 'large', env })).how).toBe('cache');
    expect(hits.length).toBe(n);
    expect(listAll(cache)).toEqual([MODELS.large.file, MODELS.vimeo90k.file]);
    const r = await cli(['info', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const models = (JSON.parse(r.stdout) as Info).models;
    expect(models.map((m) => [m.name, m.present])).toEqual([
      ['reds', false],
      ['vimeo90k', true],
      ['large', true],
    ]);
    expect(models.find((m) => m.name === 'large')?.bytes).toBe(large.length);
    const t = await cli(['info'], { env });
    expect(t.stdout).toMatch(/^models \(--model\):\n {2}reds +not cached \(downloaded on first use from .*\/models\/PP-MSVSR_reds_x4\.pdparams\)/m);
    expect(t.stdout).toMatch(/^ {2}large +cached, \d+ bytes: .*PP-MSVSR-L_reds_x4\.pdparams — PP-MSVSR-L/m);
  });

  it("a file of the other architecture under a model's name is refused and not saved", async () => {
    const cache = path.join(dir, 'cache-wrong');
    const env = { MSVSR_CACHE_DIR: cache, MSVSR_MODELS_URL: `${base}/wrong` };
    await expect(resolveWeights({ model: 'large', env })).rejects.toThrow(
      /PP-MSVSR-L_reds_x4\.pdparams is not valid PP-MSVSR weights, so it was not saved: it holds PP-MSVSR weights, not PP-MSVSR-L/,
    );
    expect(listAll(cache)).toEqual([]);
    fs.mkdirSync(cache);
    fs.copyFileSync(WEIGHTS, path.join(cache, MODELS.large.file));
    await expect(resolveWeights({ model: 'large', env })).rejects.toThrow(
      /cached weights .*PP-MSVSR-L_reds_x4\.pdparams are not valid \(.* holds PP-MSVSR weights, but --model large is PP-MSVSR-L\); delete the file/,
    );
  });

  it('msvsr upscale --model vimeo90k downloads it, then upscales', async () => {
    const png = path.join(dir, 'model.png');
    fs.writeFileSync(png, encodePng({ width: 16, height: 16, data: rgbFrame(16, 16, 1) }));
    const cache = path.join(dir, 'cache-cli-model');
    const out = path.join(dir, 'model_x4.png');
    const r = await cli(['upscale', png, '-o', out, '--model', 'vimeo90k'], {
      env: { MSVSR_CACHE_DIR: cache, MSVSR_MODELS_URL: `${base}/models/`, MSVSR_WEIGHTS: '' },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/downloading the PP-MSVSR weights \(once\) from http:\/\/127\.0\.0\.1:\d+\/models\/PP-MSVSR_vimeo90k_x4\.pdparams/);
    expect(listAll(cache)).toEqual([MODELS.vimeo90k.file]);
    expect(fs.existsSync(out)).toBe(true);
    const bad = await cli(['upscale', png, '-o', out, '--model', 'tiny', '--overwrite']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/option '-m, --model <name>' argument 'tiny' is invalid\. use one of reds, vimeo90k, large/);
  });
});
