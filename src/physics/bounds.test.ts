import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plobBound, tgwBound } from './bounds.ts';

// PLOB, Pirandola et al., Nat. Commun. 8, 15043 (2017): −log₂(1−η). Exact values: η = 1/2 → 1 bit;
// η = 1/4 → log₂(4/3); 100 km at 0.2 dB/km (η = 0.01) → −log₂(0.99) = 0.014499569695115...;
// 1000 km (η = 1e-20) → η/ln 2 = 1.4426950408889634e-20 (first order exact to 1e-20 relative).
test('plobBound reproduces exact values, including 1,000 km without losing digits', () => {
  assert.equal(plobBound(0.5), 1);
  assert.ok(Math.abs(plobBound(0.25) - Math.log2(4 / 3)) < 1e-15);
  assert.ok(Math.abs(plobBound(0.01) / 0.014499569695115091 - 1) < 2e-15); // a few ulps
  assert.ok(Math.abs(plobBound(1e-20) / 1.4426950408889634e-20 - 1) < 1e-15);
  assert.equal(plobBound(0), 0);
  assert.equal(plobBound(1), Infinity);
});

// TGW, Takeoka, Guha, Wilde, Nat. Commun. 5, 5235 (2014): log₂((1+η)/(1−η)); η = 1/2 → log₂ 3; → 2η/ln 2 small η.
test('tgwBound reproduces exact values and lies above PLOB', () => {
  assert.ok(Math.abs(tgwBound(0.5) - Math.log2(3)) < 1e-15);
  assert.ok(Math.abs(tgwBound(1e-20) / (2 * 1.4426950408889634e-20) - 1) < 1e-15);
  for (const eta of [1e-12, 1e-3, 0.3, 0.9]) assert.ok(tgwBound(eta) > plobBound(eta));
});

test('bounds reject a transmittance outside [0, 1]', () => {
  assert.throws(() => plobBound(-0.1), RangeError);
  assert.throws(() => tgwBound(1.5), RangeError);
});
