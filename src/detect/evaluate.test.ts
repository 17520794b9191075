import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRESETS } from '../physics/index.ts';
import { modelFromParams } from './model.ts';
import { syntheticTelemetry, type Distortion } from './synthetic.ts';
import { evaluateDetection, rocCurve, type BlockSimulator } from './evaluate.ts';

const truth = modelFromParams(PRESETS.gys!.params, 25);
const simulator =
  (distortion: Distortion): BlockSimulator =>
  ({ blockId, pulses, attacked }, rng) => ({
    telemetry: syntheticTelemetry(
      truth,
      { linkId: 'l', blockId, pulses, ...(attacked ? { distortion } : {}) },
      rng,
    ),
  });

const small = { trials: 30, nullBlocks: 400, calibrationBlocks: 200, seed: 5 } as const;

test('a 5% intercept-resend footprint is detected in the first block, and no key leaves attacked blocks', () => {
  const { result } = evaluateDetection(simulator({ qberShift: 0.0125 }), {
    attack: 'ir',
    strength: 0.05,
    ...small,
  });
  assert.equal(result.detection_probability, 1);
  assert.equal(result.mean_blocks_to_detect, 1);
  assert.equal(result.keys_from_attacked_blocks, 0);
  assert.ok(result.false_alarm_rate_per_block <= 5 / 400, `FAR ${result.false_alarm_rate_per_block}`);
  assert.ok(Math.abs(result.sifted_bits_per_block - 1e5) < 2000, `sifted ${result.sifted_bits_per_block}`);
  assert.ok((result.alert_kinds['qber-high'] ?? 0) > 0);
});

test('an undetectable attack (no footprint) is reported as such, not as detected', () => {
  const { result } = evaluateDetection(simulator({}), { attack: 'none', strength: 0, ...small });
  assert.ok(result.detection_probability <= 0.1, `P_D ${result.detection_probability}`);
  assert.ok(result.attacked_blocks_with_key_before_detection > 0);
});

test('the same seed gives the same result; the ROC runs from few to many alarms', () => {
  const opts = { attack: 'ir', strength: 0.004, ...small, trials: 10, nullBlocks: 200 };
  const a = evaluateDetection(simulator({ qberShift: 0.001 }), opts);
  const b = evaluateDetection(simulator({ qberShift: 0.001 }), opts);
  assert.deepEqual(a.result, b.result);
  const roc = rocCurve(a.data, 3, [1e-9, 1e-3, 0.3]);
  assert.ok(roc[0]!.falseAlarmRate <= roc[2]!.falseAlarmRate);
  assert.ok(roc[0]!.detectionProbability <= roc[2]!.detectionProbability);
  assert.ok(roc[2]!.falseAlarmRate > 0.05, 'a 30% budget raises false alarms');
});
