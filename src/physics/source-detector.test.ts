import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  detectorResponse,
  errorE,
  errorN,
  gainQ,
  photonNumberProbability,
  yieldN,
} from './source-detector.ts';

// Independent evaluation: Q_μ = Σ_n P(n; μ)·Y_n and E_μ·Q_μ = Σ_n P(n; μ)·e_n·Y_n (Ma et al., PRA 72, 012326
// (2005), Eqs. 2–3), summed to n = 60. The closed forms must agree to 1e-10 relative (the sum adds ~60 rounded
// terms; truncation at n = 60 is below 1e-40 for μ ≤ 2).
function sums(mu: number, eta: number, y0: number, ed: number): { q: number; eq: number } {
  let q = 0;
  let eq = 0;
  for (let n = 0; n <= 60; n++) {
    const p = photonNumberProbability(n, mu);
    q += p * yieldN(n, eta, y0);
    eq += p * errorN(n, eta, y0, ed) * yieldN(n, eta, y0);
  }
  return { q, eq };
}

test('gainQ and errorE equal the photon-number sums of yields and errors', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.01, max: 2, noNaN: true }),
      fc.double({ min: 1e-6, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1e-3, noNaN: true }),
      fc.double({ min: 0, max: 0.1, noNaN: true }),
      (mu, eta, y0, ed) => {
        const { q, eq } = sums(mu, eta, y0, ed);
        assert.ok(Math.abs(gainQ(mu, eta, y0) - q) <= 1e-10 * q + 1e-300);
        assert.ok(Math.abs(errorE(mu, eta, y0, ed) * gainQ(mu, eta, y0) - eq) <= 1e-10 * eq + 1e-300);
      },
    ),
    { seed: 2, numRuns: 200 },
  );
});

test('GYS at 0 km: Q_0.5 = Y0 + (1 − Y0)(1 − e^{−0.0225}) and E close to e_d', () => {
  // GYS (Lo–Ma–Chen 2005): η_Bob = 0.045, Y0 = 1.7e-6, e_d = 0.033; hand-computed 1 − e^{−0.0225} = 0.022248...
  // Exact convention (a background click or, failing that, a photon): differs from Ma et al.'s Y0 + 1 − e^{−ημ}
  // by Y0·(1 − e^{−ημ}) ≈ 4e-8, far below the papers' printed digits.
  const d = 0.022248762806663637;
  const q = gainQ(0.5, 0.045, 1.7e-6);
  assert.ok(Math.abs(q - (1.7e-6 + (1 - 1.7e-6) * d)) < 1e-15);
  const e = errorE(0.5, 0.045, 1.7e-6, 0.033);
  assert.ok(Math.abs(e - (0.5 * 1.7e-6 + 0.033 * (1 - 1.7e-6) * d) / q) < 1e-15);
});

test('Q_μ is the Poisson average of Y_n and E_μQ_μ that of e_nY_n (one yield convention)', () => {
  // Independent check: sum the photon-number series directly, for a high background where the convention matters.
  for (const [mu, eta, y0, ed] of [
    [0.5, 0.045, 1.7e-6, 0.033],
    [0.8, 0.3, 0.05, 0.02],
    [0.1, 1e-4, 0.2, 0.01],
  ] as const) {
    let q = 0;
    let eq = 0;
    let pn = Math.exp(-mu);
    for (let n = 0; n < 60; n++) {
      if (n > 0) pn *= mu / n;
      q += pn * yieldN(n, eta, y0);
      eq += pn * errorN(n, eta, y0, ed) * yieldN(n, eta, y0);
    }
    assert.ok(Math.abs(q - gainQ(mu, eta, y0)) < 1e-14, `Q ${q} vs ${gainQ(mu, eta, y0)}`);
    assert.ok(Math.abs(eq / q - errorE(mu, eta, y0, ed)) < 1e-12);
  }
});

test('detectorResponse adds afterpulses with error 1/2 and closes gates for the dead time', () => {
  const det = {
    efficiency: 0.1,
    darkCountProbability: 1e-6,
    misalignmentError: 0.01,
    afterpulseProbability: 0.05,
    deadTimeNs: 100,
  };
  const r = detectorResponse(det, 0.5, 0.1, 1e9);
  const q0 = gainQ(0.5, 0.01, 1e-6);
  const duty = 1 / (1 + q0 * 1.05 * 1e9 * 100e-9);
  assert.ok(Math.abs(r.dutyCycle - duty) < 1e-15);
  assert.ok(Math.abs(r.clickProbability - q0 * 1.05 * duty) < 1e-15);
  assert.ok(r.qber > errorE(0.5, 0.01, 1e-6, 0.01));
  const ideal = detectorResponse({ ...det, afterpulseProbability: 0, deadTimeNs: 0 }, 0.5, 0.1, 1e9);
  assert.equal(ideal.dutyCycle, 1);
  assert.ok(Math.abs(ideal.clickProbability - q0) < 1e-18);
});
