import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, type TelemetrySample } from '../common/index.ts';
import { PRESETS } from '../physics/index.ts';
import type { AttackSpec } from '../qkd/index.ts';
import { DetectionEngine } from './engine.ts';
import { linkBlockSimulator } from './link-telemetry.ts';
import { modelFromParams, modelFromTelemetry } from './model.ts';

// GYS at 25 km with Bob's countermeasures fitted (the preset has none: switched on here).
const params = { ...PRESETS.gys!.params, brightLightWatchdog: 1, detectorRandomisation: 1 };
const PULSES = 4e7;
const blocks = (attack: AttackSpec | undefined, n: number, seed: string): TelemetrySample[] => {
  const sim = linkBlockSimulator({ params, distanceKm: 25, attack: attack ?? { kind: 'jamming', param: 0 } });
  const rng = createRng(seed);
  return Array.from(
    { length: n },
    (_, i) => sim({ blockId: i, pulses: PULSES, attacked: !!attack }, rng).telemetry,
  );
};
const model = modelFromTelemetry(blocks(undefined, 300, 'cal'));

test('the calibrated model knows the link has a watchdog and a gate-timing monitor', () => {
  assert.equal(model.watchdog, true);
  assert.ok(Math.abs(model.gateEdgeProb! - 0.01) < 0.001, `${model.gateEdgeProb}`);
});

for (const [attack, kind, detector] of [
  [{ kind: 'blinding', param: 0.001 }, 'blinding', 'bright-light'],
  [{ kind: 'time-shift', param: 0.005 }, 'time-shift', 'gate-timing'],
] as const)
  test(`${attack.kind} at ${attack.param} raises ${detector} on the first block and is attributed to ${kind}`, () => {
    for (const [i, s] of blocks(attack, 5, `attack:${kind}`).entries()) {
      const engine = new DetectionEngine();
      engine.addLink(s.linkId, model);
      const v = engine.observe(s);
      const alert = v.alerts.find((a) => a.kind === detector);
      assert.ok(alert, `block ${i}: ${v.alerts.map((a) => a.kind).join(', ')}`);
      assert.equal(alert.severity, 'critical');
      assert.equal(v.attribution?.attack, kind);
      const line = v.attribution!.evidence.find((e) => e.detector === detector)!;
      assert.ok(line.side === 'above' && line.value > line.limit, line.text);
    }
  });

test('attack-free blocks do not trip the countermeasures', () => {
  const engine = new DetectionEngine();
  let fired = 0;
  for (const [i, s] of blocks(undefined, 300, 'null').entries()) {
    if (i === 0) engine.addLink(s.linkId, model);
    if (engine.observe(s).alerts.some((a) => a.kind === 'bright-light' || a.kind === 'gate-timing')) fired++;
  }
  assert.ok(fired <= 1, `${fired} countermeasure alarms in 300 attack-free blocks`);
});

test('the analytic model carries the countermeasures the link parameters switch on (live links calibrated from it)', () => {
  const analytic = modelFromParams(params, 25);
  assert.equal(analytic.watchdog, true);
  assert.equal(analytic.gateEdgeProb, 0.01);
  const plain = modelFromParams(PRESETS.gys!.params, 25);
  assert.equal(plain.watchdog, undefined);
  assert.equal(plain.gateEdgeProb, undefined);
  const [s] = blocks({ kind: 'blinding', param: 0.001 }, 1, 'analytic');
  const engine = new DetectionEngine();
  engine.addLink(s!.linkId, analytic);
  assert.ok(engine.observe(s!).alerts.some((a) => a.kind === 'bright-light'));
});
