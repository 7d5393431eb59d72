// --compare's bicubic (by hand: flat, ramp, impulse) and side-by-side layout; the lock that
// keeps a second run off an output (a live holder refuses, a dead one's lock is taken over).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bicubic, keys } from '../../src/bicubic.js';
import { sideBySide } from '../../src/node/compare.js';
import { acquireLock, alive, lockPath } from '../../src/node/lock.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msvsr-compare-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('bicubic x4 (Keys, a = -0.5)', () => {
  it('the kernel by hand; a constant stays constant; a ramp stays a ramp away from the edges', () => {
    expect([keys(0), keys(1), keys(2), keys(0.5), keys(1.5)]).toEqual([1, 0, 0, 0.5625, -0.0625]);
    const flat = bicubic({ width: 3, height: 2, data: new Uint8Array(18).fill(77) });
    expect(flat.width).toBe(12);
    expect(flat.height).toBe(8);
    expect(Array.from(new Set(flat.data))).toEqual([77]);
    // a horizontal ramp 0, 1000, 2000, ... (16-bit): output x at input position (x + 0.5) / 4 - 0.5
    const W = 8;
    const ramp = bicubic({ width: W, height: 1, data: Uint16Array.from({ length: W * 3 }, (_, i) => 1000 * Math.floor(i / 3)) });
    for (let x = 8; x < 4 * W - 8; x++) expect(ramp.data[x * 3], `x ${x}`).toBe(Math.round(1000 * ((x + 0.5) / 4 - 0.5)));
  });

  it('an impulse traces the kernel: 30000 + 10000 at pixel 3 of a row gives 30000 + 10000 * keys(position - 3)', () => {
    const W = 8;
    const d = Uint16Array.from({ length: W * 3 }, (_, i) => (Math.floor(i / 3) === 3 ? 40000 : 30000));
    const out = bicubic({ width: W, height: 1, data: d });
    for (let x = 0; x < 4 * W; x++) expect(out.data[x * 3 + 1], `x ${x}`).toBe(Math.round(30000 + 10000 * keys((x + 0.5) / 4 - 0.5 - 3)));
    // e.g. x = 7: position 1.375, 1.625 from the impulse: the negative lobe
    expect(out.data[7 * 3]).toBe(Math.round(30000 + 10000 * (-0.5 * 1.625 ** 3 + 2.5 * 1.625 ** 2 - 4 * 1.625 + 2)));
    expect(out.data[7 * 3]).toBeLessThan(30000);
  });

  it('side by side: left then right, row by row', () => {
    const l = { width: 1, height: 2, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    const r = { width: 2, height: 2, data: Uint8Array.from([7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]) };
    expect(Array.from(sideBySide(l, r).data)).toEqual([1, 2, 3, 7, 8, 9, 10, 11, 12, 4, 5, 6, 13, 14, 15, 16, 17, 18]);
    expect(() => sideBySide(l, { width: 1, height: 1, data: new Uint8Array(3) })).toThrow(/heights 2 and 1/);
  });
});

describe('one run per output', () => {
  it('a live holder refuses a second run; its release frees the output; a dead holder is taken over', async () => {
    const out = path.join(dir, 'out.mp4');
    const release = acquireLock(out);
    expect(JSON.parse(fs.readFileSync(lockPath(out), 'utf8')).pid).toBe(process.pid);
    // another live process holds it
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      release();
      expect(fs.existsSync(lockPath(out))).toBe(false);
      fs.writeFileSync(lockPath(out), JSON.stringify({ pid: sleeper.pid, host: os.hostname() }));
      expect(() => acquireLock(out)).toThrow(
        new RegExp(
          `out\\.mp4: another msvsr run \\(pid ${sleeper.pid}\\) is writing it; wait for it to finish or stop it \\(if none is running, delete .*\\.out\\.mp4\\.msvsr-lock\\)`,
        ),
      );
    } finally {
      sleeper.kill('SIGKILL');
    }
    await new Promise((resolve) => sleeper.once('close', resolve));
    expect(alive(sleeper.pid!)).toBe(false);
    // now its lock is stale: taken over
    const again = acquireLock(out);
    expect(JSON.parse(fs.readFileSync(lockPath(out), 'utf8')).pid).toBe(process.pid);
    again();
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
