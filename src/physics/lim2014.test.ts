import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hoeffdingDelta, lim2014Bounds, lim2014KeyLength, tau } from './lim2014.ts';
import { yieldN, errorN } from './source-detector.ts';

// Expected counts of a block from the channel model (Lim et al. 2014 Sec. IV), with true single-photon
// yield Y1 and error e1 to compare the bounds against: the bounds must be conservative (s1 ≤ truth, φ ≥ e1)
// and tight for a huge block (N = 1e15, fluctuations ~1e-5 relative). What remains is the gap of the two-decoy
// analytic bound itself, a few per cent for a weak decoy ν = 0.1 (Ma et al., PRA 72, 012326 (2005), Sec. V):
// we allow 5% on s1 and 0.01 on the phase error.
function block(N: number) {
  const eta = 0.045 * Math.pow(10, -0.021 * 50); // GYS at 50 km
  const y0 = 1.7e-6;
  const ed = 0.033;
  const mu = [0.5, 0.1, 0] as const;
  const p = [0.7, 0.2, 0.1] as const;
  const pz = 0.8;
  const gain = (m: number) => y0 - Math.expm1(-eta * m);
  const err = (m: number) => 0.5 * y0 - ed * Math.expm1(-eta * m);
  const nKey = mu.map((m, k) => N * p[k]! * pz * pz * gain(m)) as unknown as [number, number, number];
  const nTest = mu.map((m, k) => N * p[k]! * (1 - pz) ** 2 * gain(m)) as unknown as [number, number, number];
  const mTest = mu.map((m, k) => N * p[k]! * (1 - pz) ** 2 * err(m)) as unknown as [number, number, number];
  const trueS1 = N * pz * pz * tau(1, mu, p) * yieldN(1, eta, y0);
  return { counts: { mu, p, nKey, nTest, mTest }, trueS1, trueE1: errorN(1, eta, y0, ed) };
}

test('hoeffdingDelta is √(n/2·ln(1/ε)) and finite for the ε_sec/21 the paper uses', () => {
  assert.ok(Math.abs(hoeffdingDelta(2e6, 1e-9 / 21) - Math.sqrt(1e6 * Math.log(21e9))) < 1e-6);
  assert.ok(Number.isFinite(hoeffdingDelta(1e4, 1e-10 / 21)));
});

test('τ_n sums the Poisson probabilities over intensities', () => {
  assert.ok(
    Math.abs(tau(0, [0.5, 0.1, 0], [0.7, 0.2, 0.1]) - (0.7 * Math.exp(-0.5) + 0.2 * Math.exp(-0.1) + 0.1)) <
      1e-15,
  );
  assert.ok(Math.abs(tau(2, [0.5], [1]) - Math.exp(-0.5) * 0.125) < 1e-15);
});

test('the decoy bounds are conservative and tight for a huge block', () => {
  const { counts, trueS1, trueE1 } = block(1e15);
  const b = lim2014Bounds(counts, 1e-9);
  assert.ok(b.sKey1 <= trueS1 && b.sKey1 > 0.95 * trueS1, `s1 ${b.sKey1} vs ${trueS1}`);
  assert.ok(b.phaseError >= trueE1 && b.phaseError < trueE1 + 0.01, `φ ${b.phaseError} vs ${trueE1}`);
});

test('smaller blocks give looser bounds and shorter keys per pulse', () => {
  const big = block(1e12);
  const small = block(1e9);
  const bBig = lim2014Bounds(big.counts, 1e-9);
  const bSmall = lim2014Bounds(small.counts, 1e-9);
  assert.ok(bSmall.sKey1 / small.trueS1 < bBig.sKey1 / big.trueS1);
  assert.ok(bSmall.phaseError > bBig.phaseError);
  const leak = (N: number) => 1.22 * 0.21 * N * 0.64 * 3e-4; // any fixed leak per pulse
  const lBig = lim2014KeyLength(bBig, leak(1e12), 1e-9, 1e-15) / 1e12;
  const lSmall = lim2014KeyLength(bSmall, leak(1e9), 1e-9, 1e-15) / 1e9;
  assert.ok(lSmall < lBig);
});

test('lim2014Bounds rejects intensities that violate μ1 > μ2 + μ3, μ2 > μ3', () => {
  const { counts } = block(1e10);
  assert.throws(() => lim2014Bounds({ ...counts, mu: [0.1, 0.2, 0] }, 1e-9), RangeError);
});
