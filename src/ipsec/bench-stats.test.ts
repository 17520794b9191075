import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { medianRatio, PUBLISHED, summarize } from './bench-stats.ts';

test('summarize() matches hand-computed statistics of 1..10 ms', () => {
  // mean 5.5; median (5+6)/2; nearest-rank P95 = x[ceil(9.5)] = x[10] = 10; sd = sqrt(82.5/9) = 3.0277
  const s = summarize('psk', false, [3, 1, 2, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(s, {
    mode: 'psk',
    fetch_in_window: false,
    mean_ms: 5.5,
    median_ms: 5.5,
    p95_ms: 10,
    sd_ms: 3.028,
  });
});

test('summarize() of one sample has zero spread, of none throws', () => {
  assert.equal(summarize('x', true, [4.2]).sd_ms, 0);
  assert.throws(() => summarize('x', true, []), RangeError);
});

test('median ≤ p95 ≤ max and mean within [min, max] for any samples', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0.1, max: 100, noNaN: true }), { minLength: 1, maxLength: 60 }),
      (xs) => {
        const s = summarize('m', false, xs);
        const tol = 1e-3;
        assert.ok(s.median_ms <= s.p95_ms + tol);
        assert.ok(s.p95_ms <= Math.max(...xs) + tol);
        assert.ok(s.mean_ms >= Math.min(...xs) - tol && s.mean_ms <= Math.max(...xs) + tol);
      },
    ),
    { seed: 8, numRuns: 200 },
  );
});

test('published percentages become ratios below 1, and ratios divide medians', () => {
  assert.equal(PUBLISHED.ratioToCert, 0.9483);
  assert.equal(PUBLISHED.ratioToPsk, 0.9538);
  const a = summarize('a', false, [2]);
  const b = summarize('b', false, [4]);
  assert.equal(medianRatio(a, b), 0.5);
  assert.ok(Number.isNaN(medianRatio(a, undefined)));
});
