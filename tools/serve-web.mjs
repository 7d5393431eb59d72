#!/usr/bin/env node
// Serves the built app (dist/web) on 127.0.0.1 and prints its URL. A static file server and nothing else:
// the app runs entirely in the page. 127.0.0.1 is a secure context, so the browser offers WebGPU, WebCodecs,
// the Cache API and the origin-private file system to the page.
//
//   node tools/serve-web.mjs [--port 8173] [--dir dist/web]      (npm run web builds first, then runs this)
//
// startWebServer({ dir, port, mounts }) is the same server for tests: `mounts` maps URL prefixes to more
// folders (e.g. { '/fixtures/': 'test/fixtures' }).
import http from 'node:http';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.wgsl': 'text/plain; charset=utf-8',
  '.pdparams': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
};

/** Serves `dir` (and `mounts`) on 127.0.0.1:`port` (0: any free port). Resolves with the URL and close(). */
export async function startWebServer(o = {}) {
  const dir = path.resolve(o.dir ?? path.join(ROOT, 'dist/web'));
  const mounts = Object.entries(o.mounts ?? {}).map(([prefix, d]) => [prefix, path.resolve(d)]);
  const server = http.createServer(async (req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      let rel = decodeURIComponent(url.pathname);
      let base = dir;
      for (const [prefix, d] of mounts) {
        if (rel.startsWith(prefix)) {
          base = d;
          rel = `/${rel.slice(prefix.length)}`;
          break;
        }
      }
      if (rel.endsWith('/')) rel += 'index.html';
      const file = path.resolve(base, `.${rel}`);
      if (file !== base && !file.startsWith(base + path.sep)) {
        res.writeHead(403).end();
        return;
      }
      const st = await fsp.stat(file).catch(() => undefined);
      if (!st?.isFile()) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${url.pathname}`);
        return;
      }
      const body = await fsp.readFile(file);
      res.writeHead(200, {
        'content-type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
        'content-length': body.length,
        'cache-control': 'no-cache',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(String(e));
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return { server, url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(() => r(undefined))) };
}

async function main(argv) {
  const arg = (name, dflt) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const dir = path.resolve(arg('dir', path.join(ROOT, 'dist/web')));
  await fsp.access(path.join(dir, 'index.html')).catch(() => {
    throw new Error(`${path.join(dir, 'index.html')} is missing: run \`npm run build:web\` first (or \`npm run web\`, which builds and serves)`);
  });
  const port = Number(arg('port', process.env.PORT ?? '8173'));
  let srv;
  try {
    srv = await startWebServer({ dir, port });
  } catch (e) {
    if (e.code !== 'EADDRINUSE') throw e;
    srv = await startWebServer({ dir, port: 0 }); // the usual port is taken: any free one
  }
  console.log(`msvsr-webgpu app: ${srv.url}  (serving ${path.relative(process.cwd(), dir) || '.'}; Ctrl+C stops)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e.message ?? e);
    process.exit(1);
  });
}
