import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitArray, createRng } from '../common/index.ts';
import { gf128MulNaive, Gf128Multiplier } from './gf128.ts';
import {
  polyHash,
  polyHashCollisionBound,
  randomHashKey,
  verificationMessage,
  verifyKey,
} from './poly-hash.ts';

/** Horner's rule with the naive multiplication, straight from the definition. */
function naivePolyHash(r: Uint32Array, bits: BitArray): Uint32Array {
  let h: Uint32Array = new Uint32Array(4);
  for (let b = 0; b * 128 < bits.length; b++) {
    const m = new Uint32Array(4);
    for (let i = 0; i < 128 && b * 128 + i < bits.length; i++)
      if (bits.get(b * 128 + i)) m[i >>> 5]! |= 1 << (i & 31);
    h = gf128MulNaive(
      h.map((w, i) => w ^ m[i]!),
      r,
    );
  }
  h[0]! ^= bits.length;
  return gf128MulNaive(h, r);
}

test('polyHash equals a naive Horner evaluation on small messages (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 700 }), fc.integer({ min: 0, max: 2 ** 31 }), (n, seed) => {
      const rng = createRng(seed);
      const r = randomHashKey(rng);
      const bits = BitArray.random(n, rng);
      return polyHash(new Gf128Multiplier(r), bits.words, n).every((w, i) => w === naivePolyHash(r, bits)[i]);
    }),
    { seed: 3, numRuns: 120 },
  );
});

test('messages of zeros of different lengths hash differently (the length block)', () => {
  const m = new Gf128Multiplier(randomHashKey(createRng(1)));
  const a = polyHash(m, new Uint32Array(8), 200);
  const b = polyHash(m, new Uint32Array(8), 201);
  assert.notDeepEqual([...a], [...b]);
});

test('the collision bound is (L+1)/2^128 and stays below 2^-64 for a 10⁷-bit key', () => {
  assert.equal(polyHashCollisionBound(256), 3 / 2 ** 128);
  assert.ok(polyHashCollisionBound(1e7) < 2 ** -64);
});

test('verification accepts equal keys and rejects any single flipped bit (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3000 }),
      fc.nat(),
      fc.integer({ min: 0, max: 2 ** 31 }),
      (n, at, seed) => {
        const rng = createRng(seed);
        const key = BitArray.random(n, rng);
        const msg = verificationMessage(key, randomHashKey(rng));
        const bad = key.clone();
        bad.flip(at % n);
        return verifyKey(key.clone(), msg) && !verifyKey(bad, msg);
      },
    ),
    { seed: 5, numRuns: 100 },
  );
});
