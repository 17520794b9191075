import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AliasTable,
  binomialLogPmf,
  sampleBinomial,
  sampleGeometric,
  sampleMultinomial,
  samplePoisson,
} from './distributions.ts';
import { logFactorial } from './math.ts';
import { createRng, type Rng } from './rng.ts';

/** Exact binomial pmf by logs (independent of the sampler's Stirling bounds). */
function binomialPmf(k: number, n: number, p: number): number {
  return Math.exp(
    logFactorial(n) - logFactorial(k) - logFactorial(n - k) + k * Math.log(p) + (n - k) * Math.log1p(-p),
  );
}

/**
 * Pearson χ² of `draws` samples against a pmf, pooling cells with expectation < 5. Returns the statistic
 * and degrees of freedom; the tests accept χ² < dof + 5·sqrt(2·dof) (about 5σ of the χ² law).
 */
function chiSquare(sample: (rng: Rng) => number, pmf: (k: number) => number, maxK: number, draws: number) {
  const rng = createRng(`chi2:${maxK}:${draws}`);
  const counts = new Float64Array(maxK + 2);
  for (let i = 0; i < draws; i++) counts[Math.min(sample(rng), maxK + 1)]!++;
  let chi = 0;
  let dof = -1;
  let pooledObs = 0;
  let pooledExp = 0;
  let tail = 1;
  for (let k = 0; k <= maxK; k++) {
    const e = pmf(k) * draws;
    tail -= pmf(k);
    pooledObs += counts[k]!;
    pooledExp += e;
    if (pooledExp >= 5) {
      chi += (pooledObs - pooledExp) ** 2 / pooledExp;
      dof++;
      pooledObs = 0;
      pooledExp = 0;
    }
  }
  pooledObs += counts[maxK + 1]!;
  pooledExp += Math.max(0, tail) * draws;
  if (pooledExp > 0) {
    chi += (pooledObs - pooledExp) ** 2 / pooledExp;
    dof++;
  }
  return { chi, dof };
}

function assertChi({ chi, dof }: { chi: number; dof: number }, what: string) {
  const limit = dof + 5 * Math.sqrt(2 * dof);
  assert.ok(chi < limit, `${what}: χ² = ${chi.toFixed(1)} with ${dof} dof exceeds ${limit.toFixed(1)}`);
}

test('sampleBinomial follows the exact pmf (χ², inversion branch n = 60, p = 0.05)', () => {
  assertChi(
    chiSquare(
      (r) => sampleBinomial(60, 0.05, r),
      (k) => binomialPmf(k, 60, 0.05),
      15,
      100_000,
    ),
    'Bin(60, 0.05)',
  );
});

test('sampleBinomial follows the exact pmf (χ², BTRS branch n = 200, p = 0.3 and p = 0.8)', () => {
  assertChi(
    chiSquare(
      (r) => sampleBinomial(200, 0.3, r),
      (k) => binomialPmf(k, 200, 0.3),
      100,
      100_000,
    ),
    'Bin(200, 0.3)',
  );
  assertChi(
    chiSquare(
      (r) => sampleBinomial(200, 0.8, r),
      (k) => binomialPmf(k, 200, 0.8),
      200,
      100_000,
    ),
    'Bin(200, 0.8)',
  );
});

for (const [n, p] of [
  [1e10, 1.5e-3],
  [1e15, 0.3],
] as const)
  test(`sampleBinomial for n = ${n}, p = ${p} has mean n·p and variance n·p·(1−p) within 5 standard errors`, () => {
    const rng = createRng(`binom-huge:${n}`);
    const draws = 20_000;
    // Deviations from n·p: sums of k² would lose every digit of the variance at n = 1e15.
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < draws; i++) {
      const k = sampleBinomial(n, p, rng);
      assert.ok(Number.isInteger(k) && k >= 0 && k <= n);
      s += k - n * p;
      s2 += (k - n * p) ** 2;
    }
    const mean = n * p + s / draws;
    const variance = s2 / draws - (s / draws) ** 2;
    const v = n * p * (1 - p);
    assert.ok(Math.abs(mean - n * p) < 5 * Math.sqrt(v / draws), `mean ${mean}`);
    // Var of the sample variance ≈ 2σ⁴/draws for a near-normal law.
    assert.ok(Math.abs(variance - v) < 5 * v * Math.sqrt(2 / draws), `variance ${variance} vs ${v}`);
  });

test('samplePoisson follows the exact pmf (χ², μ = 3 and μ = 40)', () => {
  const pmf = (mu: number) => (k: number) => Math.exp(-mu + k * Math.log(mu) - logFactorial(k));
  assertChi(
    chiSquare((r) => samplePoisson(3, r), pmf(3), 15, 100_000),
    'Poisson(3)',
  );
  assertChi(
    chiSquare((r) => samplePoisson(40, r), pmf(40), 80, 100_000),
    'Poisson(40)',
  );
});

test('sampleGeometric follows (1−p)^k·p (χ², p = 0.2)', () => {
  assertChi(
    chiSquare(
      (r) => sampleGeometric(0.2, r),
      (k) => 0.8 ** k * 0.2,
      40,
      100_000,
    ),
    'Geom(0.2)',
  );
  assert.equal(sampleGeometric(1, createRng(1)), 0);
  assert.throws(() => sampleGeometric(0, createRng(1)), RangeError);
});

test('sampleMultinomial counts always sum to n (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1e9 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 8 }),
      fc.integer(),
      (n, ps, seed) => {
        const weights = ps.some((p) => p > 0) ? ps : [...ps.slice(1), 1];
        const c = sampleMultinomial(n, weights, createRng(seed));
        assert.equal(
          c.reduce((a, b) => a + b, 0),
          n,
        );
        c.forEach((k, i) => assert.ok(k >= 0 && (weights[i]! > 0 || k === 0)));
      },
    ),
    { seed: 7, numRuns: 200 },
  );
});

test('AliasTable draws categories in proportion to their weights (χ²)', () => {
  const w = [0.5, 0, 3, 1e-3, 2, 0.25];
  const total = w.reduce((a, b) => a + b, 0);
  const table = new AliasTable(w);
  assertChi(
    chiSquare(
      (r) => table.sample(r),
      (k) => (w[k] ?? 0) / total,
      5,
      200_000,
    ),
    'alias',
  );
  const rng = createRng(3);
  for (let i = 0; i < 10_000; i++) assert.notEqual(table.sample(rng), 1, 'a zero weight is never drawn');
});

test('samplers are deterministic for a seed', () => {
  const a = createRng('same');
  const b = createRng('same');
  for (let i = 0; i < 100; i++) assert.equal(sampleBinomial(1e12, 1e-4, a), sampleBinomial(1e12, 1e-4, b));
});

test('binomialLogPmf matches exact log-factorial sums for moderate n and the normal density at n = 2^53', () => {
  for (const [k, n, p] of [
    [3, 10, 0.3],
    [50, 200, 0.3],
    [0, 40, 0.1],
    [40, 40, 0.1],
    [1234, 5000, 0.25],
  ] as const)
    assert.ok(Math.abs(binomialLogPmf(k, n, p) - Math.log(binomialPmf(k, n, p))) < 1e-9, `${k} ${n} ${p}`);
  // Near the mode of Bin(2^53, 0.3) the pmf is 1/(σ·√(2π)) to O(1/σ).
  const n = 2 ** 53;
  const sigma = Math.sqrt(n * 0.3 * 0.7);
  const mode = Math.floor((n + 1) * 0.3);
  assert.ok(Math.abs(binomialLogPmf(mode, n, 0.3) + Math.log(sigma * Math.sqrt(2 * Math.PI))) < 1e-6);
});

test('samplePoisson for μ = 1e13 has mean and variance μ within 5 standard errors', () => {
  const rng = createRng('poisson-huge');
  const mu = 1e13;
  const draws = 20_000;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < draws; i++) {
    const d = samplePoisson(mu, rng) - mu;
    s += d;
    s2 += d * d;
  }
  const variance = s2 / draws - (s / draws) ** 2;
  assert.ok(Math.abs(s / draws) < 5 * Math.sqrt(mu / draws));
  assert.ok(Math.abs(variance - mu) < 5 * mu * Math.sqrt(2 / draws), `variance ${variance}`);
});
