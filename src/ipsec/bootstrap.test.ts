import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, medianInterval, medianRatioInterval, nearestRank, significant } from './bootstrap.ts';

/**
 * The exact bootstrap distribution of a statistic for a tiny sample: all nⁿ resamples (ordered draws with
 * replacement) are equally likely (Efron & Tibshirani 1993 §6.2, the ideal bootstrap estimate as B → ∞).
 * Computed here by enumeration, independently of the Monte Carlo code under test.
 */
function exactDistribution(xs: readonly number[], stat: (r: number[]) => number): Map<number, number> {
  const n = xs.length;
  const out = new Map<number, number>();
  const total = n ** n;
  for (let code = 0; code < total; code++) {
    const r: number[] = [];
    let c = code;
    for (let i = 0; i < n; i++) {
      r.push(xs[c % n]!);
      c = Math.floor(c / n);
    }
    const v = stat(r);
    out.set(v, (out.get(v) ?? 0) + 1 / total);
  }
  return out;
}

/** The smallest value whose cumulative probability reaches q (the exact quantile). */
function exactQuantile(dist: Map<number, number>, q: number): number {
  let cum = 0;
  for (const v of [...dist.keys()].sort((a, b) => a - b)) {
    cum += dist.get(v)!;
    if (cum >= q - 1e-12) return v;
  }
  throw new Error('unreachable');
}

function sortedMedian(r: number[]): number {
  const s = [...r].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

test('median of odd and even samples', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), RangeError);
});

test('nearestRank picks the ⌈q·B⌉-th smallest', () => {
  const s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(nearestRank(s, 0.025), 1);
  assert.equal(nearestRank(s, 0.975), 10);
  assert.equal(nearestRank(s, 0.5), 5);
});

test('median interval matches the exact bootstrap quantiles of a 6-point sample', () => {
  const xs = [3.1, 4.7, 5.2, 6.0, 9.5, 21.0];
  const exact = exactDistribution(xs, sortedMedian);
  const lo = exactQuantile(exact, 0.025);
  const hi = exactQuantile(exact, 0.975);
  const ci = medianInterval(xs, { resamples: 40_000, seed: 7 });
  assert.equal(ci.estimate, (5.2 + 6.0) / 2);
  assert.equal(ci.lo, lo, `lo ${ci.lo} vs exact ${lo}`);
  assert.equal(ci.hi, hi, `hi ${ci.hi} vs exact ${hi}`);
});

test('ratio interval matches the exact two-sample bootstrap quantiles', () => {
  const a = [10, 12, 13, 30, 11];
  const b = [5, 6, 7, 8];
  const da = exactDistribution(a, sortedMedian);
  const db = exactDistribution(b, sortedMedian);
  const ratios = new Map<number, number>();
  for (const [va, pa] of da)
    for (const [vb, pb] of db) ratios.set(va / vb, (ratios.get(va / vb) ?? 0) + pa * pb);
  const ci = medianRatioInterval(a, b, { resamples: 60_000, seed: 'r' });
  assert.equal(ci.estimate, 12 / 6.5);
  // Monte Carlo quantiles land on the exact ones unless the cumulative mass sits right at 2.5%/97.5%
  const near = (x: number, q: number) => {
    const sorted = [...ratios.keys()].sort((p, r) => p - r);
    const i = sorted.indexOf(exactQuantile(ratios, q));
    return [sorted[i - 1], sorted[i], sorted[i + 1]].includes(x);
  };
  assert.ok(near(ci.lo, 0.025), `lo ${ci.lo}`);
  assert.ok(near(ci.hi, 0.975), `hi ${ci.hi}`);
  assert.ok(ci.lo <= ci.estimate && ci.estimate <= ci.hi);
  assert.ok(significant(ci), 'medians 12 vs 6.5 with no overlap differ');
});

test('same samples and seed give the same interval', () => {
  const xs = Array.from({ length: 30 }, (_, i) => 10 + ((i * 7919) % 13));
  const ys = Array.from({ length: 30 }, (_, i) => 10 + ((i * 104729) % 11));
  const r1 = medianRatioInterval(xs, ys, { seed: 42, resamples: 2000 });
  const r2 = medianRatioInterval(xs, ys, { seed: 42, resamples: 2000 });
  assert.deepEqual(r1, r2);
});

test('identical samples: the ratio interval contains 1, not significant', () => {
  const xs = [5, 6, 7, 8, 9, 10, 11, 12];
  const ci = medianRatioInterval(xs, [...xs].reverse(), { resamples: 5000, seed: 1 });
  assert.equal(ci.estimate, 1);
  assert.ok(ci.lo < 1 && ci.hi > 1);
  assert.equal(significant(ci), false);
});

test('bad settings are refused', () => {
  assert.throws(() => medianInterval([1, 2], { resamples: 10 }), RangeError);
  assert.throws(() => medianInterval([1, 2], { confidence: 1 }), RangeError);
});
