// Progress on stderr: a redrawn bar (frames, fps, ETA) on a terminal, plain lines (one per chunk) otherwise.
export interface ProgressOptions {
  quiet?: boolean;
  /** Defaults to whether stderr is a terminal. */
  tty?: boolean;
  stream?: NodeJS.WriteStream;
  label?: string;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

export function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1 << 10 ? `${(n / 1024).toFixed(0)} KiB` : `${n} B`;
}

export class Progress {
  private readonly tty: boolean;
  private readonly out: NodeJS.WriteStream;
  private started = 0;
  private lastDraw = 0;
  private drawn = false;
  done = 0;

  constructor(
    /** Frames in all (undefined or approximate when a container does not say). */
    public total: number | undefined,
    private readonly o: ProgressOptions = {},
    /** The total is an estimate (shown as ~N). */
    public approximate = false,
  ) {
    this.out = o.stream ?? process.stderr;
    this.tty = o.tty ?? !!this.out.isTTY;
  }

  /** Starts the clock (the first frame's work begins). */
  start(): void {
    this.started = performance.now();
  }

  private stats(): { fps: number; eta: number | undefined } {
    const s = (performance.now() - this.started) / 1000;
    const fps = s > 0 ? this.done / s : 0;
    const left = this.total !== undefined ? Math.max(0, this.total - this.done) : undefined;
    return { fps, eta: left !== undefined && fps > 0 ? left / fps : undefined };
  }

  private text(): string {
    const { fps, eta } = this.stats();
    const total = this.total !== undefined ? `${this.approximate ? '~' : ''}${this.total}` : '?';
    const parts = [`${this.done}/${total} frames`, `${fps.toFixed(fps < 10 ? 2 : 1)} fps`];
    if (eta !== undefined && this.done < (this.total ?? 0)) parts.push(`ETA ${formatDuration(eta)}`);
    return parts.join('  ');
  }

  /** A frame was written. Redraws the bar at most 10 times a second. */
  frame(): void {
    this.done++;
    if (this.o.quiet || !this.tty) return;
    const now = performance.now();
    if (now - this.lastDraw < 100 && this.done !== this.total) return;
    this.lastDraw = now;
    this.draw();
  }

  private draw(): void {
    const cols = Math.max(40, this.out.columns ?? 80);
    const info = this.text();
    const label = this.o.label ? `${this.o.label} ` : '';
    const barWidth = Math.max(10, Math.min(30, cols - 56 - label.length)); // fixed: the text after it varies
    let bar = '';
    if (this.total) {
      const f = Math.min(1, this.done / this.total);
      const full = Math.floor(f * barWidth);
      bar = `[${'#'.repeat(full)}${'-'.repeat(barWidth - full)}] `;
    }
    this.out.write(`\r\x1b[2K${label}${bar}${info}`);
    this.drawn = true;
  }

  /** A chunk is done: one plain line when stderr is not a terminal. */
  chunk(): void {
    if (this.o.quiet || this.tty) return;
    this.out.write(`msvsr: ${this.o.label ? `${this.o.label}: ` : ''}${this.text()}\n`);
  }

  /** Prints a line without breaking the bar. */
  log(line: string): void {
    if (this.o.quiet) return;
    if (this.tty && this.drawn) {
      this.out.write(`\r\x1b[2K${line}\n`);
      this.draw();
    } else this.out.write(`${line}\n`);
  }

  /** A warning: printed like a line, even when quiet. */
  warn(line: string): void {
    if (this.o.quiet) this.out.write(`${line}\n`);
    else this.log(line);
  }

  /** Leaves the bar's last state on its own line. */
  end(): void {
    if (this.o.quiet || !this.tty || !this.drawn) return;
    this.draw();
    this.out.write('\n');
    this.drawn = false;
  }
}

/** A download progress line (redrawn on a terminal, a few lines otherwise). */
export function downloadReporter(o: ProgressOptions = {}): (got: number, total: number | undefined) => void {
  const out = o.stream ?? process.stderr;
  const tty = o.tty ?? !!out.isTTY;
  let last = 0;
  let lastQuarter = -1;
  return (got, total) => {
    if (o.quiet) return;
    const text = `  ${formatBytes(got)}${total ? ` / ${formatBytes(total)} (${Math.floor((100 * got) / total)}%)` : ''}`;
    if (tty) {
      const now = performance.now();
      if (now - last < 100 && got !== total) return;
      last = now;
      out.write(`\r\x1b[2K${text}${total !== undefined && got === total ? '\n' : ''}`);
    } else if (total) {
      const q = Math.floor((4 * got) / total);
      if (q !== lastQuarter) {
        lastQuarter = q;
        out.write(`msvsr: download${text}\n`);
      }
    }
  };
}
