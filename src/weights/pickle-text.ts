// The text arguments of protocol-0/1 pickles (and the latin-1 strings of Python 2): decimal INT / LONG /
// FLOAT lines, STRING's quoted bytes repr and UNICODE's raw-unicode-escape. Each decoder reports a problem
// through the VM's `fail`, so its message names the file and the opcode.
import { clip } from './errors.js';

export type Fail = (msg: string) => never;

/** A Python int as a JS number when it is a safe integer, else as a bigint. */
export function toInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Bytes as a latin-1 string (one char per byte). */
export function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/** A decimal integer as INT / LONG / PUT / GET write it (LONG with a trailing 'L' in Python 2). */
export function textInt(s: string, what: string, fail: Fail): number | bigint {
  const t = s.endsWith('L') ? s.slice(0, -1) : s;
  if (!/^[+-]?\d+$/.test(t)) fail(`${what} '${clip(s, 40)}' is not an integer`);
  return toInt(BigInt(t));
}

/** FLOAT's argument: repr() of a float, including inf and nan. */
export function textFloat(line: string, fail: Fail): number {
  const s = line.trim();
  const v = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|nan)$/i.test(s) ? Number(s.replace(/inf/i, 'Infinity').replace(/nan/i, 'NaN')) : NaN;
  if (Number.isNaN(v) && !/nan/i.test(s)) fail(`FLOAT '${clip(s, 40)}' is not a number`);
  return v;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  r: '\r',
  t: '\t',
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '\n': '',
};

/** Protocol-0 STRING: a Python bytes repr in quotes, decoded as latin-1. */
export function pyStringRepr(b: Uint8Array, fail: Fail): string {
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0x0d || b[end - 1] === 0x20)) end--;
  const q = b[0];
  if (end < 2 || (q !== 0x27 && q !== 0x22) || b[end - 1] !== q) fail('STRING argument is not quoted');
  let out = '';
  for (let i = 1; i < end - 1; i++) {
    const c = b[i];
    if (c !== 0x5c) {
      out += String.fromCharCode(c);
      continue;
    }
    i++;
    if (i >= end - 1) fail('STRING argument ends in a backslash');
    const e = String.fromCharCode(b[i]);
    if (e in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[e];
    else if (e === 'x') {
      const h = String.fromCharCode(b[i + 1] ?? 0, b[i + 2] ?? 0);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) fail('STRING argument has a bad \\x escape');
      out += String.fromCharCode(parseInt(h, 16));
      i += 2;
    } else if (e >= '0' && e <= '7') {
      let o = e;
      while (o.length < 3 && b[i + 1] >= 0x30 && b[i + 1] <= 0x37) o += String.fromCharCode(b[++i]);
      out += String.fromCharCode(parseInt(o, 8) & 0xff);
    } else out += `\\${e}`;
  }
  return out;
}

/** Protocol-0 UNICODE: raw-unicode-escape (latin-1 bytes with \\uXXXX and \\UXXXXXXXX). */
export function rawUnicodeEscape(b: Uint8Array, fail: Fail): string {
  let out = '';
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === 0x5c && (b[i + 1] === 0x75 || b[i + 1] === 0x55)) {
      const n = b[i + 1] === 0x75 ? 4 : 8;
      const h = latin1(b.subarray(i + 2, i + 2 + n));
      if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) fail('UNICODE argument has a bad \\u escape');
      const cp = parseInt(h, 16);
      if (cp > 0x10ffff) fail('UNICODE argument has an escape beyond U+10FFFF');
      out += String.fromCodePoint(cp);
      i += 1 + n;
    } else out += String.fromCharCode(c);
  }
  return out;
}
