import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../common/index.ts';
import { PRESETS } from '../physics/index.ts';
import { sampleBlockCounts } from './count-sampler.ts';
import {
  GATE_EDGE_PROBABILITY,
  gateEdgeProbability,
  hasDetectorRandomisation,
  MISMATCH_AT_EDGE,
} from './detector-randomisation.ts';
import { buildModel } from './model.ts';
import type { LinkBlockConfig } from './types.ts';

const gys = PRESETS.gys!.params;
const cfg = (randomised: boolean, m = 0.3): LinkBlockConfig => ({
  linkId: 'l',
  blockId: 1,
  pulses: 4e7,
  params: { ...gys, detectorRandomisation: randomised ? 1 : 0 },
  distanceKm: 25,
  attack: { kind: 'time-shift', param: m },
});

test('a random detector-bit mapping leaves the time-shift attacker no information; the clicks it costs remain', () => {
  const plain = buildModel(cfg(false));
  const random = buildModel(cfg(true));
  assert.ok(plain.infoPerUnknownBit > 0.01, `${plain.infoPerUnknownBit}`);
  assert.equal(random.infoPerUnknownBit, 0);
  assert.equal(random.detectProbability, plain.detectProbability);
  assert.equal(hasDetectorRandomisation(cfg(true)), true);
  assert.equal(hasDetectorRandomisation({ ...cfg(true), params: gys }), false);
});

test('time-shifted detections arrive off-centre in the gate in proportion to the mismatch', () => {
  const { attack: _none, ...honest } = cfg(true);
  assert.equal(gateEdgeProbability(honest), GATE_EDGE_PROBABILITY);
  assert.ok(Math.abs(gateEdgeProbability(cfg(true, MISMATCH_AT_EDGE / 2)) - (0.01 + 0.99 * 0.5)) < 1e-12);
  assert.equal(gateEdgeProbability(cfg(true, 0.9)), 1);
  const t = sampleBlockCounts(cfg(true, 0.02), createRng(4)).telemetry;
  const share = t.gateEdgeDetections! / t.detections!;
  const expected = gateEdgeProbability(cfg(true, 0.02));
  assert.ok(
    Math.abs(share - expected) < 5 * Math.sqrt((expected * (1 - expected)) / t.detections!),
    `${share}`,
  );
  assert.equal(sampleBlockCounts(cfg(false), createRng(4)).telemetry.gateEdgeDetections, undefined);
});
