// A throwaway Redis for the queue tests and bench/queue.ts: Debian's redis-server on 127.0.0.1 and a free port,
// its data (an append-only file, so a restart keeps the queue) in a given folder; stopped and started again.
import { type ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import { Redis } from 'ioredis';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  private p: ChildProcess | undefined;
  log = '';

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async start(dir: string): Promise<RedisServer> {
    const r = new RedisServer(dir, await freePort());
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'yes'];
    // BullMQ needs keys never evicted.
    args.push('--maxmemory-policy', 'noeviction', '--daemonize', 'no');
    this.p = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.p.stdout?.setEncoding('utf8').on('data', (d: string) => (this.log += d));
    this.p.stderr?.setEncoding('utf8').on('data', (d: string) => (this.log += d));
    const until = Date.now() + 10_000;
    for (;;) {
      const c = new Redis(this.port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      c.on('error', () => {});
      try {
        await c.connect();
        // Loading the append-only file: PING answers LOADING until the data is back.
        if ((await c.ping()) === 'PONG') return;
      } catch {
        /* not up yet */
      } finally {
        c.disconnect();
      }
      if (Date.now() > until) throw new Error(`redis-server did not start on port ${this.port}: ${this.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGTERM: Redis flushes its append-only file and exits. */
  async stop(): Promise<void> {
    const p = this.p;
    if (!p || p.exitCode !== null) return;
    const done = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await done;
  }

  /** A client for the test's own checks. */
  client(): Redis {
    const c = new Redis(this.port, '127.0.0.1', { maxRetriesPerRequest: null });
    c.on('error', () => {});
    return c;
  }
}
