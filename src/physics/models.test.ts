import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isQkdnetError } from '../common/index.ts';
import { MODELS, keyRate, maxDistanceKm } from './models.ts';
import { PRESETS } from './presets.ts';
import { channelTransmittance } from './channel.ts';
import { plobBound } from './bounds.ts';

const gys = PRESETS.gys!.params;
const metro = PRESETS.metro!.params;
const FAST_MODELS = [
  'bb84-single-photon',
  'bb84-gllp',
  'bb84-decoy-infinite',
  'bb84-decoy-vacuum-weak',
  'tf-qkd',
  'pm-qkd',
  'mdi-qkd',
  'cv-qkd-gg02',
];

test('MODELS lists every model of the catalogue with a source, kind and repeaterless flag', () => {
  const names = [
    'bb84-single-photon',
    'bb84-gllp',
    'bb84-decoy-infinite',
    'bb84-decoy-vacuum-weak',
    'bb84-decoy-finite',
    'tf-qkd',
    'pm-qkd',
    'mdi-qkd',
    'cv-qkd-gg02',
    'plob',
    'tgw',
  ];
  assert.deepEqual(Object.keys(MODELS).sort(), [...names].sort());
  for (const m of Object.values(MODELS)) {
    assert.ok(m.source.length > 10 && m.title.length > 5, m.name);
    assert.equal(m.kind === 'bound', m.name === 'plob' || m.name === 'tgw');
  }
  assert.equal(MODELS['tf-qkd']!.repeaterless, false);
  assert.equal(MODELS['pm-qkd']!.repeaterless, false);
  assert.equal(MODELS['mdi-qkd']!.repeaterless, true);
});

test('keyRate throws UNKNOWN_MODEL for a name not in the registry and RangeError for a negative distance', () => {
  assert.throws(
    () => keyRate('bb84-nope', gys, 10),
    (e) => isQkdnetError(e, 'UNKNOWN_MODEL'),
  );
  assert.throws(
    () => maxDistanceKm('bb84-nope', gys),
    (e) => isQkdnetError(e, 'UNKNOWN_MODEL'),
  );
  assert.throws(() => keyRate('plob', gys, -1), RangeError);
  assert.throws(() => keyRate('plob', gys, NaN), RangeError);
});

test('keyRate is deterministic and memoised per params object', () => {
  const a = keyRate('bb84-decoy-vacuum-weak', gys, 73);
  const b = keyRate('bb84-decoy-vacuum-weak', { ...gys }, 73);
  assert.deepEqual(a, b);
  assert.equal(keyRate('bb84-decoy-vacuum-weak', gys, 73), a);
});

test('rates fall with distance for every model (property)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...FAST_MODELS, 'plob', 'tgw'),
      fc.constantFrom(gys, metro),
      fc.double({ min: 0, max: 250, noNaN: true }),
      fc.double({ min: 0.5, max: 50, noNaN: true }),
      (model, p, d, step) => {
        const r1 = keyRate(model, p, d).ratePerPulse;
        const r2 = keyRate(model, p, d + step).ratePerPulse;
        // Optimisation tolerance: golden section to 1e-5 relative in μ changes the optimum by ≪ 1e-6 relative.
        assert.ok(r2 <= r1 * (1 + 1e-6), `${model} ${d}→${d + step}: ${r1} → ${r2}`);
      },
    ),
    { seed: 42, numRuns: 120 },
  );
});

test('repeaterless protocols never exceed PLOB (property)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...FAST_MODELS.filter((m) => MODELS[m]!.repeaterless)),
      fc.constantFrom(gys, metro, PRESETS.micius!.params),
      fc.double({ min: 0, max: 400, noNaN: true }),
      (model, p, d) => {
        const r = keyRate(model, p, d).ratePerPulse;
        assert.ok(r <= plobBound(channelTransmittance(p, d)), `${model} at ${d} km: ${r}`);
      },
    ),
    { seed: 43, numRuns: 150 },
  );
});

test('rates are 0 past the maximum distance and positive just before it', () => {
  for (const model of FAST_MODELS.filter((m) => m !== 'cv-qkd-gg02')) {
    for (const p of [gys, metro]) {
      const max = maxDistanceKm(model, p);
      assert.ok(Number.isFinite(max) && max > 0, `${model}: ${max}`);
      assert.ok(keyRate(model, p, Math.max(0, max - 0.5)).ratePerPulse > 0, model);
      for (const extra of [0.05, 1, 10, 100])
        assert.equal(keyRate(model, p, max + extra).ratePerPulse, 0, model);
    }
  }
  const finite = maxDistanceKm('bb84-decoy-finite', gys, { blockSize: 1e9 });
  assert.ok(keyRate('bb84-decoy-finite', gys, finite - 0.5, { blockSize: 1e9 }).ratePerPulse > 0);
  for (const extra of [0.05, 5, 50])
    assert.equal(keyRate('bb84-decoy-finite', gys, finite + extra, { blockSize: 1e9 }).ratePerPulse, 0);
  assert.equal(maxDistanceKm('plob', gys), Infinity);
});

test('finite-key rates rise toward the asymptotic rate as the block grows', () => {
  // GYS at 20 km. Upper limit: infinite decoys with all pulses in the key basis (q → 1) = 2 × the q = 1/2 rate.
  const asymptotic = 2 * keyRate('bb84-decoy-infinite', gys, 20).ratePerPulse;
  let prev = 0;
  for (const blockSize of [1e8, 1e9, 1e10, 1e12, 1e14]) {
    const r = keyRate('bb84-decoy-finite', gys, 20, { blockSize }).ratePerPulse;
    assert.ok(r >= prev, `N = ${blockSize}: ${r} < ${prev}`);
    assert.ok(r < asymptotic, `N = ${blockSize}: ${r} ≥ ${asymptotic}`);
    prev = r;
  }
  assert.ok(prev > 0.6 * asymptotic, `N = 1e14 reaches only ${prev / asymptotic} of the asymptotic rate`);
  assert.ok(
    maxDistanceKm('bb84-decoy-finite', gys, { blockSize: 1e10 }) >
      maxDistanceKm('bb84-decoy-finite', gys, { blockSize: 1e9 }),
  );
});
