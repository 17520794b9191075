import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRng } from '../common/index.ts';
import { PRESETS } from '../physics/index.ts';
import { simulateBlock } from './engine.ts';
import { sift, tally } from './sift.ts';

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

test('tally (word-wise, class bytes four at a time) equals a bit-by-bit count, aligned or not (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 3 }), (seed, offset) => {
      const { raw } = simulateBlock(
        { linkId: 't', blockId: seed, pulses: 1e5, params: PRESETS.gys!.params, distanceKm: 1 },
        createRng(seed),
      );
      // The same record with its class bytes at an unaligned offset takes the byte-by-byte path.
      const moved = new Uint8Array(raw.count + offset).subarray(offset);
      moved.set(raw.intensity);
      for (const r of [raw, { ...raw, intensity: moved }]) {
        const K = r.intensities.length;
        const detected = new Float64Array(K * 4);
        const errors = new Float64Array(K * 4);
        for (let i = 0; i < r.count; i++) {
          const c = r.intensity[i]! * 4 + r.aliceBasis.get(i) * 2 + r.bobBasis.get(i);
          detected[c]!++;
          errors[c]! += r.aliceBit.get(i) ^ r.bobBit.get(i);
        }
        assert.deepEqual(tally(r), { detected, errors });
      }
    }),
    { seed: 12, numRuns: 10 },
  );
});
