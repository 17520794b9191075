import { test } from 'node:test';
import fc from 'fast-check';
import { BitArray, createRng } from '../common/index.ts';
import assert from 'node:assert/strict';
import { bitsToBytes, concatBits, copyBits } from './bit-utils.ts';

test('concatBits equals concatenating the bit strings (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 6 }), fc.nat(), (lengths, seed) => {
      const rng = createRng(seed);
      const parts = lengths.map((n) => BitArray.random(n, rng));
      return concatBits(parts).toString() === parts.map((p) => p.toString()).join('');
    }),
    { seed: 11, numRuns: 200 },
  );
});

test('copyBits moves any range to any offset (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), fc.nat(), fc.nat(), fc.nat(), (n, a, b, seed) => {
      const src = BitArray.random(n, createRng(seed));
      const from = a % n;
      const count = b % (n - from + 1);
      const dst = new BitArray(count + 37);
      copyBits(src, from, count, dst, 37);
      return dst.slice(37).toString() === src.slice(from, from + count).toString();
    }),
    { seed: 12, numRuns: 200 },
  );
});

test('bitsToBytes equals BitArray.toBytes (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 300 }), fc.nat(), (n, seed) => {
      const b = BitArray.random(n, createRng(seed));
      assert.deepEqual(bitsToBytes(b), b.toBytes());
    }),
    { seed: 9, numRuns: 200 },
  );
});
