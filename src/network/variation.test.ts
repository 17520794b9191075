import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../common/index.ts';
import { availabilityOf, FiberDrift, LONG_HAUL_DRIFT, METRO_DRIFT, QBER_RISE } from './fiber-drift.ts';
import { clearPass, XINGLONG_CLEAR_NIGHT_FRACTION } from './cloud-cover.ts';
import { drawPassFactor, passTransmittanceS } from './pass-geometry.ts';

test('fiber drift, long-haul: availability, mean outage and mean stable time reproduce Neumann et al. 2022', () => {
  // Published: key for 82 of 110 h (74.5%), re-alignments of 57 min on average (8 min 10 s … 1 h 22 min).
  assert.ok(
    Math.abs(availabilityOf(LONG_HAUL_DRIFT) - 82 / 110) < 0.005,
    String(availabilityOf(LONG_HAUL_DRIFT)),
  );
  const d = new FiberDrift(createRng('drift-test'), LONG_HAUL_DRIFT, 0.02, 1.05);
  const T = 20_000 * 3600;
  const { outageS } = d.keySeconds(0, T);
  assert.ok(Math.abs(1 - outageS / T - 82 / 110) < 0.01, `availability ${1 - outageS / T}`);
  // Every outage lies within the published range.
  let inOutage = 0;
  let outages = 0;
  let start = 0;
  for (let t = 0; t < 300 * 3600; t += 20) {
    const off = d.qberOffset(t);
    if (off === null && inOutage === 0) start = t;
    if (off === null) inOutage = 1;
    else if (inOutage) {
      const len = t - start;
      assert.ok(len >= 490 - 20 && len <= 4920 + 20, `outage ${len} s`);
      outages++;
      inOutage = 0;
    } else assert.ok(off >= 0 && off <= QBER_RISE, String(off));
  }
  assert.ok(outages > 50, String(outages));
});

test('fiber drift, metro: 99% availability (Sena et al. 2025: < 1% downtime); drift lowers the rate, never raises it', () => {
  assert.ok(Math.abs(availabilityOf(METRO_DRIFT) - 0.99) < 1e-9);
  const d = new FiberDrift(createRng('metro'), METRO_DRIFT, 0.03, 1.05);
  const { keyS, outageS } = d.keySeconds(0, 86400);
  assert.ok(keyS <= 86400 - outageS + 1e-6 && keyS > 0.5 * 86400, `${keyS}`);
});

test('cloud cover: the fraction of clear passes is the station figure (Xinglong 63%, Zhang et al. 2015)', () => {
  const rng = createRng('cloud');
  let clear = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) if (clearPass(rng, XINGLONG_CLEAR_NIGHT_FRACTION)) clear++;
  assert.ok(Math.abs(clear / n - 0.63) < 0.015, String(clear / n));
});

test('pass geometry: factor of mean 1, overhead passes above the mean, grazing ones near 0', () => {
  const rng = createRng('geometry');
  let sum = 0;
  const n = 400;
  let zeroish = 0;
  for (let i = 0; i < n; i++) {
    const f = drawPassFactor(rng);
    assert.ok(f >= 0);
    sum += f;
    if (f < 0.05) zeroish++;
  }
  assert.ok(Math.abs(sum / n - 1) < 0.1, String(sum / n));
  assert.ok(zeroish > 0);
  assert.ok(passTransmittanceS(0) > passTransmittanceS(0.1));
  assert.equal(passTransmittanceS(0.5), 0); // far outside the swath: no pass above the key window
});
