import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitArray, createRng } from '../common/index.ts';
import { fftMultiplyAddBits, forwardDif, inverseDit } from './fft-multiply.ts';
import { MAS_FFT_MIN_BITS, multiplyAddShiftBigInt, multiplyAddShiftHash } from './privacy-amplification.ts';
import { bitsToBigInt, bigIntToBits } from './privacy-amplification.ts';

test('forward DIF then inverse DIT returns L times the input (radix-4 with and without a radix-2 stage)', () => {
  for (const L of [4, 8, 64, 512, 2048, 1 << 15, 1 << 16]) {
    const rng = createRng(L);
    const re = Float64Array.from({ length: L }, () => rng.nextFloat() - 0.5);
    const im = Float64Array.from({ length: L }, () => rng.nextFloat() - 0.5);
    const [r0, i0] = [re.slice(), im.slice()];
    forwardDif(re, im);
    // Bin 0 of the spectrum (position 0 in bit-reversed order too) is the plain sum.
    assert.ok(Math.abs(re[0]! - r0.reduce((a, b) => a + b, 0)) < 1e-9);
    inverseDit(re, im);
    for (let k = 0; k < L; k++) {
      assert.ok(Math.abs(re[k]! / L - r0[k]!) < 1e-12, `L ${L} re ${k}`);
      assert.ok(Math.abs(im[k]! / L - i0[k]!) < 1e-12, `L ${L} im ${k}`);
    }
  }
});

test('the FFT multiply-add equals BigInt arithmetic at any offsets and lengths (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5000 }),
      fc.integer({ min: 1, max: 5000 }),
      fc.integer({ min: 0, max: 2 ** 31 }),
      (n, m, seed) => {
        const rng = createRng(seed);
        const key = BitArray.random(n, rng);
        const s = BitArray.random(2 * (n + m), rng);
        const w = n + m;
        const got = fftMultiplyAddBits(s.words, 0, w, w, key.words, n, n, w);
        const a = bitsToBigInt(s, 0, w);
        const b = bitsToBigInt(s, w, 2 * w);
        const want = bigIntToBits(BigInt.asUintN(w, a * bitsToBigInt(key) + b) >> BigInt(n), m);
        return got !== null && new BitArray(m, got).equals(want);
      },
    ),
    { seed: 7, numRuns: 60 },
  );
});

test('multiply-add-shift takes the FFT path for long keys and agrees with the BigInt reference', () => {
  const rng = createRng('mas-long');
  for (const [n, m] of [
    [MAS_FFT_MIN_BITS, 1],
    [100003, 40001],
    [1_000_000, 400_000],
  ] as const) {
    const key = BitArray.random(n, rng);
    const seed = BitArray.random(2 * (n + m), rng);
    assert.ok(multiplyAddShiftHash(key, seed, m).equals(multiplyAddShiftBigInt(key, seed, m)), `n ${n}`);
  }
});

test('at n = 10^7 (transform 2^21, 12-bit digits) the FFT multiply-add equals the BigInt product bit for bit', () => {
  const rng = createRng('mas-1e7');
  const n = 10_000_000;
  const m = 4_000_000;
  const key = BitArray.random(n, rng);
  const seed = BitArray.random(2 * (n + m), rng);
  const w = n + m;
  const got = fftMultiplyAddBits(seed.words, 0, w, w, key.words, n, n, w);
  assert.ok(got, 'the exactness checks passed (no BigInt fallback)');
  assert.ok(new BitArray(m, got).equals(multiplyAddShiftBigInt(key, seed, m)));
  // A key of all ones and a seed of alternating bits (digits at the balanced range's edges) as well.
  const ones = new BitArray(n);
  ones.words.fill(0xffffffff);
  if (n & 31) ones.words[ones.words.length - 1]! &= (1 << (n & 31)) - 1;
  const alt = new BitArray(2 * w);
  alt.words.fill(0xaaaaaaaa);
  const got2 = fftMultiplyAddBits(alt.words, 0, w, w, ones.words, n, n, w);
  assert.ok(got2 === null || new BitArray(m, got2).equals(multiplyAddShiftBigInt(ones, alt, m)));
  assert.ok(multiplyAddShiftHash(ones, alt, m).equals(multiplyAddShiftBigInt(ones, alt, m)));
});
