import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mdiGainZ, mdiRate, mdiSinglePair, type MdiChannel } from './mdi-qkd-lo2012.ts';
import { keyRate, maxDistanceKm } from './models.ts';
import { PRESETS } from './presets.ts';

const ch = (over: Partial<MdiChannel> = {}): MdiChannel => ({
  etaA: 0.145 * 10 ** (-0.02 * 50),
  etaB: 0.145 * 10 ** (-0.02 * 50),
  darkPerDetector: 3.01e-6,
  ed: 0.015,
  f: 1.16,
  pZ: 0.5,
  ...over,
});

test('ideal detectors: Y11 = η_aη_b/2 (two of four Bell states), e11 = e_d, no Z errors without misalignment', () => {
  const c = ch({ darkPerDetector: 0, ed: 0.02 });
  const { y11, e11 } = mdiSinglePair(c);
  assert.ok(Math.abs(y11 / ((c.etaA * c.etaB) / 2) - 1) < 1e-12);
  assert.ok(Math.abs(e11 - 0.02) < 1e-12);
  assert.equal(mdiGainZ(ch({ darkPerDetector: 0, ed: 0 }), 0.5, 0.5).qber, 0);
});

test('dark counts alone: Y11 ≈ 4p_d², e11 = ½, and no key', () => {
  const { y11, e11 } = mdiSinglePair(ch({ etaA: 0, etaB: 0 }));
  assert.ok(Math.abs(y11 / (4 * 3.01e-6 ** 2) - 1) < 1e-4);
  assert.equal(e11, 0.5);
  assert.equal(mdiRate(ch({ etaA: 0, etaB: 0 }), 0.5).rate, 0);
});

test('the Z gain is symmetric in Alice and Bob and its QBER lies in [0, ½] (property)', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 1e-8, max: 0.9, noNaN: true }),
      fc.double({ min: 1e-8, max: 0.9, noNaN: true }),
      fc.double({ min: 0.01, max: 1.5, noNaN: true }),
      (ea, eb, mu) => {
        const a = mdiGainZ(ch({ etaA: ea, etaB: eb }), mu, mu);
        const b = mdiGainZ(ch({ etaA: eb, etaB: ea }), mu, mu);
        assert.ok(Math.abs(a.gain / b.gain - 1) < 1e-9 && a.qber >= 0 && a.qber <= 0.5);
      },
    ),
    { seed: 11, numRuns: 100 },
  );
});

test('MDI-QKD scales as η (both photons must arrive) and reaches 200 km with the mdi2012 preset', () => {
  const p = PRESETS.mdi2012!.params;
  const r = (d: number) => keyRate('mdi-qkd', p, d).ratePerPulse;
  const slope = Math.log10(r(50) / r(100)) / ((0.2 * 50) / 10);
  assert.ok(Math.abs(slope - 1) < 0.05, `slope ${slope}`);
  const max = maxDistanceKm('mdi-qkd', p);
  assert.ok(max > 200 && max > maxDistanceKm('bb84-decoy-infinite', p), `${max} km`);
});
