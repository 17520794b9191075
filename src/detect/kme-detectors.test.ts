import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KmeDetectors } from './kme-detectors.ts';

const s = (tS: number, extra: object) => ({ linkId: 'kme-a', timeNs: tS * 1e9, ...extra });

test('key pool below the low-water mark → pqc-only once, re-armed after refilling above 2×', () => {
  const d = new KmeDetectors({ lowWaterBits: 1000 });
  assert.equal(d.observe(s(0, { keyPoolBits: 5000 })).length, 0);
  const f = d.observe(s(100, { keyPoolBits: 900 }));
  assert.deepEqual(
    f.map((x) => [x.kind, x.action, x.value, x.threshold]),
    [['key-exhaustion', 'pqc-only', 900, 1000]],
  );
  assert.equal(d.observe(s(101, { keyPoolBits: 800 })).length, 0, 'no repeat while still low');
  d.observe(s(200, { keyPoolBits: 2500 }));
  assert.equal(d.observe(s(300, { keyPoolBits: 10 }))[0]?.kind, 'key-exhaustion');
});

test('a pool draining faster than the horizon gets an early warning', () => {
  const d = new KmeDetectors({ lowWaterBits: 100, exhaustionHorizonS: 60 });
  d.observe(s(0, { keyPoolBits: 100_000 }));
  const f = d.observe(s(10, { keyPoolBits: 50_000 })); // 5000 bit/s → 10 s left
  assert.equal(f[0]?.kind, 'key-depletion-trend');
  assert.ok(Math.abs(f[0]!.value - 10) < 1e-9);
});

test('a request flood over 10× the baseline is reported once per episode', () => {
  const d = new KmeDetectors({ floodFactor: 10, minFloodRateHz: 50, warmupSamples: 5 });
  for (let i = 0; i < 10; i++) assert.equal(d.observe(s(i, { requestRateHz: 20 })).length, 0);
  const f = d.observe(s(10, { requestRateHz: 500 }));
  assert.equal(f[0]?.kind, 'request-flood');
  assert.equal(f[0]?.threshold, 200);
  assert.equal(d.observe(s(11, { requestRateHz: 600 })).length, 0);
  assert.equal(d.observe(s(12, { requestRateHz: 20 })).length, 0);
});

test('authorization failures: Poisson threshold over the window', () => {
  // baseline 0.01/s over 60 s → mean 0.6; P(N ≥ 5 | 0.6) = 3.4e-4 ≤ 1e-3 (and P(N ≥ 4) = 3.3e-3 > 1e-3),
  // so the alarm count is max(minAuthFailures = 5, 5) = 5
  const d = new KmeDetectors();
  assert.equal(d.observe(s(0, { authFailureRateHz: 0 })).length, 0);
  assert.equal(d.observe(s(10, { authFailureRateHz: 0.3 })).length, 0); // 3 failures
  const f = d.observe(s(20, { authFailureRateHz: 0.3 })); // 6 in window
  assert.equal(f[0]?.kind, 'auth-failures');
  assert.equal(f[0]?.threshold, 5);
  assert.ok(f[0]!.pValue! < 1e-3);
});
