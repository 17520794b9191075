import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRng } from '../common/index.ts';
import { PRESETS } from '../physics/index.ts';
import { simulateBlock } from './engine.ts';
import { sift } from './sift.ts';

test('sift keeps exactly the matching-basis detections, in order, with their bits and classes (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1e6 }),
      fc.double({ min: 0.2, max: 0.9, noNaN: true }),
      (seed, bias) => {
        const b = simulateBlock(
          {
            linkId: 's',
            blockId: seed,
            pulses: 2e5,
            params: { ...PRESETS.gys!.params, basisBiasZ: bias },
            distanceKm: 1,
          },
          createRng(seed),
        );
        const s = sift(b.raw);
        const { raw } = b;
        const expectZ: number[] = [];
        const expectX: number[] = [];
        for (let i = 0; i < raw.count; i++) {
          if (raw.aliceBasis.get(i) !== raw.bobBasis.get(i)) continue;
          (raw.aliceBasis.get(i) === 0 ? expectZ : expectX).push(i);
        }
        assert.deepEqual(Array.from(s.key.detection), expectZ);
        assert.deepEqual(Array.from(s.test.detection), expectX);
        s.key.detection.forEach((i, j) => {
          assert.equal(s.key.alice.get(j), raw.aliceBit.get(i));
          assert.equal(s.key.bob.get(j), raw.bobBit.get(i));
          assert.equal(s.key.intensity[j], raw.intensity[i]);
        });
        let sifted = 0;
        for (const c of Object.values(s.counts)) sifted += c.Z.sifted;
        assert.equal(sifted, s.key.alice.length);
      },
    ),
    { seed: 11, numRuns: 20 },
  );
});
