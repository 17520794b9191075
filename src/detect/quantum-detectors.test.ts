import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, type TelemetrySample } from '../common/index.ts';
import { PRESETS } from '../physics/index.ts';
import { DEFAULT_INTENSITIES } from '../qkd/index.ts';
import { modelFromParams, modelFromTelemetry, siftedPerPulse } from './model.ts';
import { syntheticTelemetry, type Distortion } from './synthetic.ts';
import { QuantumDetectors } from './quantum-detectors.ts';

const gys = PRESETS.gys!.params;
const analytic = modelFromParams(gys, 50);
const pulses = Math.round(1e5 / siftedPerPulse(analytic)); // blocks of ~1e5 sifted bits
const monitor = { mean: 1e-9, sd: 1e-11 };
const block = (i: number, rng = createRng(i), distortion?: Distortion): TelemetrySample =>
  syntheticTelemetry(
    analytic,
    { linkId: 'a-b', blockId: i, pulses, monitor, ...(distortion ? { distortion } : {}) },
    rng,
  );

test('modelFromParams follows Ma et al. 2005 eqs. (5)-(6) for GYS at 50 km', () => {
  // independent evaluation: η = 0.045·10^(−0.21·50/10); Q = Y0 + 1 − e^{−ημ}; E = (Y0/2 + e_d(1 − e^{−ημ}))/Q
  const eta = 0.045 * 10 ** -1.05;
  const q = 1.7e-6 + 1 - Math.exp(-eta * 0.5);
  const e = (0.85e-6 + 0.033 * (1 - Math.exp(-eta * 0.5))) / q;
  const signal = analytic.classes[0]!;
  assert.ok(Math.abs(signal.detectProb.Z - q) < 1e-12 * q);
  assert.ok(Math.abs(signal.errorProb.X - e) < 1e-12 * e);
  assert.equal(analytic.classes[2]!.errorProb.Z, 0.5); // vacuum: e0 = 1/2
});

test('modelFromTelemetry recovers the generating probabilities within 4 standard errors', () => {
  const rng = createRng('cal');
  const cal = Array.from({ length: 200 }, (_, i) => block(i, rng));
  const m = modelFromTelemetry(cal, DEFAULT_INTENSITIES);
  for (const [i, c] of m.classes.entries()) {
    const truth = analytic.classes[i]!;
    const n = 200 * pulses * truth.sentFraction.Z;
    const se = Math.sqrt(truth.detectProb.Z / n);
    assert.ok(Math.abs(c.detectProb.Z - truth.detectProb.Z) < 4 * se, `${c.name} gain`);
  }
  assert.ok(m.monitorPowerW && Math.abs(m.monitorPowerW.mean - 1e-9) < 1e-11);
});

test('false alarms stay within the 1e-3 per-block budget on attack-free blocks (seeded)', () => {
  const det = new QuantumDetectors(analytic);
  const rng = createRng('null');
  let alarms = 0;
  const n = 3000;
  for (let i = 0; i < n; i++) if (det.observe(block(i, rng)).length > 0) alarms++;
  // Bonferroni bound: P(alarm) ≤ 1e-3 per block, so alarms ~ at most Bin(3000, 1e-3), mean 3;
  // P(Bin(3000, 1e-3) ≥ 10) = 1.1e-3 — a failure here means the budget is really exceeded.
  assert.ok(alarms < 10, `${alarms} false alarms in ${n} blocks`);
});

const attacks: [string, Distortion, string][] = [
  ['intercept-resend on 5% (QBER +1.25%)', { qberShift: 0.0125 }, 'qber-high'],
  ['photon-number splitting (decoy gain −20%)', { gain: { decoy: 0.8 } }, 'decoy-inconsistent'],
  ['faked states (QBER ×0.2)', { qberFactor: 0.2 }, 'qber-too-low'],
  ['blinded detectors (no double clicks)', { doubleClickFactor: 0 }, 'double-click-rate'],
  ['Bob clicks only in Eve’s basis (sifted share ×1.5)', { siftFactor: 1.5 }, 'detector-control'],
  ['Trojan-horse light (+10% monitor power)', { monitorPowerW: 1.1e-9 }, 'trojan-horse'],
  ['fiber cut (gain ×0.001)', { gain: { signal: 1e-3, decoy: 1e-3 } }, 'fiber-cut'],
  ['jamming (gain ×1.5)', { gain: { signal: 1.5, decoy: 1.5, vacuum: 1.5 } }, 'jamming'],
];
for (const [name, distortion, kind] of attacks) {
  test(`${name} raises ${kind} in the first block`, () => {
    const cal = Array.from({ length: 100 }, (_, i) => block(i, createRng(`c${i}`)));
    const det = new QuantumDetectors(modelFromTelemetry(cal, DEFAULT_INTENSITIES));
    const f = det.observe(block(1000, createRng(name), distortion));
    assert.ok(
      f.some((x) => x.kind === kind),
      `kinds: ${f.map((x) => x.kind).join(', ')}`,
    );
    const hit = f.find((x) => x.kind === kind)!;
    assert.ok(
      hit.action === 'quarantine-link' && Number.isFinite(hit.value) && hit.window.startsWith('block'),
    );
  });
}

test('CUSUM accumulates a shift too small for one block', () => {
  const det = new QuantumDetectors(analytic, { qberShift: 0.0015 });
  const rng = createRng('small');
  let first = -1;
  for (let i = 0; i < 30 && first < 0; i++) {
    const f = det.observe(block(i, rng, { qberShift: 0.0015 }));
    if (f.some((x) => x.kind === 'qber-cusum')) first = i;
    assert.ok(!f.some((x) => x.kind === 'qber-high') || first >= 0 || i > 0);
  }
  assert.ok(first >= 1, `CUSUM fired at block ${first}`);
});

test('per-test level is the budget split over the tests', () => {
  const det = new QuantumDetectors(analytic, { falseAlarmPerBlock: 1e-4 });
  assert.ok(Math.abs(det.perTestAlpha * det.testCount - 1e-4) < 1e-18);
  assert.throws(() => new QuantumDetectors(analytic, { falseAlarmPerBlock: 0 }), RangeError);
});

test('over-dispersed counts (afterpulse-like) are calibrated as quasi-binomial and keep the budget', () => {
  // the gain wanders ±3% from block to block: variance far above binomial for 1e5-count blocks
  const rng = createRng('disp');
  const wander = (i: number) =>
    block(i, rng, { gain: { signal: 1 + 0.03 * rng.nextGaussian(), decoy: 1 + 0.03 * rng.nextGaussian() } });
  const cal = Array.from({ length: 600 }, (_, i) => wander(i));
  const m = modelFromTelemetry(cal, DEFAULT_INTENSITIES);
  assert.ok((m.dispersion?.['gain[signal,Z]'] ?? 1) > 10, `φ = ${m.dispersion?.['gain[signal,Z]']}`);
  assert.equal(m.dispersion?.['qber[signal,Z]'], undefined, 'errors stay binomial');
  const det = new QuantumDetectors(m);
  let alarms = 0;
  for (let i = 0; i < 1000; i++) if (det.observe(wander(1000 + i)).length > 0) alarms++;
  // budget 1e-3 → about 1 in 1000 (P(Bin(1000, 1e-3) ≥ 6) = 6e-4)
  assert.ok(alarms < 6, `${alarms} false alarms in 1000 blocks`);
  const naive = new QuantumDetectors({ ...m, dispersion: {} });
  let naiveAlarms = 0;
  for (let i = 0; i < 100; i++) if (naive.observe(wander(3000 + i)).length > 0) naiveAlarms++;
  assert.ok(naiveAlarms > 30, `without dispersion ${naiveAlarms}/100 blocks alarm`);
});
