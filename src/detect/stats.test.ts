import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  binomialLogPmf,
  binomialLowerCritical,
  binomialLowerTail,
  binomialUpperCritical,
  binomialUpperTail,
  logGamma,
  normalUpperQuantile,
  normalUpperTail,
} from './stats.ts';

const close = (a: number, b: number, rel: number) =>
  assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${a} vs ${b} (relative tolerance ${rel})`);

test('binomial tails match exact rational values computed by hand', () => {
  // P(X ≥ 60), X ~ Bin(100, 1/2) = Σ_{k≥60} C(100,k)/2^100 = 0.028443966820490392 (exact sum with BigInt below)
  let num = 0n;
  let c = 1n;
  for (let k = 0; k <= 100; k++) {
    if (k >= 60) num += c;
    c = (c * BigInt(100 - k)) / BigInt(k + 1);
  }
  const exact = Number((num * 10n ** 18n) / 2n ** 100n) / 1e18;
  close(binomialUpperTail(60, 100, 0.5), exact, 1e-12);
  close(binomialLowerTail(40, 100, 0.5), exact, 1e-12);
  // C(10,3)·0.3³·0.7⁷ = 0.266827932 (textbook value)
  close(Math.exp(binomialLogPmf(3, 10, 0.3)), 0.266827932, 1e-9);
});

test('binomialUpperTail approaches the Poisson tail for large n, small p', () => {
  // P(X ≥ 1) for Bin(1e9, 1e-9) → 1 − e^{−1} within O(p) = 1e-9
  close(binomialUpperTail(1, 1e9, 1e-9), 1 - Math.exp(-1), 1e-8);
  // P(X ≥ 10) for Poisson(3) = 1 − Σ_{k<10} e^{-3}3^k/k! = 0.0011024881
  close(binomialUpperTail(10, 1e12, 3e-12), 0.0011024881, 1e-6);
});

test('the mass sums to one', () => {
  let s = 0;
  for (let k = 0; k <= 1000; k++) s += Math.exp(binomialLogPmf(k, 1000, 0.01));
  close(s, 1, 1e-12);
});

test('logGamma matches factorials', () => {
  close(logGamma(11), Math.log(3628800), 1e-14);
  close(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-13);
});

test('normal quantile and tail invert each other (Acklam: relative error < 1.2e-9)', () => {
  close(normalUpperQuantile(0.025), 1.959963984540054, 1e-8);
  close(normalUpperQuantile(1e-5), 4.264890793922825, 1e-8);
  close(normalUpperTail(1.959963984540054), 0.025, 1e-6); // erfc approximation: 1.2e-7 relative
});

test('critical counts are the exact boundary of the tail at level alpha', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 10, max: 200_000 }),
      fc.double({ min: 1e-4, max: 0.5, noNaN: true }),
      fc.double({ min: 1e-9, max: 0.1, noNaN: true }),
      (n, p, alpha) => {
        const hi = binomialUpperCritical(n, p, alpha);
        if (hi <= n) assert.ok(binomialUpperTail(hi, n, p) <= alpha);
        assert.ok(binomialUpperTail(hi - 1, n, p) > alpha);
        const lo = binomialLowerCritical(n, p, alpha);
        if (lo >= 0) assert.ok(binomialLowerTail(lo, n, p) <= alpha);
        assert.ok(binomialLowerTail(lo + 1, n, p) > alpha);
      },
    ),
    { seed: 7, numRuns: 200 },
  );
});

test('upper and lower tails are complements', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 100_000 }),
      fc.double({ min: 1e-5, max: 0.99, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (n, p, f) => {
        const k = Math.floor(f * n);
        close(binomialUpperTail(k + 1, n, p) + binomialLowerTail(k, n, p), 1, 1e-9);
      },
    ),
    { seed: 11, numRuns: 300 },
  );
});
