/**
 * Progress of long work (generation, loading, training, Word2Vec), printed to stderr.
 *
 * ```ts
 * const p = progress({ label: 'train rows', total: rows, unit: 'rows' });
 * for (...) p.tick(chunkRows);
 * p.done();
 * ```
 * A TTY gets one line redrawn with `\r` at most `ttyIntervalMs` apart; anything else (CI logs, notebooks, pipes)
 * gets a plain line at most every `plainIntervalMs`, plus the final line. Call `tick` per chunk of work, not per
 * element: it reads the clock on every call.
 */

/** Where progress lines go: a stream with `write`; `isTTY` selects the redrawn bar. */
export interface ProgressSink {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** What is being done, e.g. `'train rows'`. */
  label: string;
  /** Units of work in all; unknown (no bar, no ETA) when absent. */
  total?: number;
  /** Name of one unit in the rate, e.g. `'rows'`. Default `'it'`. */
  unit?: string;
  /** Print nothing. Default: false, or true when progress is globally disabled (`setProgressEnabled(false)`). */
  silent?: boolean;
  /** Output. Default `process.stderr`. */
  stream?: ProgressSink;
  /** Least time between two redraws on a TTY. Default 250 ms. */
  ttyIntervalMs?: number;
  /** Least time between two plain lines elsewhere. Default 10,000 ms. */
  plainIntervalMs?: number;
  /** Clock in ms (tests). Default `performance.now`. */
  now?: () => number;
}

export interface Progress {
  /** Adds `n` (default 1) units done. */
  tick(n?: number): void;
  /** Sets the units done to `done`. */
  update(done: number): void;
  /** Ends the progress: prints the final line (with elapsed time) and, on a TTY, the newline. Idempotent. */
  done(note?: string): void;
  /** Units done so far. */
  readonly count: number;
  /** Seconds since creation. */
  readonly elapsed: number;
}

let enabled = !['0', 'false', 'off'].includes(String(process.env.MMCTR_PROGRESS ?? '').toLowerCase());

/** Turns all progress output on or off (e.g. in tests); `MMCTR_PROGRESS=0` starts it off. */
export function setProgressEnabled(on: boolean): void {
  enabled = on;
}

export function progressEnabled(): boolean {
  return enabled;
}

/** 1234567 → "1.23M"; small numbers as they are. */
export function formatCount(x: number): string {
  const a = Math.abs(x);
  if (a >= 1e9) return `${(x / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

/** Seconds → "42s", "3m05s", "1h02m". */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m - h * 60).padStart(2, '0')}m`;
}

export function progress(opts: ProgressOptions): Progress {
  const stream: ProgressSink = opts.stream ?? process.stderr;
  const silent = opts.silent ?? !enabled;
  const tty = stream.isTTY === true;
  const now = opts.now ?? (() => performance.now());
  const interval = tty ? (opts.ttyIntervalMs ?? 250) : (opts.plainIntervalMs ?? 10_000);
  const unit = opts.unit ?? 'it';
  const total = opts.total !== undefined && opts.total > 0 ? opts.total : undefined;
  const t0 = now();
  let last = t0;
  let count = 0;
  let finished = false;

  const line = (t: number): string => {
    const el = (t - t0) / 1000;
    const rate = el > 0 ? count / el : 0;
    const parts = [opts.label];
    if (total !== undefined) {
      const frac = Math.min(1, count / total);
      if (tty) {
        const width = 20;
        const full = Math.round(frac * width);
        parts.push(`[${'#'.repeat(full)}${'.'.repeat(width - full)}]`);
      }
      parts.push(`${(frac * 100).toFixed(1)}%`, `${formatCount(count)}/${formatCount(total)} ${unit}`);
    } else {
      parts.push(`${formatCount(count)} ${unit}`);
    }
    parts.push(`${formatCount(rate)} ${unit}/s`, formatDuration(el));
    if (total !== undefined && !finished && rate > 0) parts.push(`ETA ${formatDuration((total - count) / rate)}`);
    return parts.join('  ');
  };

  const draw = (t: number) => {
    last = t;
    if (tty) {
      let s = line(t);
      const cols = stream.columns ?? 120;
      if (s.length > cols - 1) s = s.slice(0, cols - 1);
      stream.write(`\r${s}\x1b[K`);
    } else {
      stream.write(`${line(t)}\n`);
    }
  };

  const maybeDraw = () => {
    if (silent || finished) return;
    const t = now();
    if (t - last >= interval) draw(t);
  };

  return {
    tick(n = 1) {
      count += n;
      maybeDraw();
    },
    update(done: number) {
      count = done;
      maybeDraw();
    },
    done(note?: string) {
      if (finished) return;
      finished = true;
      if (silent) return;
      const t = now();
      last = t;
      const s = note ? `${line(t)}  ${note}` : line(t);
      stream.write(tty ? `\r${s}\x1b[K\n` : `${s}\n`);
    },
    get count() {
      return count;
    },
    get elapsed() {
      return (now() - t0) / 1000;
    },
  };
}
