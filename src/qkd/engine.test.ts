import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRng } from '../common/index.ts';
import { PRESETS, errorE, fiberTransmittance, gainQ, type LinkParams } from '../physics/index.ts';
import { parseAttack } from './attacks.ts';
import { simulateBlock } from './engine.ts';
import { countsByClass } from './sift.ts';
import type { LinkBlockConfig } from './types.ts';

const GYS: LinkParams = PRESETS.gys!.params;

function block(over: Partial<LinkBlockConfig> = {}, seed: number | string = 1) {
  return simulateBlock(
    { linkId: 'a-b', blockId: 7, pulses: 1e9, params: GYS, distanceKm: 50, ...over },
    createRng(seed),
  );
}

/** η = η_Bob·η_ch of GYS at L km (Lo–Ma–Chen 2005 conventions, physics-pitfalls note). */
function etaGys(km: number): number {
  return (
    GYS.detectorEfficiency *
    fiberTransmittance({ distanceKm: km, attenuationDbPerKm: GYS.attenuationDbPerKm, extraLossDb: 0 })
  );
}

test('gains and QBERs per intensity match Lo–Ma–Chen 2005 (Q_μ = Y0 + 1 − e^{−ημ}, E_μQ_μ = e0·Y0 + e_d(1 − e^{−ημ})) within 4σ', () => {
  const b = block({ distanceKm: 25, pulses: 5e8 });
  const eta = etaGys(25);
  const counts = countsByClass(b.raw);
  for (const cls of b.raw.intensities) {
    const c = counts[cls.name]!;
    const sent = c.Z.sent + c.X.sent;
    const gain = (c.Z.detected + c.X.detected) / sent;
    const q = gainQ(cls.mu, eta, GYS.darkCountProbability);
    // Binomial σ of the gain; the engine's exact receiver differs from the formula by at most
    // Y0·(1 − e^{−ημ}) (two detectors' dark counts overlapping a photon click), added to the tolerance.
    const tolGain =
      4 * Math.sqrt((q * (1 - q)) / sent) + GYS.darkCountProbability * (1 - Math.exp(-eta * cls.mu));
    assert.ok(Math.abs(gain - q) < tolGain, `${cls.name}: gain ${gain} vs ${q} (±${tolGain})`);
    for (const basis of ['Z', 'X'] as const) {
      const e = errorE(cls.mu, eta, GYS.darkCountProbability, GYS.misalignmentError);
      const n = c[basis].sifted;
      const qber = c[basis].errors / n;
      // σ of a binomial proportion, plus double clicks (≤ (ημ)² of the gain, half of them errors).
      const tolE = 4 * Math.sqrt((e * (1 - e)) / n) + (eta * cls.mu) ** 2;
      assert.ok(Math.abs(qber - e) < tolE, `${cls.name}/${basis}: QBER ${qber} vs ${e} (±${tolE})`);
    }
  }
});

test('the same seed gives identical raw records; another block id gives a different one', () => {
  const a = block({ pulses: 1e8 }, 'same');
  const b = block({ pulses: 1e8 }, 'same');
  assert.equal(a.raw.count, b.raw.count);
  assert.deepEqual(a.raw.slot, b.raw.slot);
  for (const f of ['aliceBit', 'aliceBasis', 'bobBit', 'bobBasis', 'doubleClick'] as const)
    assert.ok(a.raw[f].equals(b.raw[f]), f);
  assert.deepEqual(a.raw.intensity, b.raw.intensity);
  assert.deepEqual(a.raw.sent, b.raw.sent);
  assert.deepEqual(a.telemetry, b.telemetry);
  const c = block({ pulses: 1e8, blockId: 8 }, 'same');
  assert.notDeepEqual(c.raw.slot, a.raw.slot);
});

test('the raw record is consistent: ascending slots inside the block, pulses per class sum to N', () => {
  const b = block({ pulses: 123_456_789 });
  const { raw } = b;
  assert.equal(raw.slot.length, raw.count);
  for (let i = 1; i < raw.count; i++) assert.ok(raw.slot[i]! > raw.slot[i - 1]!);
  assert.ok(raw.slot[raw.count - 1]! < raw.pulses);
  assert.equal(
    raw.sent.reduce((s, v) => s + v, 0),
    raw.pulses,
  );
  for (const c of Object.values(countsByClass(raw)))
    for (const basis of ['Z', 'X'] as const) assert.ok(c[basis].detected <= c[basis].sent);
  // Sent share of each class ≈ its probability (4σ of a binomial proportion).
  raw.intensities.forEach((cls, k) => {
    const sent = raw.sent[k * 4]! + raw.sent[k * 4 + 1]! + raw.sent[k * 4 + 2]! + raw.sent[k * 4 + 3]!;
    const sd = Math.sqrt(cls.probability * (1 - cls.probability) * raw.pulses);
    assert.ok(Math.abs(sent - cls.probability * raw.pulses) < 4 * sd, cls.name);
  });
});

test('dead time gives the non-paralysable rate P/(1 + P·d) and afterpulses add P_ap per click', () => {
  const rate = 1e9;
  const params = { ...GYS, repetitionRateHz: rate, deadTimeNs: 10_000, afterpulseProbability: 0.05 };
  const b = simulateBlock({ linkId: 'dt', blockId: 1, pulses: 2e9, params, distanceKm: 5 }, createRng(3));
  const eta = etaGys(5);
  const p =
    0.7 * gainQ(0.5, eta, GYS.darkCountProbability) +
    0.2 * gainQ(0.1, eta, GYS.darkCountProbability) +
    0.1 * GYS.darkCountProbability;
  const d = 10_000 - 1; // gates lost after each click: ⌈τ·R⌉ − 1
  // A click starts a cycle of 1 + d gates, then with P_ap another such cycle: renewal theory gives
  // clicks per gate = (1/(1−a))/((1 + d)/(1−a) + (1−P)/P) with a = P_ap (live gates wait Geometric(P)).
  const a = 0.05;
  const expected = 1 / (1 - a) / ((1 + d) / (1 - a) + (1 - p) / p);
  const got = b.raw.count / b.raw.pulses;
  // Renewal counting: relative σ ≈ 1/sqrt(count); 5σ.
  assert.ok(Math.abs(got / expected - 1) < 5 / Math.sqrt(b.raw.count), `${got} vs ${expected}`);
  let minGap = Infinity;
  for (let i = 1; i < b.raw.count; i++) minGap = Math.min(minGap, b.raw.slot[i]! - b.raw.slot[i - 1]!);
  assert.ok(minGap >= 1 + d, 'no click inside a dead time');
});

test('telemetry fills every quantum field of the contract', () => {
  const t = block({ pulses: 1e8, startNs: 5_000 }).telemetry;
  for (const f of [
    'pulses',
    'detections',
    'doubleClicks',
    'counts',
    'qberZ',
    'qberX',
    'detectionRateHz',
    'detectionRateByBobBasis',
    'monitorPowerW',
    'blockDurationS',
  ] as const)
    assert.notEqual(t[f], undefined, f);
  assert.equal(t.blockDurationS, 1e8 / GYS.repetitionRateHz);
  assert.equal(t.timeNs, 5_000 + 50_000_000_000);
  const byBasis = t.detectionRateByBobBasis!;
  assert.ok(Math.abs(byBasis.Z / byBasis.X - 1) < 0.02, 'an honest receiver detects equally in both bases');
});

test('invalid configurations are refused with a RangeError', () => {
  assert.throws(() => block({ pulses: 1.5 }), RangeError);
  assert.throws(() => block({ pulses: -1 }), RangeError);
  assert.throws(() => block({ transmittance: 2 }), RangeError);
  assert.throws(() => block({ intensities: [{ name: 's', mu: 0.5, probability: 0.5 }] }), RangeError);
  const twins = [
    { name: 's', mu: 0.5, probability: 0.5 },
    { name: 's', mu: 0.1, probability: 0.5 },
  ];
  assert.throws(() => block({ intensities: twins }), /distinct/);
  assert.throws(() => block({ pulses: 1e15, distanceKm: 0 }), /split it into smaller blocks/);
});

test('invariants hold for any link, source and attack (property): slots, pulses per cell, counts, Eve', () => {
  const kinds = [
    undefined,
    'intercept-resend:0.3',
    'pns',
    'blinding:0.5',
    'trojan-horse:1',
    'time-shift:0.9',
    'jamming:1e4',
    'fiber-cut',
  ];
  fc.assert(
    fc.property(
      fc.record({
        seed: fc.integer(),
        km: fc.double({ min: 0, max: 250, noNaN: true }),
        bias: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
        deadNs: fc.constantFrom(0, 100, 5000),
        ap: fc.constantFrom(0, 0.02, 0.3),
        attack: fc.constantFrom(...kinds),
        pulses: fc.integer({ min: 1, max: 300_000 }),
      }),
      (c) => {
        const params = {
          ...GYS,
          basisBiasZ: c.bias,
          deadTimeNs: c.deadNs,
          afterpulseProbability: c.ap,
          repetitionRateHz: 1e8,
        };
        const b = simulateBlock(
          {
            linkId: 'p',
            blockId: 1,
            pulses: c.pulses,
            params,
            distanceKm: c.km,
            ...(c.attack ? { attack: parseAttack(c.attack) } : {}),
          },
          createRng(c.seed),
        );
        const { raw, telemetry, eve } = b;
        for (let i = 1; i < raw.count; i++) assert.ok(raw.slot[i]! > raw.slot[i - 1]!);
        if (raw.count > 0) assert.ok(raw.slot[raw.count - 1]! < c.pulses && raw.slot[0]! >= 0);
        assert.equal(
          raw.sent.reduce((s, v) => s + v, 0),
          c.pulses,
        );
        let detected = 0;
        let zSifted = 0;
        for (const cls of Object.values(telemetry.counts!))
          for (const basis of ['Z', 'X'] as const) {
            const x = cls[basis];
            assert.ok(x.errors <= x.sifted && x.sifted <= x.detected && x.detected <= x.sent);
            detected += x.detected;
            if (basis === 'Z') zSifted += x.sifted;
          }
        assert.equal(detected, raw.count);
        assert.ok(eve.knownKeyBits <= zSifted && eve.informationBits <= zSifted + 1e-9);
        assert.ok(telemetry.doubleClicks! <= raw.count);
      },
    ),
    { seed: 2024, numRuns: 60 },
  );
});

test('an explicit transmittance replaces the distance; a fiber cut overrides both; progress is reported in order', () => {
  const eta = fiberTransmittance({
    distanceKm: 30,
    attenuationDbPerKm: GYS.attenuationDbPerKm,
    extraLossDb: 0,
  });
  const byEta = block({ distanceKm: 999, transmittance: eta, pulses: 1e8 }, 'eta');
  const byKm = block({ distanceKm: 30, pulses: 1e8 }, 'eta');
  assert.equal(byEta.raw.count, byKm.raw.count, 'same law, same seed, same detections');
  const cut = block({ transmittance: 1, attack: parseAttack('fiber-cut'), pulses: 1e8 });
  assert.ok(cut.raw.count < 1e8 * GYS.darkCountProbability * 2);
  const seen: number[] = [];
  simulateBlock({ linkId: 'p', blockId: 1, pulses: 1e9, params: GYS, distanceKm: 10 }, createRng(1), {
    onProgress: (done) => seen.push(done),
  });
  assert.ok(seen.length > 10);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]! && seen[i]! < 1e9);
});
