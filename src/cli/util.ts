/**
 * Helpers shared by the CLI commands: usage errors (exit code 2), number and range parsing, output
 * formats and progress reports on stderr (a bar on a terminal, a line every few seconds otherwise).
 */
import { QkdnetError } from '../common/index.ts';

/** Bad command-line input: main() prints `qkdnet: <message>` on stderr and exits 2. */
export class UsageError extends QkdnetError {
  constructor(message: string) {
    super('CLI_USAGE', message);
    this.name = 'UsageError';
  }
}

/** The base URLs of one KME from `--kme` (comma-separated: its replicas, tried in order on failure). */
export function parseKmeUrls(value: string, flag: string): string[] {
  const urls = value
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (urls.length === 0) throw new UsageError(`${flag}: no URL given`);
  for (const u of urls)
    if (!/^https:\/\//.test(u)) throw new UsageError(`${flag}: "${u}" is not an https:// URL`);
  return urls;
}

/** Parses a finite number, accepting `1e9`, `1_000_000` and `10G`-free plain forms; names the flag on error. */
export function parseNumber(
  text: string,
  flag: string,
  opts: { min?: number; max?: number; integer?: boolean } = {},
): number {
  const cleaned = text.trim().replace(/_/g, '');
  const v = cleaned === '' ? NaN : Number(cleaned);
  if (!Number.isFinite(v)) throw new UsageError(`${flag}: "${text}" is not a number`);
  if (opts.integer && !Number.isInteger(v)) throw new UsageError(`${flag}: "${text}" is not a whole number`);
  if (opts.min !== undefined && v < opts.min)
    throw new UsageError(`${flag}: ${text} is below the minimum ${opts.min}`);
  if (opts.max !== undefined && v > opts.max)
    throw new UsageError(`${flag}: ${text} is above the maximum ${opts.max}`);
  return v;
}

/** Parses `from:to:step` (or a single value) into the list of values; from = to gives one point. */
export function parseRange(text: string, flag: string, opts: { min?: number } = {}): number[] {
  const parts = text.split(':');
  if (parts.length !== 1 && parts.length !== 3)
    throw new UsageError(`${flag}: "${text}" is not from:to:step or a single number`);
  const nums = parts.map((p) => parseNumber(p, flag));
  const [from, to = from, step = 1] = nums as [number, number?, number?];
  if (opts.min !== undefined && (from < opts.min || to < opts.min))
    throw new UsageError(`${flag}: "${text}" goes below ${opts.min}`);
  if (to < from) throw new UsageError(`${flag}: "${text}" ends before it starts`);
  if (parts.length === 3 && !(step > 0)) throw new UsageError(`${flag}: step in "${text}" must be positive`);
  if (from === to) return [from];
  const n = Math.floor((to - from) / step + 1e-9);
  if (n > 1e6) throw new UsageError(`${flag}: "${text}" has more than a million points`);
  const out: number[] = [];
  for (let i = 0; i <= n; i++) out.push(+(from + i * step).toFixed(10));
  return out;
}

/** Checks a `--format` value against the allowed list. */
export function parseFormat<T extends string>(text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text))
    throw new UsageError(`--format: "${text}" is not one of ${allowed.join(', ')}`);
  return text as T;
}

/** Renders rows as an aligned text table. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => String(c).padStart(widths[i]!)).join('  ')).join('\n');
}

/** Rows as CSV (RFC 4180 quoting). */
export function formatCsv(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const q = (v: string | number) => {
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(q).join(',')).join('\n');
}

/** A compact human form of a number: 4 significant digits, exponent for very large or small values. */
export function formatNumber(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(3);
  return Number(v.toPrecision(4)).toString();
}

/** How long-running commands report progress on stderr (`--progress`, or the QKDNET_PROGRESS variable). */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'json' | 'none';

/** The accepted `--progress` values, in the order `--help` lists them. */
export const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'bar', 'lines', 'json', 'none'];

let progressMode: ProgressMode = 'auto';

/** Sets the process-wide progress mode; throws UsageError naming the accepted values for anything else. */
export function setProgressMode(mode: string): void {
  if (!(PROGRESS_MODES as readonly string[]).includes(mode))
    throw new UsageError(`--progress: "${mode}" is not one of ${PROGRESS_MODES.join(', ')}`);
  progressMode = mode as ProgressMode;
}

/** Where a progress reporter writes and what time it is; injectable so tests need no clock or terminal. */
export interface ProgressSink {
  readonly write: (text: string) => void;
  readonly now: () => number;
  readonly isTTY: boolean;
}

const STDERR_SINK: ProgressSink = {
  write: (t) => void process.stderr.write(t),
  now: () => performance.now(),
  get isTTY() {
    return process.stderr.isTTY === true;
  },
};

/** Seconds as `1m05s` / `42s`, for an ETA a person reads at a glance. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * Progress of long CLI work on stderr, never on stdout (so `--format json` output stays clean).
 * Modes: `bar` redraws one line with percent and ETA (the default on a terminal); `lines` prints a line
 * every few seconds with percent, elapsed time and ETA (the default when stderr is a file or pipe, so CI
 * logs and `nohup` runs still show life); `json` prints one JSON object per update for scripts; `none`
 * prints nothing. Short work (finished before the first interval) prints nothing in `lines`/`json` modes.
 */
export class ProgressBar {
  readonly #total: number;
  readonly #label: string;
  readonly #mode: Exclude<ProgressMode, 'auto'>;
  readonly #sink: ProgressSink;
  readonly #intervalMs: number;
  readonly #start: number;
  #lastPct = -1;
  #lastAt: number;
  #printed = false;

  constructor(
    label: string,
    total: number,
    enabled = true,
    opts: { mode?: ProgressMode; sink?: ProgressSink; intervalMs?: number } = {},
  ) {
    this.#label = label;
    this.#total = Math.max(1, total);
    this.#sink = opts.sink ?? STDERR_SINK;
    const mode = opts.mode ?? progressMode;
    this.#mode = !enabled ? 'none' : mode === 'auto' ? (this.#sink.isTTY ? 'bar' : 'lines') : mode;
    this.#intervalMs = opts.intervalMs ?? (this.#mode === 'json' ? 1000 : 5000);
    this.#start = this.#sink.now();
    this.#lastAt = this.#start;
  }

  /** Reports `done` of the total (any unit: pulses, frames, points). */
  update(done: number): void {
    if (this.#mode === 'none') return;
    const fraction = Math.min(1, Math.max(0, done / this.#total));
    const pct = Math.floor(100 * fraction);
    const now = this.#sink.now();
    const elapsed = (now - this.#start) / 1000;
    const eta = fraction > 0 ? (elapsed * (1 - fraction)) / fraction : NaN;
    if (this.#mode === 'bar') {
      if (pct === this.#lastPct && now - this.#lastAt < 1000) return;
      this.#lastPct = pct;
      this.#lastAt = now;
      const width = 30;
      const fill = Math.round(width * fraction);
      this.#sink.write(
        `\r${this.#label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(pct).padStart(3)}%  ETA ${formatDuration(eta).padEnd(7)}`,
      );
      this.#printed = true;
      return;
    }
    if (now - this.#lastAt < this.#intervalMs) return;
    this.#lastAt = now;
    this.#printed = true;
    if (this.#mode === 'json') {
      const etaS = Number.isFinite(eta) ? Math.round(eta * 10) / 10 : null;
      this.#sink.write(
        `${JSON.stringify({ progress: this.#label, done, total: this.#total, percent: pct, elapsed_s: Math.round(elapsed * 10) / 10, eta_s: etaS })}\n`,
      );
    } else {
      this.#sink.write(
        `${this.#label}: ${pct}% after ${formatDuration(elapsed)}, about ${formatDuration(eta)} left\n`,
      );
    }
  }

  /** Ends the report: a newline after a bar, a closing line in `lines`/`json` modes if anything was printed. */
  done(): void {
    if (!this.#printed) return;
    const elapsed = (this.#sink.now() - this.#start) / 1000;
    if (this.#mode === 'bar') this.#sink.write('\n');
    else if (this.#mode === 'json')
      this.#sink.write(
        `${JSON.stringify({ progress: this.#label, done: this.#total, total: this.#total, percent: 100, elapsed_s: Math.round(elapsed * 10) / 10, eta_s: 0 })}\n`,
      );
    else if (this.#mode === 'lines') this.#sink.write(`${this.#label}: done in ${formatDuration(elapsed)}\n`);
  }
}
