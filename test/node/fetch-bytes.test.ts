// The one downloader (src/platform/download.ts) that loadModel(url) and the CLI's weights download share:
// size cap, idle timeout, Content-Length check, progress, and errors that name the URL — against a local
// server that misbehaves on purpose.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadModel } from '../../src/index.js';
import { nodePlatform } from '../../src/platform/node.js';
import { DownloadError, IDLE_TIMEOUT_MS, MAX_WEIGHTS_BYTES, fetchBytes, type DownloadFailure } from '../../src/platform/download.js';

const WEIGHTS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'msvsr_random.pdparams');
const good = fs.readFileSync(WEIGHTS);
const small = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');

let server: net.Server;
const sockets = new Set<net.Socket>();
let base: string;

/** A raw HTTP/1.1 response head (the server writes bodies itself, so lengths can be wrong on purpose). */
const head = (status: string, headers: Record<string, string | number> = {}) =>
  `HTTP/1.1 ${status}\r\n${Object.entries({ connection: 'close', ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

function respond(url: string, s: net.Socket): void {
  switch (url) {
    case '/ok':
      s.end(head('200 OK', { 'content-length': small.length }) + small.toString('latin1'), 'latin1');
      return;
    case '/weights.pdparams':
      s.write(head('200 OK', { 'content-length': good.length }));
      s.end(good);
      return;
    case '/chunked': // no Content-Length: three pieces
      s.write(head('200 OK', { 'transfer-encoding': 'chunked' }));
      for (const part of [small.subarray(0, 10), small.subarray(10, 20), small.subarray(20)])
        s.write(`${part.length.toString(16)}\r\n${part.toString('latin1')}\r\n`, 'latin1');
      s.end('0\r\n\r\n');
      return;
    case '/missing':
      s.end(`${head('404 Not Found', { 'content-length': 9 })}not found`);
      return;
    case '/stall-headers': // accepts the request and says nothing
      return;
    case '/stall-body': // a head and 10 bytes, then nothing (the connection stays open)
      s.write(head('200 OK', { 'content-length': small.length }) + small.toString('latin1', 0, 10), 'latin1');
      return;
    case '/announce-huge': // a Content-Length past any cap
      s.write(head('200 OK', { 'content-length': 1 << 30 }) + small.toString('latin1'), 'latin1');
      return;
    case '/over-cap': // no Content-Length, more bytes than the test's cap
      s.write(head('200 OK'));
      s.end(Buffer.alloc(5000, 1));
      return;
    case '/short': // announces more than it sends, then hangs up
      s.end(head('200 OK', { 'content-length': small.length + 100 }) + small.toString('latin1'), 'latin1');
      return;
    case '/short-weights': // the weights file announced in full, half of it sent
      s.write(head('200 OK', { 'content-length': good.length }));
      s.end(good.subarray(0, good.length >> 1));
      return;
    case '/long': // announces less than it sends
      s.end(head('200 OK', { 'content-length': 10 }) + small.toString('latin1'), 'latin1');
      return;
    default:
      s.end(head('500 Internal Server Error', { 'content-length': 0 }));
  }
}

beforeAll(async () => {
  server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let req = '';
    s.on('data', (d) => {
      if (req.includes('\r\n\r\n')) return;
      req += d.toString('latin1');
      if (req.includes('\r\n\r\n')) respond(req.split(' ')[1] ?? '', s);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

/** The DownloadError fetchBytes throws. */
async function failure(p: Promise<unknown>): Promise<DownloadError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(DownloadError);
  return e as DownloadError;
}

describe('fetchBytes', () => {
  it('the defaults are the CLI weights limits', () => {
    expect(MAX_WEIGHTS_BYTES).toBe(512 << 20);
    expect(IDLE_TIMEOUT_MS).toBe(60_000);
  });

  it('reads the body, reporting progress from 0 to the end with the announced total', async () => {
    const seen: Array<[number, number | undefined]> = [];
    const b = await fetchBytes(`${base}/ok`, { onProgress: (got, total) => seen.push([got, total]) });
    expect(Buffer.from(b).toString()).toBe(small.toString());
    expect(seen[0]).toEqual([0, small.length]);
    expect(seen.at(-1)).toEqual([small.length, small.length]);
  });

  it('without a Content-Length (chunked): the whole body, total unknown', async () => {
    const seen: Array<number | undefined> = [];
    const b = await fetchBytes(new URL(`${base}/chunked`), { onProgress: (_, total) => seen.push(total) });
    expect(Buffer.from(b).toString()).toBe(small.toString());
    expect(seen.every((t) => t === undefined)).toBe(true);
  });

  const cases: Array<[string, string, Parameters<typeof fetchBytes>[1], DownloadFailure['kind'] | DownloadFailure['kind'][], RegExp]> = [
    ['HTTP error', '/missing', {}, 'http', /^http:\/\/127\.0\.0\.1:\d+\/missing: HTTP 404 Not Found$/],
    ['no response head within the idle timeout', '/stall-headers', { idleTimeoutMs: 300 }, 'connect', /\/stall-headers: no data for 0\.3 s$/],
    [
      'the body stalls past the idle timeout',
      '/stall-body',
      { idleTimeoutMs: 300 },
      'broken',
      /\/stall-body: the download broke off after 10 of 36 bytes \(no data for 0\.3 s\)$/,
    ],
    [
      'an announced size over the cap',
      '/announce-huge',
      {},
      'too-large',
      /\/announce-huge: the server announces 1073741824 bytes, more than the limit of 536870912$/,
    ],
    ['an announced size over a small cap', '/ok', { maxBytes: 10 }, 'too-large', /\/ok: the server announces 36 bytes, more than the limit of 10$/],
    [
      'more bytes than the cap, unannounced',
      '/over-cap',
      { maxBytes: 1000 },
      'broken',
      /\/over-cap: the download broke off after \d+ bytes \(more than 1000 bytes\)$/,
    ],
    [
      'fewer bytes than the Content-Length',
      '/short',
      {},
      ['broken', 'truncated'],
      /\/short: (the download broke off after 36 of 136 bytes \(.+\)|truncated: got 36 of 136 bytes)$/,
    ],
  ];
  for (const [name, url, opts, kind, msg] of cases) {
    it(`${name}: a DownloadError naming the URL and the reason`, async () => {
      const t0 = performance.now();
      const e = await failure(fetchBytes(`${base}${url}`, opts));
      expect(e.message).toMatch(msg);
      expect(e.url).toBe(`${base}${url}`);
      expect(e.message).toBe(`${e.url}: ${e.reason}`);
      expect([kind].flat()).toContain(e.failure.kind);
      expect(performance.now() - t0).toBeLessThan(10_000);
    });
  }

  it('more bytes than the Content-Length: the announced bytes only (HTTP/1.1 framing ends the body there)', async () => {
    expect(Buffer.from(await fetchBytes(`${base}/long`)).toString()).toBe(small.toString('latin1', 0, 10));
  });

  it('connection refused: the system error code', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const e = await failure(fetchBytes(`http://127.0.0.1:${port}/x`));
    expect(e.message).toBe(`http://127.0.0.1:${port}/x: ECONNREFUSED`);
    expect(e.failure.kind).toBe('connect');
  });
});

describe('loadModel(url) and the Node platform readFile go through fetchBytes', () => {
  it('http: the weights load', async () => {
    const m = await loadModel(`${base}/weights.pdparams`);
    expect(m.config).toBe('PP-MSVSR');
    expect(Buffer.compare(Buffer.from(await nodePlatform.readFile(new URL(`${base}/weights.pdparams`))), good)).toBe(0);
  });

  it('file: URLs and paths still read the file system', async () => {
    expect((await loadModel(pathToFileURL(WEIGHTS))).config).toBe('PP-MSVSR');
    expect((await nodePlatform.readFile(WEIGHTS)).length).toBe(good.length);
  });

  it('an announced size past the cap is refused before the body is read', async () => {
    await expect(loadModel(`${base}/announce-huge`)).rejects.toThrow(
      /\/announce-huge: the server announces 1073741824 bytes, more than the limit of 536870912/,
    );
  });

  it('a response shorter than its Content-Length is refused, not parsed', async () => {
    const e = await failure(loadModel(`${base}/short-weights`));
    expect(e.message).toMatch(
      new RegExp(`/short-weights: (the download broke off after \\d+ of ${good.length} bytes|truncated: got \\d+ of ${good.length} bytes)`),
    );
  });

  it('HTTP errors name the URL', async () => {
    await expect(loadModel(`${base}/missing`)).rejects.toThrow(new RegExp(`^${base.replace(/\./g, '\\.')}/missing: HTTP 404 Not Found$`));
  });
});
