/**
 * The acceptance checks on the real link engine: every attack at its default strength detected with
 * probability ≥ 99% within ≤ 3 blocks of 10⁵ sifted bits, ≤ 10⁻³ false alarms per attack-free block over
 * 10⁴ blocks, no key from attacked blocks once detected, and intercept-resend on 5% of pulses detected
 * within ≤ 2 blocks on average. Count-level sampling of the engine's law (link-telemetry.ts) for the full
 * run; the detection-by-detection engine (`simulateBlock`) for a smaller run of the same checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRESETS } from '../physics/index.ts';
import { ATTACK_KINDS } from '../qkd/index.ts';
import { EVALUATE_DEFAULT_STRENGTH, evaluateDetection, type BlockSimulator } from './evaluate.ts';
import { linkBlockSimulator } from './link-telemetry.ts';

function simulator(kind: (typeof ATTACK_KINDS)[number], exact: boolean): BlockSimulator {
  const attack = { kind, param: EVALUATE_DEFAULT_STRENGTH[kind] };
  return linkBlockSimulator({ params: PRESETS.gys!.params, distanceKm: 25, attack, exact });
}

for (const kind of ATTACK_KINDS) {
  test(`${kind} at its default strength: P(detect ≤ 3 blocks) ≥ 99%, false alarms ≤ 1e-3/block over 1e4 blocks`, () => {
    const { result } = evaluateDetection(simulator(kind, false), {
      attack: kind,
      strength: EVALUATE_DEFAULT_STRENGTH[kind],
      trials: 200,
      nullBlocks: 10_000,
      seed: 2026,
    });
    assert.ok(result.detection_probability >= 0.99, JSON.stringify(result));
    assert.ok(result.false_alarm_rate_per_block <= 1e-3, JSON.stringify(result));
    assert.equal(result.keys_from_attacked_blocks, 0);
    if (kind === 'intercept-resend') assert.ok(result.mean_blocks_to_detect! <= 2);
    assert.ok(Math.abs(result.sifted_bits_per_block - 1e5) < 3000);
  });
}

test('the same checks hold on the detection-by-detection engine (intercept-resend 5%, pns, blinding)', () => {
  for (const kind of ['intercept-resend', 'pns', 'blinding'] as const) {
    const { result } = evaluateDetection(simulator(kind, true), {
      attack: kind,
      strength: EVALUATE_DEFAULT_STRENGTH[kind],
      trials: 10,
      nullBlocks: 150,
      calibrationBlocks: 150,
      seed: 7,
    });
    assert.equal(result.detection_probability, 1, JSON.stringify(result));
    assert.equal(result.keys_from_attacked_blocks, 0);
    assert.ok(result.false_alarm_rate_per_block <= 1 / 150, JSON.stringify(result));
  }
});
