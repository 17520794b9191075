import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../common/index.ts';
import { PRESETS, gainQ, fiberTransmittance } from '../physics/index.ts';
import { simulateBlock } from './engine.ts';
import { estimate } from './estimate.ts';
import { sift } from './sift.ts';
import { parseAttack } from './attacks.ts';

const GYS = PRESETS.gys!.params;
const ETA50 =
  GYS.detectorEfficiency * fiberTransmittance({ distanceKm: 50, attenuationDbPerKm: 0.21, extraLossDb: 0 });

test('1e10 pulses at 50 km (GYS): ≈ 1.5e7 detections as Lo–Ma–Chen predict, a positive finite key, none under PNS', () => {
  const b = simulateBlock(
    { linkId: 'big', blockId: 1, pulses: 1e10, params: GYS, distanceKm: 50 },
    createRng('big'),
  );
  const expected = 1e10 * (0.7 * gainQ(0.5, ETA50, 1.7e-6) + 0.2 * gainQ(0.1, ETA50, 1.7e-6) + 0.1 * 1.7e-6);
  assert.ok(Math.abs(b.raw.count - expected) < 5 * Math.sqrt(expected), `${b.raw.count} vs ${expected}`);
  const e = estimate(sift(b.raw), b.raw);
  assert.equal(e.secure, true);
  assert.ok(e.keyLengthBits > 1e5, `key ${e.keyLengthBits}`);
  // Under PNS the same block yields nothing: the decoy statistics expose Eve.
  const pns = simulateBlock(
    { linkId: 'big', blockId: 1, pulses: 1e10, params: GYS, distanceKm: 50, attack: parseAttack('pns') },
    createRng('big'),
  );
  const ep = estimate(sift(pns.raw), pns.raw);
  assert.deepEqual([ep.secure, ep.reason], [false, 'decoy-inconsistent']);
});
