/**
 * Helpers shared by the CLI commands: usage errors (exit code 2), number and range parsing, output
 * formats and a progress bar on stderr (shown only on a terminal, so scripts and CI see clean output).
 */
import { QkdnetError } from '../common/index.ts';

/** Bad command-line input: main() prints `qkdnet: <message>` on stderr and exits 2. */
export class UsageError extends QkdnetError {
  constructor(message: string) {
    super('CLI_USAGE', message);
    this.name = 'UsageError';
  }
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

/** A progress bar on stderr; silent when stderr is not a terminal or `enabled` is false. */
export class ProgressBar {
  readonly #total: number;
  readonly #label: string;
  readonly #enabled: boolean;
  #last = -1;

  constructor(label: string, total: number, enabled = process.stderr.isTTY === true) {
    this.#label = label;
    this.#total = Math.max(1, total);
    this.#enabled = enabled;
  }

  update(done: number): void {
    if (!this.#enabled) return;
    const pct = Math.min(100, Math.floor((100 * done) / this.#total));
    if (pct === this.#last) return;
    this.#last = pct;
    const width = 30;
    const fill = Math.round((width * pct) / 100);
    process.stderr.write(
      `\r${this.#label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(pct).padStart(3)}%`,
    );
  }

  done(): void {
    if (this.#enabled && this.#last >= 0) process.stderr.write('\n');
  }
}
