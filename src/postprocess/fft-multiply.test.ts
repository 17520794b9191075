import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitArray, createRng } from '../common/index.ts';
import { fftMultiplyAddBits, multiplyPlan } from './fft-multiply.ts';
import { blockResidues, forwardDif, forwardMixed, inverseDit, inverseMixed } from './mixed-radix-fft.ts';
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

test('the mixed-radix transform puts frequency c·rev(p) + ρ(b) at position p of block b (naive DFT) and inverts', () => {
  for (const [c, M] of [
    [1, 32],
    [3, 16],
    [3, 32],
    [9, 16],
    [9, 64],
  ] as const) {
    const N = c * M;
    const rng = createRng(`mixed:${N}`);
    const re = Float64Array.from({ length: N }, () => rng.nextFloat() - 0.5);
    const im = Float64Array.from({ length: N }, () => rng.nextFloat() - 0.5);
    const [r0, i0] = [re.slice(), im.slice()];
    forwardMixed(re, im, c);
    const bits = Math.log2(M);
    const rev = (p: number) => {
      let r = 0;
      for (let i = 0; i < bits; i++) r |= ((p >>> i) & 1) << (bits - 1 - i);
      return r;
    };
    const rho = blockResidues(c);
    for (let b = 0; b < c; b++)
      for (let p = 0; p < M; p++) {
        const f = c * rev(p) + rho[b]!;
        let xr = 0;
        let xi = 0;
        for (let t = 0; t < N; t++) {
          const a = (-2 * Math.PI * ((f * t) % N)) / N;
          xr += r0[t]! * Math.cos(a) - i0[t]! * Math.sin(a);
          xi += r0[t]! * Math.sin(a) + i0[t]! * Math.cos(a);
        }
        assert.ok(
          Math.abs(re[b * M + p]! - xr) < 1e-9 && Math.abs(im[b * M + p]! - xi) < 1e-9,
          `N ${N} f ${f}`,
        );
      }
    inverseMixed(re, im, c);
    for (let k = 0; k < N; k++) {
      assert.ok(Math.abs(re[k]! / N - r0[k]!) < 1e-12, `N ${N} re ${k}`);
      assert.ok(Math.abs(im[k]! / N - i0[k]!) < 1e-12, `N ${N} im ${k}`);
    }
  }
});

test('at n = 10^7 the plan is 9·2^17 points of 12-bit digits, short of the full product and within the worst-case bound', () => {
  const n = 10_000_000;
  const w = n + 4_000_000;
  const plan = multiplyPlan(w, n, n, w);
  // ⌈1.4·10^7 / 12⌉ + 1 = 1,166,668 digits of a must fit: 9·2^17 = 1,179,648 (2^20 would need D = 14,
  // beyond the bound); the full linear product (2,000,002 digits) would need 2^21.
  assert.deepEqual([plan.N, plan.c, plan.D], [9 * 2 ** 17, 9, 12]);
  assert.ok(plan.bound < 0.5, `Percival bound ${plan.bound}`);
  // Wrapped-around terms stop below the output: k0 = 1,166,668 + 833,335 − 1 − 1,179,648 = 820,354.
  assert.equal(plan.k0, 820_354);
  assert.ok(plan.g0 + 4 <= Math.floor(n / plan.D));
});

test('the carry guard declines when the digits between the wrapped part and the output are all ones', () => {
  const rng = createRng('guard');
  const n = 20_000;
  const m = 8_000;
  const w = n + m;
  const plan = multiplyPlan(w, n, n, w);
  assert.ok(plan.k0 > 0, 'this size wraps around');
  const key = BitArray.random(n, rng);
  const seed = BitArray.random(2 * w, rng);
  const a = bitsToBigInt(seed, 0, w);
  const x = bitsToBigInt(key);
  // b chosen so that T = a·x + b has bits [D·k0, n) all ones above random low bits: any carry out of
  // the wrapped part flips the output.
  const ones = ((1n << BigInt(n - plan.D * plan.k0)) - 1n) << BigInt(plan.D * plan.k0);
  const target = ones | bitsToBigInt(BitArray.random(plan.D * plan.k0, rng));
  const b = BigInt.asUintN(w, target - a * x);
  const s2 = bigIntToBits(a | (b << BigInt(w)), 2 * w);
  assert.equal(fftMultiplyAddBits(s2.words, 0, w, w, key.words, n, n, w), null);
  assert.ok(multiplyAddShiftHash(key, s2, m).equals(multiplyAddShiftBigInt(key, s2, m)));
  // T − 2^q for q inside the guard: one zero among the ones, and the same operands go through.
  const b3 = BigInt.asUintN(w, b - (1n << BigInt(plan.D * (plan.g0 + 1))));
  const s3 = bigIntToBits(a | (b3 << BigInt(w)), 2 * w);
  const got = fftMultiplyAddBits(s3.words, 0, w, w, key.words, n, n, w);
  assert.ok(got && new BitArray(m, got).equals(multiplyAddShiftBigInt(key, s3, m)));
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

test('at n = 10^7 (transform 9·2^17, 12-bit digits) the FFT multiply-add equals the BigInt product bit for bit', () => {
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
