// Downloading a file into memory with a size cap and an idle timeout, on the web platform alone (fetch,
// AbortController, the body's reader), so Node and browsers share it: the library's loadModel(url) and the
// CLI's first-use download of the official weights both go through fetchBytes.

/** The official PP-MSVSR file is ~5.9 MB (PP-MSVSR-L ~30 MB): a download past this is not a weights file. */
export const MAX_WEIGHTS_BYTES = 512 << 20;
/** No byte for this long: give up. */
export const IDLE_TIMEOUT_MS = 60_000;

export interface FetchBytesOptions {
  /** Refuse a larger response, announced or actual (default MAX_WEIGHTS_BYTES; Infinity for none). */
  maxBytes?: number;
  /** Give up when no byte arrives for this long, connecting included (default IDLE_TIMEOUT_MS; Infinity for none). */
  idleTimeoutMs?: number;
  /** Called with 0 when the response starts, then after every piece; `total` is the Content-Length, if any. */
  onProgress?: (got: number, total: number | undefined) => void;
}

/** Why a download failed; `reason` is the plain-words part of the message. */
export type DownloadFailure =
  /** No response: connection refused, DNS, TLS, or no data before the idle timeout. */
  | { kind: 'connect'; reason: string }
  | { kind: 'http'; reason: string; status: number }
  /** The Content-Length is over maxBytes. */
  | { kind: 'too-large'; reason: string; announced: number }
  /** The body stopped: connection reset, idle timeout, or more than maxBytes. */
  | { kind: 'broken'; reason: string; got: number; total?: number; detail: string }
  /** The body ended before its Content-Length. */
  | { kind: 'truncated'; reason: string; got: number; total: number }
  /** The body went on past its Content-Length. */
  | { kind: 'too-long'; reason: string; got: number; total: number };

/** A failed download: the message is "<url>: <reason>". */
export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(
    readonly url: string,
    readonly failure: DownloadFailure,
  ) {
    super(`${url}: ${failure.reason}`);
  }
  get reason(): string {
    return this.failure.reason;
  }
}

/** The most specific text of a fetch error: Node's fetch puts the system error (ECONNREFUSED, ...) in `cause`. */
function errorText(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return e instanceof Error ? e.message : String(e);
}

function bodyErrorText(e: unknown): string {
  const cause = (e as { cause?: { message?: unknown } } | undefined)?.cause;
  if (typeof cause?.message === 'string') return cause.message;
  return e instanceof Error ? e.message : String(e);
}

/**
 * The bytes at `url` (any URL fetch takes, relative ones included in a browser). Checks the HTTP status, the
 * announced and the actual size against `maxBytes`, and the received length against Content-Length; gives up
 * after `idleTimeoutMs` without data. Throws a DownloadError naming the URL and the reason.
 */
export async function fetchBytes(url: string | URL, o: FetchBytesOptions = {}): Promise<Uint8Array> {
  const name = String(url);
  const maxBytes = o.maxBytes ?? MAX_WEIGHTS_BYTES;
  const idleMs = o.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  const fail = (f: DownloadFailure) => new DownloadError(name, f);
  const ac = new AbortController();
  let idle: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const idleText = () => `no data for ${idleMs / 1000} s`;
  const poke = () => {
    clearTimeout(idle);
    if (idleMs === Infinity) return;
    idle = setTimeout(() => {
      timedOut = true;
      ac.abort(new Error(idleText()));
    }, idleMs);
  };
  let complete = false;
  try {
    poke();
    let res: Response;
    try {
      res = await fetch(url, { signal: ac.signal, redirect: 'follow' });
    } catch (e) {
      throw fail({ kind: 'connect', reason: timedOut ? idleText() : errorText(e) });
    }
    if (!res.ok) throw fail({ kind: 'http', reason: `HTTP ${res.status} ${res.statusText}`.trim(), status: res.status });
    // Content-Length counts the bytes on the wire: with a Content-Encoding, fetch hands out more than that.
    const lenHeader = res.headers.get('content-length');
    const encoding = res.headers.get('content-encoding');
    const identity = encoding === null || encoding.trim().toLowerCase() === 'identity';
    const total = identity && lenHeader !== null && /^\d+$/.test(lenHeader) ? Number(lenHeader) : undefined;
    if (total !== undefined && total > maxBytes) {
      throw fail({ kind: 'too-large', reason: `the server announces ${total} bytes, more than the limit of ${maxBytes}`, announced: total });
    }
    const parts: Uint8Array[] = [];
    let got = 0;
    o.onProgress?.(0, total);
    try {
      if (!res.body) throw new Error('empty response');
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        poke();
        parts.push(value);
        got += value.length;
        if (got > maxBytes) throw new Error(`more than ${maxBytes} bytes`);
        o.onProgress?.(got, total);
      }
    } catch (e) {
      const detail = timedOut ? idleText() : bodyErrorText(e);
      throw fail({ kind: 'broken', reason: `the download broke off after ${got}${total ? ` of ${total}` : ''} bytes (${detail})`, got, total, detail });
    }
    if (total !== undefined && got < total) throw fail({ kind: 'truncated', reason: `truncated: got ${got} of ${total} bytes`, got, total });
    if (total !== undefined && got > total)
      throw fail({ kind: 'too-long', reason: `got ${got} bytes, more than the ${total} the server announced`, got, total });
    const data = new Uint8Array(got);
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    complete = true;
    return data;
  } finally {
    clearTimeout(idle);
    // A failure before the end: drop the connection rather than leave it to the server.
    if (!complete && !ac.signal.aborted) ac.abort(new Error('download abandoned'));
  }
}
