import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../common/index.ts';
import { PRESETS, errorE, fiberTransmittance, gainQ, lim2014Bounds } from '../physics/index.ts';
import { simulateBlock } from './engine.ts';
import { estimate } from './estimate.ts';
import { sift } from './sift.ts';
import type { LinkBlockConfig } from './types.ts';

const GYS = PRESETS.gys!.params;
const Y0 = GYS.darkCountProbability;
const ED = GYS.misalignmentError;

function run(over: Partial<LinkBlockConfig> = {}, seed = 'est') {
  const b = simulateBlock(
    { linkId: 'e', blockId: 3, pulses: 1e9, params: GYS, distanceKm: 25, ...over },
    createRng(seed),
  );
  return { b, s: sift(b.raw) };
}

test('asymptotic decoy bounds agree with Ma–Qi–Zhao–Lo 2005 Eqs. 34 and 37 evaluated on the analytic gains', () => {
  const { b, s } = run();
  const e = estimate(s, b.raw);
  const eta =
    GYS.detectorEfficiency * fiberTransmittance({ distanceKm: 25, attenuationDbPerKm: 0.21, extraLossDb: 0 });
  const [mu, nu] = [0.5, 0.1];
  const [qMu, qNu] = [gainQ(mu, eta, Y0), gainQ(nu, eta, Y0)];
  // Eq. 34: Y1^L = μ/(μν − ν²)·[Q_ν e^ν − Q_μ e^μ ν²/μ² − (μ² − ν²)/μ²·Y0]
  const y1L =
    (mu / (mu * nu - nu * nu)) *
    (qNu * Math.exp(nu) -
      (qMu * Math.exp(mu) * nu * nu) / (mu * mu) -
      ((mu * mu - nu * nu) / (mu * mu)) * Y0);
  // Eq. 37: e1^U = (E_ν Q_ν e^ν − e0·Y0)/(Y1^L ν)
  const e1U = (errorE(nu, eta, Y0, ED) * qNu * Math.exp(nu) - 0.5 * Y0) / (y1L * nu);
  // Tolerances: propagated binomial σ of the decoy gain (≈ 0.6 % of Y1, ≈ 2.5 % of e1 at 1e9 pulses), ×4.
  assert.ok(Math.abs(e.asymptotic.y1Lower / y1L - 1) < 0.025, `Y1^L ${e.asymptotic.y1Lower} vs ${y1L}`);
  assert.ok(Math.abs(e.asymptotic.e1Upper / e1U - 1) < 0.1, `e1^U ${e.asymptotic.e1Upper} vs ${e1U}`);
  // The true single-photon yield (Y0 + η − Y0·η) and error bracket the bounds.
  const y1 = Y0 + eta - Y0 * eta;
  const e1 = (0.5 * Y0 + ED * eta * (1 - Y0)) / y1;
  assert.ok(e.y1Lower < e.asymptotic.y1Lower && e.asymptotic.y1Lower < y1 * 1.01);
  assert.ok(e.e1Upper > e.asymptotic.e1Upper && e.asymptotic.e1Upper > e1 * 0.95);
  // At 1e9 pulses the finite-size deviations of the decoy errors (Hoeffding, ε_sec = 1e-10) still push
  // the phase-error bound to ≈ 10 %, so Lim's Eq. 1 leaves no key: the honest verdict is too-few-counts.
  assert.deepEqual([e.secure, e.reason, e.keyLengthBits], [false, 'too-few-counts', 0]);
});

test('the finite-size bound is Lim et al. 2014 on the block counts, and QBERs follow the sifted bits', () => {
  const { b, s } = run({ pulses: 2e8 });
  const e = estimate(s, b.raw, { epsSec: 1e-9 });
  assert.deepEqual(e.bound, lim2014Bounds(e.limCounts!, 1e-9));
  assert.deepEqual(e.limCounts!.mu, [0.5, 0.1, 0]);
  assert.equal(
    e.limCounts!.nKey.reduce((x, y) => x + y, 0),
    s.key.alice.length,
  );
  assert.equal(e.qberZ, s.key.alice.hammingDistance(s.key.bob) / s.key.alice.length);
  assert.equal(e.e1Upper, e.bound.phaseError);
  assert.deepEqual([...s.nKey], [...e.limCounts!.nKey]);
  assert.equal(e.qber, e.qberX);
});

test('verdicts: too-few-counts on a short block, qber-above-threshold below the QBER, decoy-inconsistent on a two-class source', () => {
  const small = run({ pulses: 1e6 }, 'small');
  const e1 = estimate(small.s, small.b.raw);
  assert.deepEqual([e1.secure, e1.reason], [false, 'too-few-counts']);
  const { b, s } = run({ pulses: 2e8 }, 'thr');
  const e2 = estimate(s, b.raw, { qberThreshold: 0.02 });
  assert.deepEqual([e2.secure, e2.reason], [false, 'qber-above-threshold']);
  const two = run({
    pulses: 1e7,
    intensities: [
      { name: 'signal', mu: 0.5, probability: 0.8 },
      { name: 'decoy', mu: 0.1, probability: 0.2 },
    ],
  });
  const e3 = estimate(two.s, two.b.raw);
  assert.deepEqual(
    [e3.secure, e3.reason, e3.limCounts, e3.bound.sKey1],
    [false, 'decoy-inconsistent', null, 0],
  );
  assert.throws(() => estimate(s, b.raw, { epsSec: 0 }), RangeError);
});

test('estimate works on a plain raw record without per-class pulse counts (expected counts instead)', () => {
  const { b, s } = run({ pulses: 2e8 }, 'plain');
  const { sent: _sent, basisBiasZ: _bias, ...plain } = b.raw;
  const withCounts = estimate(s, b.raw);
  const without = estimate(s, plain);
  for (let k = 0; k < 3; k++) {
    const a = withCounts.classes[k]!.gain;
    const c = without.classes[k]!.gain;
    assert.ok(Math.abs(a - c) <= 4 * Math.sqrt(a / 2e7) + 1e-12, `class ${k}: ${a} vs ${c}`);
  }
});
