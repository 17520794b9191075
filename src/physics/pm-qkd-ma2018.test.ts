import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pmGain, pmPhaseError, pmPhotonComponent, pmRate, type PmChannel } from './pm-qkd-ma2018.ts';
import { keyRate } from './models.ts';
import { PRESETS } from './presets.ts';
import { plobBound } from './bounds.ts';

const ch = (over: Partial<PmChannel> = {}): PmChannel => ({
  etaArm: 0.145 * 10 ** (-0.02 * 100),
  darkPerDetector: 8e-8,
  ed: 0.015,
  f: 1.15,
  slices: 16,
  ...over,
});

test('gain is 1 − (1−p_d)²e^{−ημ} and the k-photon components add up to it', () => {
  const c = ch();
  const mu = 0.2;
  const { gain } = pmGain(c, mu);
  assert.ok(Math.abs(gain - (1 - (1 - 8e-8) ** 2 * Math.exp(-c.etaArm * mu))) < 1e-15);
  let sum = 0;
  for (let k = 0, pk = Math.exp(-mu); k < 30; k++, pk *= mu / k) sum += pk * pmPhotonComponent(c, k).yield;
  assert.ok(Math.abs(sum / gain - 1) < 1e-9, `${sum} vs ${gain}`);
});

test('the vacuum component errs half the time and dark counts alone give no key', () => {
  assert.ok(Math.abs(pmPhotonComponent(ch(), 0).error - 0.5) < 1e-12);
  assert.equal(pmRate(ch({ etaArm: 0 }), 0.1).rate, 0);
});

test('low-intensity QBER equals the slice error ½[1 − sinc²(π/M)] (triangular phase difference), e_d = p_d = 0', () => {
  for (const M of [4, 8, 16, 64]) {
    const { qber } = pmGain(ch({ ed: 0, darkPerDetector: 0, slices: M, etaArm: 1e-6 }), 0.01);
    const x = Math.PI / M;
    const expected = (1 - (Math.sin(x) / x) ** 2) / 2;
    // Midpoint rule on 32 nodes: relative error O(1/32²).
    assert.ok(Math.abs(qber / expected - 1) < 2e-3, `M = ${M}: ${qber} vs ${expected}`);
  }
});

test('phase error lies in [0, ½] and grows with misalignment (property)', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 1e-7, max: 0.5, noNaN: true }),
      fc.double({ min: 0.01, max: 1.5, noNaN: true }),
      fc.double({ min: 0, max: 0.2, noNaN: true }),
      (eta, mu, ed) => {
        const a = ch({ etaArm: eta, ed });
        const b = ch({ etaArm: eta, ed: ed + 0.05 });
        const ea = pmPhaseError(a, mu, pmGain(a, mu).gain);
        const eb = pmPhaseError(b, mu, pmGain(b, mu).gain);
        assert.ok(ea >= 0 && ea <= 0.5 && eb >= ea - 1e-12, `${ea} ${eb}`);
      },
    ),
    { seed: 7, numRuns: 80 },
  );
});

test('PM-QKD scales as √η and beats PLOB at long distance with the tf2018 preset', () => {
  const p = PRESETS.tf2018!.params;
  const r = (d: number) => keyRate('pm-qkd', p, d).ratePerPulse;
  const slope = Math.log10(r(100) / r(200)) / ((0.2 * 100) / 10);
  assert.ok(Math.abs(slope - 0.5) < 0.05, `slope ${slope}`);
  assert.ok(r(400) > plobBound(10 ** (-0.2 * 40)), 'above PLOB at 400 km');
  assert.ok(r(200) < plobBound(10 ** (-0.2 * 20)), 'below PLOB at 200 km');
});
