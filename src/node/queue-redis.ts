// The Redis connection of the queue commands: the URL checked and shown without its password, a first
// connection that fails fast with a clear message (nobody wants `msvsr queue add` to hang on a typo), and for
// a worker, reconnection for as long as it takes once it has been connected (Redis restarted, a network blip).
import { Redis } from 'ioredis';
import { CliError } from './errors.js';

/**
 * The URL as it may be shown: the password replaced by ***, and so is a user name without a password
 * (redis://secret@host is read as a password by some clients) and any query (ioredis reads ?password=).
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    else if (u.username) u.username = '***';
    if (u.search) u.search = '?***';
    return u.toString();
  } catch {
    return '(an invalid URL)';
  }
}

export function checkRedisUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CliError(`--redis ${redactUrl(url)}: not a URL; expected redis://[user:password@]host[:port][/db]`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new CliError(`--redis ${redactUrl(url)}: expected a redis:// or rediss:// URL, found ${u.protocol.replace(/:$/, '')}://`);
  if (u.pathname && u.pathname !== '/' && !/^\/\d+$/.test(u.pathname)) throw new CliError(`--redis ${redactUrl(url)}: the path must be a database number`);
  return u;
}

export interface RedisOptions {
  /** Keep reconnecting after a lost connection (a worker); otherwise commands fail once it is lost. */
  reconnect?: boolean;
  onReconnecting?: () => void;
}

/** Connects, or throws a CliError naming the (redacted) URL and why. */
export async function connectRedis(url: string, o: RedisOptions = {}): Promise<Redis> {
  checkRedisUrl(url);
  const shown = redactUrl(url);
  let connected = false;
  let lastError: Error | undefined;
  const conn = new Redis(url, {
    lazyConnect: true,
    // BullMQ's workers block on Redis; a per-request retry limit would break them.
    maxRetriesPerRequest: null,
    connectTimeout: 5000,
    retryStrategy: (times) => (connected && o.reconnect ? Math.min(100 * times, 2000) : null),
  });
  conn.on('error', (e: Error) => {
    lastError = e;
  });
  conn.on('reconnecting', () => o.onReconnecting?.());
  try {
    await conn.connect();
    await conn.ping();
  } catch (e) {
    conn.disconnect();
    const why = lastError?.message ?? (e as Error).message;
    if (/NOAUTH|WRONGPASS|invalid password|AUTH/i.test(why)) throw new CliError(`Redis at ${shown} refused the connection: ${why.replace(/\s+$/, '')}`);
    throw new CliError(`cannot reach Redis at ${shown}: ${why}`);
  }
  connected = true;
  return conn;
}

/**
 * A clearer error for a write Redis refused: out of memory (maxmemory reached) is "the queue is full", and
 * the transaction that BullMQ sends for a flow was discarded whole, so nothing of it was written.
 */
export async function explainWriteError(conn: Redis, e: unknown, url: string, what: string): Promise<Error> {
  const m = (e as Error)?.message ?? String(e);
  if (/OOM|EXECABORT/.test(m)) {
    let mem = '';
    try {
      const info = await conn.info('memory');
      const used = /used_memory:(\d+)/.exec(info)?.[1];
      const max = /maxmemory:(\d+)/.exec(info)?.[1];
      if (used && max && Number(max) > 0) mem = ` (${used} bytes used of maxmemory ${max})`;
    } catch {
      /* the explanation is a courtesy */
    }
    return new CliError(`Redis at ${redactUrl(url)} is full${mem}: ${what} was not queued (nothing of it was written); free memory or raise maxmemory`);
  }
  return e instanceof Error ? e : new Error(m);
}
