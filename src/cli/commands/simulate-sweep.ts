/**
 * `qkdnet simulate <scenario> --seeds A..B` — the same simulation over many seeds, run in parallel on worker
 * threads (sweep-worker.ts; `--jobs`, default every core), reporting each seed's summary (exactly what
 * `qkdnet simulate --seed k --format json` prints, without elapsed_ms) and the 5th, 50th and 95th percentiles
 * of every headline figure. `--shard i/N` runs only shard i (0-based) of N — the seeds at positions
 * i, i + N, i + 2N, … — so an external batch engine (a Kubernetes Indexed Job, a Slurm array) can spread a
 * sweep; `qkdnet simulate merge <files…>` combines the shard files into the JSON the unsharded sweep prints.
 */
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { SimulationSummary } from '../../network/index.ts';
import { formatTable, ProgressBar, UsageError } from '../util.ts';
import { parseSeed, planSimulation, type SimulateOptions } from './simulate.ts';
import type { SweepAnswer, SweepTask } from './sweep-worker.ts';

/** Most seeds one sweep runs. */
export const MAX_SEEDS = 100_000;

/** Parses `--seeds`: `A..B` (integers, inclusive) or a comma-separated list. */
export function parseSeeds(text: string): (number | string)[] {
  const range = /^(-?\d+)\.\.(-?\d+)$/.exec(text.trim());
  let seeds: (number | string)[];
  if (range) {
    const a = Number(range[1]);
    const b = Number(range[2]);
    if (b < a) throw new UsageError(`--seeds: "${text}" ends before it starts`);
    if (b - a + 1 > MAX_SEEDS) throw new UsageError(`--seeds: "${text}" is more than ${MAX_SEEDS} seeds`);
    seeds = Array.from({ length: b - a + 1 }, (_, i) => a + i);
  } else {
    seeds = text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(parseSeed);
    if (seeds.length === 0) throw new UsageError(`--seeds: "${text}" is not A..B or a list such as 1,2,7`);
  }
  if (new Set(seeds.map(String)).size !== seeds.length)
    throw new UsageError(`--seeds: "${text}" repeats a seed`);
  return seeds;
}

/** A shard of a sweep: index i of count N, 0 ≤ i < N. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** Parses `--shard i/N` (0-based i, as Kubernetes JOB_COMPLETION_INDEX and Slurm arrays 0-(N-1) give it). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index < count))
    throw new UsageError(`--shard: "${text}" is not i/N with 0 ≤ i < N (e.g. 0/4 … 3/4)`);
  return { index, count };
}

/** The seeds of one shard: positions i, i + N, i + 2N, … of the list (round-robin balances run lengths). */
export function shardSeeds<T>(seeds: readonly T[], shard: Shard): T[] {
  return seeds.filter((_, k) => k % shard.count === shard.index);
}

/** One seed's result: its summary as `simulate --format json` prints it, without elapsed_ms. */
export interface SweepRun {
  readonly seed: number | string;
  readonly summary: Omit<SimulationSummary, 'elapsed_ms'>;
}

/** p5 / p50 / p95 of one figure over the seeds. */
export interface Spread {
  readonly p5: number;
  readonly p50: number;
  readonly p95: number;
}

/** The JSON of a sweep (or of one shard of it, with `shard` set and no percentiles). */
export interface SweepResult {
  readonly scenario: string;
  /** The options every run used (the seed aside); shards must agree on them to merge. */
  readonly options: Record<string, string | boolean>;
  readonly seeds: readonly (number | string)[];
  readonly shard?: Shard;
  readonly runs: readonly SweepRun[];
  readonly percentiles: Record<string, Spread> | null;
}

/**
 * The headline figures of a summary, flattened (`route_changes.total`, `served_by_provenance.qkd`, …): every
 * number at the top level and inside route_changes, served_by_provenance and keys_exposed_by_cause, and the
 * largest link utilisation.
 */
export function headlineFigures(s: Omit<SimulationSummary, 'elapsed_ms'>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(s)) {
    if (typeof v === 'number' && k !== 'duration_s') out[k] = v;
    else if (
      (k === 'route_changes' || k === 'served_by_provenance' || k === 'keys_exposed_by_cause') &&
      v !== null &&
      typeof v === 'object'
    )
      for (const [kk, vv] of Object.entries(v)) if (typeof vv === 'number') out[`${k}.${kk}`] = vv;
  }
  out.max_link_utilisation = Math.max(0, ...s.links.map((l) => l.utilisation));
  return out;
}

/** The q-quantile of sorted values, linear interpolation between order statistics (R type 7, numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** p5/p50/p95 of every headline figure over the runs. */
export function percentilesOf(runs: readonly SweepRun[]): Record<string, Spread> {
  const figures = runs.map((r) => headlineFigures(r.summary));
  const out: Record<string, Spread> = {};
  for (const k of Object.keys(figures[0] ?? {})) {
    const v = figures.map((f) => f[k]!).sort((a, b) => a - b);
    out[k] = { p5: quantile(v, 0.05), p50: quantile(v, 0.5), p95: quantile(v, 0.95) };
  }
  return out;
}

/** The options that shape a run (everything but seeds, shard, jobs, format and report). */
function runOptions(o: SimulateOptions): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const [k, v] of Object.entries(o))
    if (v !== undefined && !['seed', 'seeds', 'shard', 'jobs', 'format', 'report'].includes(k))
      out[k] = v as string | boolean;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** Starts one sweep worker (compiled: dist/sweep-worker.mjs; from the sources: tsx registered first). */
function startWorker(): Worker {
  if (import.meta.url.endsWith('.mjs')) return new Worker(new URL('./sweep-worker.mjs', import.meta.url));
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(new URL('./sweep-worker.ts', import.meta.url).href)}); });`;
  return new Worker(boot, { eval: true });
}

/**
 * Runs every task on `jobs` worker threads (each task: scenario file, checked options, seed); `onDone(k, n)`
 * after each. Answers in task order, elapsed_ms removed (the only figure that is not a function of the seed).
 */
export async function runTasks(
  tasks: readonly SweepTask[],
  jobs: number,
  onDone: (done: number, total: number) => void = () => {},
): Promise<Omit<SimulationSummary, 'elapsed_ms'>[]> {
  const results: Omit<SimulationSummary, 'elapsed_ms'>[] = new Array(tasks.length);
  let nextTask = 0;
  let done = 0;
  const n = Math.max(1, Math.min(jobs, tasks.length));
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve, reject) => {
          const w = startWorker();
          const next = () => {
            if (nextTask >= tasks.length) {
              void w.terminate().then(() => resolve());
              return;
            }
            const task = nextTask++;
            w.postMessage({ task, run: tasks[task] });
          };
          w.on('message', (a: SweepAnswer) => {
            if (a.error !== undefined) {
              nextTask = tasks.length;
              void w.terminate();
              reject(new Error(`seed ${tasks[a.task]!.seed} of ${tasks[a.task]!.file}: ${a.error}`));
              return;
            }
            const { elapsed_ms: _, ...summary } = a.summary as SimulationSummary;
            results[a.task] = summary;
            onDone(++done, tasks.length);
            next();
          });
          w.on('error', reject);
          next();
        }),
    ),
  );
  return results;
}

/** Runs `seeds` of one scenario with options `o` (checked in this thread first: bad input fails before any worker). */
export async function runSeeds(
  file: string,
  o: SimulateOptions,
  seeds: readonly (number | string)[],
  jobs: number,
  onDone?: (done: number, total: number) => void,
): Promise<SweepRun[]> {
  planSimulation(file, o);
  const opts = { ...o, format: 'json' };
  const summaries = await runTasks(
    seeds.map((seed) => ({ file, o: opts, seed })),
    jobs,
    onDone,
  );
  return seeds.map((seed, i) => ({ seed, summary: summaries[i]! }));
}

/** Builds the sweep JSON from its runs (percentiles only when the runs are the whole sweep). */
export function sweepResult(
  scenario: string,
  o: SimulateOptions,
  seeds: readonly (number | string)[],
  runs: readonly SweepRun[],
  shard?: Shard,
): SweepResult {
  return {
    scenario,
    options: runOptions(o),
    seeds: [...seeds],
    ...(shard ? { shard } : {}),
    runs: [...runs],
    percentiles: shard ? null : percentilesOf(runs),
  };
}

/** Text form of a sweep: the percentile table. */
export function sweepText(r: SweepResult): string {
  const head = `scenario ${r.scenario}: ${r.seeds.length} seeds (${r.seeds[0]}…${r.seeds.at(-1)})`;
  if (!r.percentiles)
    return `${head}, shard ${r.shard!.index}/${r.shard!.count}: ${r.runs.length} runs (merge the shards for percentiles)`;
  const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(6));
  return [
    head,
    formatTable(
      ['figure', 'p5', 'p50', 'p95'],
      Object.entries(r.percentiles).map(([k, s]) => [k, fmt(s.p5), fmt(s.p50), fmt(s.p95)]),
    ),
  ].join('\n');
}

/** `qkdnet simulate <scenario> --seeds …` (optionally `--shard i/N`). */
export async function runSweep(
  file: string,
  o: SimulateOptions & { seeds: string; shard?: string; jobs?: string },
): Promise<{ result: SweepResult; output: string }> {
  const seeds = parseSeeds(o.seeds);
  const shard = o.shard === undefined ? undefined : parseShard(o.shard);
  const jobs = o.jobs === undefined ? availableParallelism() : Number(o.jobs);
  if (!(Number.isInteger(jobs) && jobs >= 1))
    throw new UsageError(`--jobs: "${o.jobs}" is not a whole number ≥ 1`);
  if (o.report !== undefined)
    throw new UsageError('--report writes one run; use --seed with it, not --seeds');
  const plan = planSimulation(file, o);
  const mine = shard ? shardSeeds(seeds, shard) : seeds;
  const bar = new ProgressBar(`simulating ${plan.scenario.name} × ${mine.length} seeds`, mine.length);
  const opts = { ...o, format: 'json' };
  const summaries = await runTasks(
    mine.map((seed) => ({ file, o: opts, seed })),
    jobs,
    (done) => bar.update(done),
  );
  const runs = mine.map((seed, i) => ({ seed, summary: summaries[i]! }));
  bar.done();
  const result = sweepResult(plan.scenario.name, o, seeds, runs, shard);
  const output = o.format === 'json' ? JSON.stringify(result, null, 2) : sweepText(result);
  return { result, output };
}

/** `qkdnet simulate merge <shard files…>`: the JSON the unsharded sweep prints. */
export function mergeShards(
  files: readonly string[],
  format = 'json',
): { result: SweepResult; output: string } {
  if (files.length === 0) throw new UsageError('simulate merge: give the shard files to merge');
  const parts = files.map((f) => {
    let r: SweepResult;
    try {
      r = JSON.parse(readFileSync(f, 'utf8')) as SweepResult;
    } catch (e) {
      throw new UsageError(`simulate merge: ${f} is not a readable sweep JSON (${(e as Error).message})`);
    }
    if (!r.shard || !Array.isArray(r.runs) || !Array.isArray(r.seeds))
      throw new UsageError(
        `simulate merge: ${f} is not a shard file (no "shard"; made with --shard i/N --format json)`,
      );
    return { f, r };
  });
  const first = parts[0]!.r;
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const seen = new Set<number>();
  for (const { f, r } of parts) {
    if (r.scenario !== first.scenario || !same(r.options, first.options) || !same(r.seeds, first.seeds))
      throw new UsageError(`simulate merge: ${f} is from another sweep (scenario, options or seeds differ)`);
    if (r.shard!.count !== first.shard!.count)
      throw new UsageError(
        `simulate merge: ${f} is shard of ${r.shard!.count}, others of ${first.shard!.count}`,
      );
    if (seen.has(r.shard!.index)) throw new UsageError(`simulate merge: shard ${r.shard!.index} given twice`);
    seen.add(r.shard!.index);
  }
  const missing = Array.from({ length: first.shard!.count }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length > 0)
    throw new UsageError(`simulate merge: shards ${missing.join(', ')} of ${first.shard!.count} are missing`);
  const bySeed = new Map(parts.flatMap(({ r }) => r.runs.map((run) => [String(run.seed), run] as const)));
  const runs = first.seeds.map((s) => {
    const run = bySeed.get(String(s));
    if (!run) throw new UsageError(`simulate merge: no run for seed ${s} in the shards`);
    return run;
  });
  const result: SweepResult = {
    scenario: first.scenario,
    options: first.options,
    seeds: first.seeds,
    runs,
    percentiles: percentilesOf(runs),
  };
  const output = format === 'json' ? JSON.stringify(result, null, 2) : sweepText(result);
  return { result, output };
}
