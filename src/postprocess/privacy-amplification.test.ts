import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitArray, createRng } from '../common/index.ts';
import {
  bigIntToBits,
  bitsToBigInt,
  multiplyAddShiftBigInt,
  multiplyAddShiftHash,
  paSeedBits,
  privacyAmplify,
  randomPaSeed,
  toeplitzHashFft,
  toeplitzHashNaive,
} from './privacy-amplification.ts';

const sizes = fc.tuple(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 2 ** 31 }));

test('Toeplitz by FFT equals the O(n·m) definition on small sizes (property)', () => {
  fc.assert(
    fc.property(sizes, fc.double({ min: 0, max: 1, noNaN: true }), ([n, seed], frac) => {
      const m = Math.floor(frac * n);
      const rng = createRng(seed);
      const key = BitArray.random(n, rng);
      const s = randomPaSeed('toeplitz', n, m, rng);
      return toeplitzHashFft(key, s, m).equals(toeplitzHashNaive(key, s, m));
    }),
    { seed: 6, numRuns: 120 },
  );
});

test('multiply-add-shift equals ((a·x + b) mod 2^(n+m)) >> n computed directly (property)', () => {
  fc.assert(
    fc.property(sizes, fc.double({ min: 0, max: 1, noNaN: true }), ([n, seed], frac) => {
      const m = Math.max(1, Math.floor(frac * n));
      const rng = createRng(seed);
      const key = BitArray.random(n, rng);
      const s = randomPaSeed('multiply-add-shift', n, m, rng);
      const a = bitsToBigInt(s, 0, n + m);
      const b = bitsToBigInt(s, n + m, 2 * (n + m));
      const direct = BigInt.asUintN(n + m, a * bitsToBigInt(key) + b) >> BigInt(n);
      return multiplyAddShiftHash(key, s, m).equals(bigIntToBits(direct, m));
    }),
    { seed: 7, numRuns: 120 },
  );
});

test('BigInt conversion round-trips and reads bit i as 2^i', () => {
  const b = BitArray.fromString('1011');
  assert.equal(bitsToBigInt(b), 0b1101n);
  const r = BitArray.random(1000, createRng(3));
  assert.ok(bigIntToBits(bitsToBigInt(r), 1000).equals(r));
});

test('table-driven BigInt conversions equal bit-by-bit definitions at any offset and length (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 700 }), fc.nat(), fc.nat(), fc.nat(), (len, f, t, seed) => {
      const bits = BitArray.random(len, createRng(seed));
      const from = len === 0 ? 0 : f % (len + 1);
      const to = from + (len === 0 ? 0 : t % (len - from + 1));
      let naive = 0n;
      for (let i = to - 1; i >= from; i--) naive = (naive << 1n) | BigInt(bits.get(i));
      const x = bitsToBigInt(bits, from, to);
      const back = bigIntToBits(x, to - from);
      let same = back.length === to - from;
      for (let i = from; i < to; i++) same &&= back.get(i - from) === bits.get(i);
      return x === naive && same;
    }),
    { seed: 8, numRuns: 300 },
  );
});

/** Fraction of all seeds on which x and y collide, by enumeration. */
function collisionFraction(
  family: 'toeplitz' | 'multiply-add-shift',
  n: number,
  m: number,
  x: number,
  y: number,
) {
  const sb = paSeedBits(family, n, m);
  let c = 0;
  for (let s = 0; s < 2 ** sb; s++) {
    const seed = new BitArray(sb, Uint32Array.of(s));
    const kx = new BitArray(n, Uint32Array.of(x));
    const ky = new BitArray(n, Uint32Array.of(y));
    if (privacyAmplify(family, kx, seed, m).equals(privacyAmplify(family, ky, seed, m))) c++;
  }
  return c / 2 ** sb;
}

// Two-universality (the property the leftover hash lemma needs), checked exhaustively on tiny sizes:
// every pair of distinct inputs collides on exactly 2^-m of the seeds (both families are exact, not ε-almost).
test('both families collide on exactly 2^-m of seeds for every pair of inputs (exhaustive, n = 3, m = 2)', () => {
  for (const family of ['toeplitz', 'multiply-add-shift'] as const)
    for (let x = 0; x < 8; x++)
      for (let y = x + 1; y < 16; y++)
        assert.equal(collisionFraction(family, 4, 2, x, y), 0.25, `${family} ${x} ${y}`);
});

test('output has the requested length; zero length gives an empty key; bad sizes are refused', () => {
  const rng = createRng(8);
  const key = BitArray.random(500, rng);
  for (const f of ['toeplitz', 'multiply-add-shift'] as const) {
    assert.equal(privacyAmplify(f, key, randomPaSeed(f, 500, 123, rng), 123).length, 123);
    assert.equal(privacyAmplify(f, key, randomPaSeed(f, 500, 0, rng), 0).length, 0);
    assert.throws(() => privacyAmplify(f, key, new BitArray(3), 10), RangeError);
    assert.throws(() => privacyAmplify(f, key, randomPaSeed(f, 500, 501, rng), 501), RangeError);
  }
});

test('a seed changed in place hashes with its new value (no cache keyed by the mutable seed object)', () => {
  const n = 64;
  const m = 16;
  const key = new BitArray(n);
  for (let i = 0; i < n; i += 3) key.set(i, 1);
  const seed = new BitArray(2 * (n + m));
  seed.set(0, 1); // a = 1, b = 0: h(x) = ⌊x / 2ⁿ⌋ mod 2^m = 0
  const first = multiplyAddShiftBigInt(key, seed, m);
  seed.set(n, 1); // a = 1 + 2ⁿ: now h(x) = x mod 2^m, the low m bits of the key
  const second = multiplyAddShiftBigInt(key, seed, m);
  assert.equal(first.popcount(), 0);
  for (let i = 0; i < m; i++) assert.equal(second.get(i), key.get(i), `bit ${i}`);
});
