/**
 * Bootstrap confidence intervals for medians and ratios of medians (B. Efron and R. J. Tibshirani, "An
 * Introduction to the Bootstrap", Chapman & Hall 1993: §6.2 the bootstrap estimate from B resamples drawn
 * with replacement, §13.3 the percentile interval [θ̂*(α/2), θ̂*(1−α/2)]). The resampling is seeded
 * (xoshiro128** from src/common, `createRng`), so the same samples and seed give the same interval.
 *
 * The ratio of two medians resamples each sample independently (two-sample bootstrap, §8.3) — conservative
 * when the runs of the two modes were interleaved and share drift. Quantiles of the B replicates are taken
 * by nearest rank: the q-quantile is the ⌈q·B⌉-th smallest replicate (1-based), as `summarize` does for p95.
 * A difference is called significant at level α when the ratio's interval excludes 1.
 */
import { createRng, type Rng } from '../common/index.ts';

/** A point estimate with its percentile interval. */
export interface Interval {
  readonly estimate: number;
  readonly lo: number;
  readonly hi: number;
}

/** Bootstrap settings: replicates, confidence level (0.95 → α = 0.05), seed. */
export interface BootstrapOptions {
  readonly resamples?: number;
  readonly confidence?: number;
  readonly seed?: string | number;
}

/** Median of a non-empty sample (mean of the two middle values for even n). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of an empty sample');
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** The nearest-rank q-quantile of sorted values: the ⌈q·B⌉-th smallest (at least the first). */
export function nearestRank(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function resampleMedian(xs: readonly number[], rng: Rng, buf: number[]): number {
  for (let i = 0; i < xs.length; i++) buf[i] = xs[rng.nextInt(xs.length)]!;
  return median(buf);
}

function settings(o: BootstrapOptions): { b: number; alpha: number; rng: Rng } {
  const b = o.resamples ?? 10_000;
  const conf = o.confidence ?? 0.95;
  if (!Number.isInteger(b) || b < 100) throw new RangeError(`resamples must be an integer ≥ 100, got ${b}`);
  if (!(conf > 0 && conf < 1)) throw new RangeError(`confidence must be in (0, 1), got ${conf}`);
  return { b, alpha: 1 - conf, rng: createRng(`bootstrap:${o.seed ?? 0}`) };
}

function percentile(reps: number[], alpha: number, estimate: number): Interval {
  reps.sort((a, b) => a - b);
  return { estimate, lo: nearestRank(reps, alpha / 2), hi: nearestRank(reps, 1 - alpha / 2) };
}

/** The median of `xs` with its bootstrap percentile interval. */
export function medianInterval(xs: readonly number[], o: BootstrapOptions = {}): Interval {
  const { b, alpha, rng } = settings(o);
  const est = median(xs);
  const buf = new Array<number>(xs.length);
  const reps = Array.from({ length: b }, () => resampleMedian(xs, rng, buf));
  return percentile(reps, alpha, est);
}

/** median(a) / median(b) with its two-sample bootstrap percentile interval. */
export function medianRatioInterval(
  a: readonly number[],
  b: readonly number[],
  o: BootstrapOptions = {},
): Interval {
  const { b: n, alpha, rng } = settings(o);
  const est = median(a) / median(b);
  const ra = rng.stream('a');
  const rb = rng.stream('b');
  const bufA = new Array<number>(a.length);
  const bufB = new Array<number>(b.length);
  const reps = Array.from({ length: n }, () => resampleMedian(a, ra, bufA) / resampleMedian(b, rb, bufB));
  return percentile(reps, alpha, est);
}

/** True when the ratio's interval excludes 1: the two medians differ at the interval's level. */
export function significant(ratio: Interval): boolean {
  return ratio.lo > 1 || ratio.hi < 1;
}
