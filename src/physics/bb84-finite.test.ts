import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { finiteKeyRate, optimizeFiniteKey, type FiniteKeyChannel } from './bb84-finite.ts';

// Lim et al., PRA 89, 022307 (2014), Sec. IV: η_Bob = 0.1, p_dc = 6e-7 per detector, p_ap = 0.04, α = 0.2 dB/km,
// e_mis = 0.005, f_EC = 1.16, μ3 = 2e-4, ε_cor = 1e-15, ε_sec = κ·ℓ with κ = 1e-15.
const lim = (distanceKm: number, nX: number): FiniteKeyChannel => ({
  eta: 0.1 * Math.pow(10, (-0.2 * distanceKm) / 10),
  y0: 1.2e-6,
  ed: 0.005,
  f: 1.16,
  afterpulse: 0.04,
  blockSize: 1e10,
  nX,
  epsSec: 1e-9,
  epsSecPerBit: 1e-15,
  epsCor: 1e-15,
  muMin: 0,
  mu3: 2e-4,
});
// GYS (Gobby, Yuan, Shields 2004 as used by Lo–Ma–Chen 2005) with a block of N pulses and vacuum as μ3.
const gys = (distanceKm: number, pulses: number): FiniteKeyChannel => ({
  eta: 0.045 * Math.pow(10, (-0.21 * distanceKm) / 10),
  y0: 1.7e-6,
  ed: 0.033,
  f: 1.22,
  afterpulse: 0,
  blockSize: pulses,
  epsSec: 1e-9,
  epsCor: 1e-15,
  muMin: 0.01,
});

const settings = (mu3: number, muMin: number) =>
  fc
    .record({
      mu1: fc.double({ min: 0.02, max: 1.4, noNaN: true }),
      r2: fc.double({ min: 0.001, max: 0.999, noNaN: true }),
      p1: fc.double({ min: 0.005, max: 0.99, noNaN: true }),
      r3: fc.double({ min: 0.005, max: 0.995, noNaN: true }),
      pZ: fc.double({ min: 0.02, max: 0.98, noNaN: true }),
    })
    .map(({ mu1, r2, p1, r3, pZ }) => {
      const lo = Math.max(muMin, mu3 * 1.001 + 1e-9);
      return { mu1, mu2: lo + (mu1 - mu3 - lo) * r2, p1, p2: (1 - p1) * r3, pZ };
    })
    .filter((s) => s.mu1 > s.mu2 + 2e-4 && s.mu2 > 0);

test('the finite-key optimiser is never beaten by a random parameter point (Lim 2014 channel, n_X = 1e4…1e7)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(1e4, 1e5, 1e7),
      fc.double({ min: 0, max: 200, noNaN: true }),
      settings(2e-4, 0),
      (nX, d, s) => {
        const ch = lim(d, nX);
        const best = optimizeFiniteKey(ch);
        const point = finiteKeyRate(ch, s).rate;
        return best.rate >= point * (1 - 1e-6);
      },
    ),
    { numRuns: 25, seed: 20140210 },
  );
});

test('the finite-key optimiser is never beaten by a random parameter point (GYS, N = 1e8…1e10 pulses)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(1e8, 1e9, 1e10),
      fc.double({ min: 0, max: 130, noNaN: true }),
      settings(0, 0.01),
      (pulses, d, s) => {
        const ch = gys(d, pulses);
        return optimizeFiniteKey(ch).rate >= finiteKeyRate(ch, s).rate * (1 - 1e-6);
      },
    ),
    { numRuns: 30, seed: 2004 },
  );
});

test('near its maximum distance the optimiser finds the small-p_Z, small-p_μ1 region (n_X = 1e4, 115 km)', () => {
  // A point found by hand in that region has a positive rate; the optimiser must do at least as well.
  const ch = lim(115, 1e4);
  const hand = finiteKeyRate(ch, { mu1: 0.38, mu2: 0.115, p1: 0.057, p2: 0.49, pZ: 0.22 }).rate;
  assert.ok(hand > 0);
  assert.ok(optimizeFiniteKey(ch).rate >= hand);
});

test('ε_sec = κ·ℓ is solved consistently: the reported ε_sec is κ times the key length', () => {
  const ch = lim(50, 1e6);
  const r = optimizeFiniteKey(ch);
  const l = r.rate * r.pulses;
  assert.ok(l > 0);
  assert.ok(Math.abs(r.epsSec - 1e-15 * l) <= 1e-15 * 2, `${r.epsSec} vs ${1e-15 * l}`);
  // n_X fixes the key-basis detections: N·p_Z²·Σ p_k R_k = n_X.
  assert.ok(r.pulses > 1e6);
});

test('pinned parameters stay at their values', () => {
  const r = optimizeFiniteKey(lim(50, 1e6), { pZ: 0.5, mu1: 0.6 });
  assert.equal(r.settings.pZ, 0.5);
  assert.equal(r.settings.mu1, 0.6);
  assert.ok(r.rate > 0);
  assert.ok(r.rate <= optimizeFiniteKey(lim(50, 1e6)).rate);
});
