import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRng } from '../common/index.ts';
import { gf128, gf128MulNaive, gf128MulX, Gf128Multiplier } from './gf128.ts';

const elem = fc
  .array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 4, maxLength: 4 })
  .map((w) => Uint32Array.from(w));

test('x·x¹²⁷ reduces to x⁷ + x² + x + 1 (the GCM polynomial, SP 800-38D §6.3)', () => {
  const a = gf128(0, 0, 0, 0x80000000); // x^127
  gf128MulX(a);
  assert.deepEqual([...a], [0x87, 0, 0, 0]);
});

test('(x + 1)² = x² + 1 and 1 is the identity', () => {
  assert.deepEqual([...gf128MulNaive(gf128(3), gf128(3))], [5, 0, 0, 0]);
  const m = new Gf128Multiplier(gf128(1));
  assert.deepEqual([...m.mul(gf128(0xdeadbeef, 1, 2, 3))], [0xdeadbeef, 1, 2, 3]);
});

test('the table multiplier equals shift-and-add multiplication (property)', () => {
  fc.assert(
    fc.property(elem, elem, (a, b) => {
      return new Gf128Multiplier(b).mul(a).every((w, i) => w === gf128MulNaive(a, b)[i]);
    }),
    { seed: 1, numRuns: 200 },
  );
});

test('multiplication is commutative and distributes over XOR (property)', () => {
  fc.assert(
    fc.property(elem, elem, elem, (a, b, c) => {
      const ab = gf128MulNaive(a, b);
      const ba = gf128MulNaive(b, a);
      const bc = b.map((w, i) => w ^ c[i]!);
      const left = gf128MulNaive(a, bc);
      const right = gf128MulNaive(a, c).map((w, i) => w ^ ab[i]!);
      return ab.every((w, i) => w === ba[i]) && left.every((w, i) => w === right[i]);
    }),
    { seed: 2, numRuns: 100 },
  );
});

test('absorbBlocks equals a mulInPlace per block (Horner), on random inputs', () => {
  const rng = createRng('gf128-absorb');
  for (let trial = 0; trial < 20; trial++) {
    const mul = new Gf128Multiplier(rng.fillUint32(new Uint32Array(4)));
    const words = rng.fillUint32(new Uint32Array(4 * (1 + rng.nextInt(30))));
    const start = rng.fillUint32(new Uint32Array(4));
    const want = start.slice();
    for (let i = 0; i < words.length; i += 4) {
      for (let w = 0; w < 4; w++) want[w]! ^= words[i + w]!;
      mul.mulInPlace(want);
    }
    const got = start.slice();
    mul.absorbBlocks(got, words, 0, words.length);
    assert.deepEqual(got, want);
  }
});
