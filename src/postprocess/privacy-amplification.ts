/**
 * Privacy amplification by two-universal hashing (C. H. Bennett, G. Brassard, C. Crépeau, U. Maurer,
 * "Generalized privacy amplification", IEEE Trans. IT 41 (1995); leftover hash lemma in R. Renner's
 * thesis, 2005, Cor. 5.6.1). Two families, each with collision probability exactly 2^−m for m output bits,
 * which is what the finite-key length of Lim et al. 2014 Eq. 6 assumes, so no extra ε term is needed:
 *
 * - `toeplitz`: y = T·x over GF(2) with a random m×n Toeplitz matrix (n+m−1 seed bits; universal by
 *   H. Krawczyk, "LFSR-based hashing and authentication", CRYPTO '94, and Mansour–Nisan–Tiwari 1993).
 *   Computed as a convolution by FFT (fft.ts), never an O(n·m) bit loop; `toeplitzHashNaive` is the
 *   definition, kept as the reference for tests.
 * - `multiply-add-shift`: h_{a,b}(x) = ⌊((a·x + b) mod 2^{n+m}) / 2^n⌋ with a, b uniform in [0, 2^{n+m})
 *   and the key read as an integer x < 2ⁿ — strongly universal by M. Dietzfelbinger, "Universal hashing
 *   and k-wise independent random variables via integer arithmetic without primes", STACS '96, Thm. 3
 *   (restated by M. Thorup, "High speed hashing for integers and strings", 2015, §3.3). From 2^15 key bits
 *   the product a·x + b is a checked floating-point FFT convolution of 12–20-bit digits, only as long as
 *   the bits below n + m need (fft-multiply.ts; ≈ 2.9× V8's BigInt product at 10⁶ bits and 3.0× at 10⁷
 *   in one bench run); shorter keys, or a failed exactness check, use V8's BigInt
 *   multiplication (one (n+m)×n product, of which only the low n+m bits are kept), with bits going to and
 *   from BigInt through hex strings built and read with byte/digit tables.
 *
 * The seed is public and is announced over the authenticated channel (pipeline.ts); key bits are read with
 * bit i of the BitArray as the coefficient of 2^i (Toeplitz: as x_i).
 */
import { BitArray } from '../common/index.ts';
import type { RandomWords } from '../common/index.ts';
import { FFT_MAX_SIZE, realCyclicConvolution } from './fft.ts';
import { fftMultiplyAddBits } from './fft-multiply.ts';

/** Two-universal families available for privacy amplification. */
export type PaFamily = 'toeplitz' | 'multiply-add-shift';

/** Seed length in bits for hashing n bits to m bits. */
export function paSeedBits(family: PaFamily, n: number, m: number): number {
  return family === 'toeplitz' ? Math.max(0, n + m - 1) : 2 * (n + m);
}

/** A seed from a seeded stream (simulation); real deployments draw it from node:crypto. */
export function randomPaSeed(family: PaFamily, n: number, m: number, rng: RandomWords): BitArray {
  return BitArray.random(paSeedBits(family, n, m), rng);
}

/** Hashes `key` (n bits) to m bits with `family` and a seed of paSeedBits(family, n, m) bits. */
export function privacyAmplify(family: PaFamily, key: BitArray, seed: BitArray, m: number): BitArray {
  if (!(Number.isInteger(m) && m >= 0 && m <= key.length))
    throw new RangeError(`Privacy amplification output ${m} bits must be within 0..${key.length}`);
  if (seed.length !== paSeedBits(family, key.length, m))
    throw new RangeError(
      `${family} needs ${paSeedBits(family, key.length, m)} seed bits, got ${seed.length}`,
    );
  if (m === 0) return new BitArray(0);
  return family === 'toeplitz' ? toeplitzHashFft(key, seed, m) : multiplyAddShiftHash(key, seed, m);
}

/** y_i = ⊕_j s[i − j + n − 1]·x_j for i < m: the Toeplitz product by its definition, O(n·m). */
export function toeplitzHashNaive(key: BitArray, seed: BitArray, m: number): BitArray {
  const n = key.length;
  const out = new BitArray(m);
  for (let i = 0; i < m; i++) {
    let p = 0;
    for (let j = 0; j < n; j++) p ^= seed.get(i - j + n - 1) & key.get(j);
    if (p) out.set(i, 1);
  }
  return out;
}

/** The Toeplitz product by FFT: y_i = (s ∗ x)[i + n − 1] mod 2, via a cyclic convolution of size ≥ n+m−1. */
export function toeplitzHashFft(key: BitArray, seed: BitArray, m: number): BitArray {
  const n = key.length;
  let size = 1;
  while (size < n + m - 1) size *= 2;
  if (size > FFT_MAX_SIZE)
    throw new RangeError(`Toeplitz by FFT is limited to n + m − 1 ≤ 2^23, got ${n + m - 1}`);
  const u = new Float64Array(size);
  const v = new Float64Array(size);
  for (let i = 0; i < seed.length; i++) u[i] = seed.get(i);
  for (let j = 0; j < n; j++) v[j] = key.get(j);
  // Cyclic wrap-around only reaches indices below n − 1 when size ≥ n + m − 1, so the ones read are exact.
  const c = realCyclicConvolution(u, v);
  const out = new BitArray(m);
  for (let i = 0; i < m; i++) if (Math.round(c[i + n - 1]!) & 1) out.set(i, 1);
  return out;
}

/** Whether a Uint16Array stores its low byte first (every platform Node 20 supports; checked, not assumed). */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
/**
 * Two ASCII characters as the 16-bit value whose in-memory bytes are `first` then `second` on this host:
 * the only place byte order matters, so the hex writer below has one code path on either endianness.
 */
const charPair = (first: number, second: number): number =>
  LITTLE_ENDIAN ? first | (second << 8) : (first << 8) | second;
/** Byte → its two hex digits, high digit first in memory (see charPair). */
const HEX_PAIRS = new Uint16Array(256);
/** ASCII code → hex digit value (lower-case digits; BigInt#toString(16) writes no others). */
const HEX_VALUE = new Uint8Array(128);
for (let i = 0; i < 16; i++) HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
for (let v = 0; v < 256; v++) {
  const d = (x: number) => '0123456789abcdef'.charCodeAt(x);
  HEX_PAIRS[v] = charPair(d(v >>> 4), d(v & 15));
}
/** "0x" as one pair. */
const HEX_PREFIX = charPair(48, 120);
const ascii = new TextDecoder(); // hex digits are ASCII, and the UTF-8 path is the fastest decoder
const asciiIn = new TextEncoder();

/** Bits [from, to) of `bits` as packed words (word-wise shift, no per-bit loop; no copy when whole). */
function wordsOf(bits: BitArray, from: number, to: number): Uint32Array {
  // Bits past `length` are zero in a BitArray, so the whole array needs no masking.
  if (from === 0 && to === bits.length) return bits.words;
  const n = to - from;
  const out = new Uint32Array((n + 31) >>> 5);
  const src = bits.words;
  const sh = from & 31;
  const base = from >>> 5;
  for (let i = 0; i < out.length; i++) {
    const lo = src[base + i] ?? 0;
    out[i] = sh === 0 ? lo : (lo >>> sh) | ((src[base + i + 1] ?? 0) << (32 - sh));
  }
  if (n & 31) out[out.length - 1]! &= (1 << (n & 31)) - 1;
  return out;
}

/**
 * The bits [from, to) as a non-negative BigInt (bit i ↦ 2^(i − from)), through one hex string written
 * two digits per byte from a table (V8 parses a 0x string in linear time).
 */
export function bitsToBigInt(bits: BitArray, from = 0, to = bits.length): bigint {
  if (from < 0 || to > bits.length || from > to)
    throw new RangeError(`bits [${from}, ${to}) outside 0..${bits.length}`);
  const w = wordsOf(bits, from, to);
  if (w.length === 0) return 0n;
  const pairs = HEX_PAIRS;
  const L = w.length;
  const chars = new Uint16Array(1 + 4 * L); // "0x", then 8 digits per word, most significant first
  chars[0] = HEX_PREFIX;
  for (let i = 0, c = 1; i < L; i++, c += 4) {
    const x = w[L - 1 - i]!;
    chars[c] = pairs[x >>> 24]!;
    chars[c + 1] = pairs[(x >>> 16) & 255]!;
    chars[c + 2] = pairs[(x >>> 8) & 255]!;
    chars[c + 3] = pairs[x & 255]!;
  }
  return BigInt(ascii.decode(chars));
}

/** The low `length` bits of a non-negative BigInt as a BitArray (its hex digits read 8 per word). */
export function bigIntToBits(x: bigint, length: number): BitArray {
  const out = new BitArray(length);
  const hex = BigInt.asUintN(length, x).toString(16);
  const digits = new Uint8Array(hex.length);
  asciiIn.encodeInto(hex, digits);
  const v = HEX_VALUE;
  const w = out.words;
  let i = digits.length;
  let k = 0;
  for (; i >= 8; i -= 8) {
    const e = i - 8;
    w[k++] =
      (v[digits[e]!]! << 28) |
      (v[digits[e + 1]!]! << 24) |
      (v[digits[e + 2]!]! << 20) |
      (v[digits[e + 3]!]! << 16) |
      (v[digits[e + 4]!]! << 12) |
      (v[digits[e + 5]!]! << 8) |
      (v[digits[e + 6]!]! << 4) |
      v[digits[e + 7]!]!;
  }
  if (i > 0) {
    let last = 0;
    for (let j = 0; j < i; j++) last = (last << 4) | v[digits[j]!]!;
    w[k] = last;
  }
  return new BitArray(length, w);
}

/** Input length from which the FFT multiplier (fft-multiply.ts) is used: below it BigInt is faster. */
export const MAS_FFT_MIN_BITS = 1 << 15;

/**
 * h_{a,b}(x) = ⌊((a·x + b) mod 2^{n+m}) / 2ⁿ⌋, seed = a ‖ b (each n+m bits). Long keys go through the
 * checked FFT multiplier, which returns exactly the BigInt result or declines (then BigInt computes it).
 */
export function multiplyAddShiftHash(key: BitArray, seed: BitArray, m: number): BitArray {
  const n = key.length;
  const w = n + m;
  if (n >= MAS_FFT_MIN_BITS) {
    const words = fftMultiplyAddBits(seed.words, 0, w, w, key.words, n, n, w);
    if (words) return new BitArray(m, words);
  }
  return multiplyAddShiftBigInt(key, seed, m);
}

/** The same hash computed with V8's BigInt product (the exact reference, and the short-key path). */
export function multiplyAddShiftBigInt(key: BitArray, seed: BitArray, m: number): BitArray {
  const n = key.length;
  const w = n + m;
  const x = bitsToBigInt(key);
  // One conversion of the whole seed, then a and b by BigInt shifts (cheaper than three unaligned ones).
  // Converted on every call: no cache keyed by a mutable BitArray (a seed changed or wiped in place would
  // otherwise hash with its stale value), and each end of a link pays its own conversion, as in the field.
  const ab = bitsToBigInt(seed);
  const a = BigInt.asUintN(w, ab);
  const b = ab >> BigInt(w);
  // Only the low n+m bits of a·x matter; one (n+m)×n product is cheaper in V8 than splitting a as
  // a_lo + 2ⁿ·a_hi into an n×n and an m×m product (measured ≈ 10% at 10⁶ and 10⁷ bits).
  const low = BigInt.asUintN(w, a * x + b);
  return bigIntToBits(low >> BigInt(n), m);
}
