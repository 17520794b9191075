/**
 * Polynomial universal hashing over GF(2¹²⁸) (the "evaluation hash" of M. Wegman, L. Carter, "New hash
 * functions and their use in authentication and set equality", JCSS 22 (1981); bound as in Shoup, CRYPTO
 * '96, and the GHASH analysis of McGrew & Viega 2004). A message of L 128-bit blocks m₁…m_L and bit length
 * ℓ hashes to H_r = m₁·r^{L+1} + … + m_L·r² + ℓ·r (Horner: h ← (h ⊕ m_i)·r, then h ← (h ⊕ ℓ)·r).
 * Two different messages of at most L blocks give a non-zero polynomial of degree ≤ L+1 in r, so they
 * collide for at most L+1 of the 2¹²⁸ keys r: collision probability ε ≤ (L+1)/2¹²⁸ ≤ 2⁻⁶⁴ for any
 * L < 2⁶⁴ − 1. Used to verify corrected keys (tag bits counted as leaked) and, with a one-time pad, as
 * the ε-almost-strongly-universal hash of Wegman–Carter authentication (auth.ts).
 */
import { BitArray } from '../common/index.ts';
import { Gf128Multiplier, type Gf128 } from './gf128.ts';
import type { RandomWords } from '../common/index.ts';

/** Tag length of the polynomial hash, bits. */
export const POLY_HASH_TAG_BITS = 128;

/** H_r of `bitLength` bits packed in `words` (bit i in word i >>> 5); bits past bitLength must be zero. */
export function polyHash(mul: Gf128Multiplier, words: Uint32Array, bitLength: number): Gf128 {
  if (words.length < (bitLength + 31) >>> 5)
    throw new RangeError(`polyHash of ${bitLength} bits needs ${(bitLength + 31) >>> 5} words`);
  const h = new Uint32Array(4);
  const full = (words.length >>> 2) << 2;
  mul.absorbBlocks(h, words, 0, full);
  const i = full;
  if (i < words.length) {
    for (let w = 0; i + w < words.length; w++) h[w]! ^= words[i + w]!;
    mul.mulInPlace(h);
  }
  h[0]! ^= bitLength >>> 0;
  h[1]! ^= Math.floor(bitLength / 2 ** 32) >>> 0;
  mul.mulInPlace(h);
  return h;
}

/** The collision bound ε = (L+1)/2¹²⁸ for messages of up to `bits` bits (L = ⌈bits/128⌉ blocks). */
export function polyHashCollisionBound(bits: number): number {
  return (Math.ceil(bits / 128) + 1) / 2 ** 128;
}

/** A random hash key from a seeded stream (simulation) — real deployments draw it from node:crypto. */
export function randomHashKey(rng: RandomWords): Gf128 {
  return rng.fillUint32(new Uint32Array(4));
}

/** Alice → Bob after error correction: the hash key she chose and the tag of her key. */
export interface VerificationMessage {
  readonly type: 'verify';
  readonly hashKey: Gf128;
  readonly tag: Gf128;
}

/** Alice's side of verification: a fresh hash key and her key's tag (128 bits leaked). */
export function verificationMessage(aliceKey: BitArray, hashKey: Gf128): VerificationMessage {
  return {
    type: 'verify',
    hashKey,
    tag: polyHash(new Gf128Multiplier(hashKey), aliceKey.words, aliceKey.length),
  };
}

/** Bob's side: true when his corrected key has Alice's tag (equal keys, except with probability ε). */
export function verifyKey(bobKey: BitArray, msg: VerificationMessage): boolean {
  const t = polyHash(new Gf128Multiplier(msg.hashKey), bobKey.words, bobKey.length);
  return t[0] === msg.tag[0] && t[1] === msg.tag[1] && t[2] === msg.tag[2] && t[3] === msg.tag[3];
}
