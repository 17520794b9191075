/**
 * Arithmetic in GF(2¹²⁸) = GF(2)[x] / (x¹²⁸ + x⁷ + x² + x + 1), the field of GCM (NIST SP 800-38D §6.3,
 * whose reduction polynomial this is; we use the plain polynomial bit order, not GCM's reflected one).
 * An element is four 32-bit words, word 0 holding the coefficients of x⁰…x³¹. Multiplication by a fixed
 * element uses Shoup's table method (V. Shoup, "On fast and provably secure message authentication based
 * on universal hashing", CRYPTO '96): sixteen 256-entry tables, one per byte of the other operand, so a
 * product costs sixteen lookups and 64 XORs instead of a 128-step shift-and-add.
 */

/** An element of GF(2¹²⁸): four little-endian 32-bit words. */
export type Gf128 = Uint32Array;

/** The element from four words (word 0 = coefficients of x⁰…x³¹). */
export function gf128(w0: number, w1 = 0, w2 = 0, w3 = 0): Gf128 {
  return Uint32Array.of(w0 >>> 0, w1 >>> 0, w2 >>> 0, w3 >>> 0);
}

/** a·x in place (shift left, reduce by x¹²⁸ = x⁷ + x² + x + 1). */
export function gf128MulX(a: Gf128): void {
  const carry = a[3]! >>> 31;
  a[3] = (a[3]! << 1) | (a[2]! >>> 31);
  a[2] = (a[2]! << 1) | (a[1]! >>> 31);
  a[1] = (a[1]! << 1) | (a[0]! >>> 31);
  a[0] = (a[0]! << 1) ^ (carry ? 0x87 : 0);
}

/** a·b by shift-and-add, bit by bit: the slow reference the table method is tested against. */
export function gf128MulNaive(a: Gf128, b: Gf128): Gf128 {
  const acc = new Uint32Array(4);
  for (let i = 127; i >= 0; i--) {
    gf128MulX(acc);
    if ((b[i >>> 5]! >>> (i & 31)) & 1) for (let w = 0; w < 4; w++) acc[w]! ^= a[w]!;
  }
  return acc;
}

/** Multiplication by one fixed element h through precomputed tables (64 KiB). */
export class Gf128Multiplier {
  readonly #t: Uint32Array;

  constructor(h: Gf128) {
    if (h.length !== 4) throw new RangeError(`A GF(2^128) element has 4 words, got ${h.length}`);
    const pow = new Uint32Array(128 * 4); // h·x^i
    const cur = h.slice();
    for (let i = 0; i < 128; i++) {
      pow.set(cur, i * 4);
      gf128MulX(cur);
    }
    const t = new Uint32Array(16 * 256 * 4);
    for (let j = 0; j < 16; j++) {
      const base = j * 1024;
      for (let v = 1; v < 256; v++) {
        const low = v & -v;
        const bit = 31 - Math.clz32(low);
        const from = base + (v ^ low) * 4;
        const p = (8 * j + bit) * 4;
        const to = base + v * 4;
        for (let w = 0; w < 4; w++) t[to + w] = t[from + w]! ^ pow[p + w]!;
      }
    }
    this.#t = t;
  }

  /** (acc)·h, written back into acc. */
  mulInPlace(acc: Gf128): void {
    const t = this.#t;
    let r0 = 0;
    let r1 = 0;
    let r2 = 0;
    let r3 = 0;
    for (let w = 0; w < 4; w++) {
      const x = acc[w]!;
      for (let k = 0; k < 4; k++) {
        const i = (w * 4 + k) * 1024 + ((x >>> (8 * k)) & 0xff) * 4;
        r0 ^= t[i]!;
        r1 ^= t[i + 1]!;
        r2 ^= t[i + 2]!;
        r3 ^= t[i + 3]!;
      }
    }
    acc[0] = r0;
    acc[1] = r1;
    acc[2] = r2;
    acc[3] = r3;
  }

  /**
   * Horner steps acc ← (acc ⊕ m_i)·h over the 128-bit blocks m_i = words[4i..4i+3] for words
   * [from, to) (to − from a multiple of 4), in place. The same as `mulInPlace` per block, with the
   * state in locals (this is the hot loop of verification and transcript authentication).
   */
  absorbBlocks(acc: Gf128, words: Uint32Array, from: number, to: number): void {
    const t = this.#t;
    let h0 = acc[0]!;
    let h1 = acc[1]!;
    let h2 = acc[2]!;
    let h3 = acc[3]!;
    for (let i = from; i < to; i += 4) {
      const x0 = h0 ^ words[i]!;
      const x1 = h1 ^ words[i + 1]!;
      const x2 = h2 ^ words[i + 2]!;
      const x3 = h3 ^ words[i + 3]!;
      const j0 = (x0 & 0xff) * 4;
      const j1 = 1024 + ((x0 >>> 8) & 0xff) * 4;
      const j2 = 2048 + ((x0 >>> 16) & 0xff) * 4;
      const j3 = 3072 + (x0 >>> 24) * 4;
      const j4 = 4096 + (x1 & 0xff) * 4;
      const j5 = 5120 + ((x1 >>> 8) & 0xff) * 4;
      const j6 = 6144 + ((x1 >>> 16) & 0xff) * 4;
      const j7 = 7168 + (x1 >>> 24) * 4;
      const j8 = 8192 + (x2 & 0xff) * 4;
      const j9 = 9216 + ((x2 >>> 8) & 0xff) * 4;
      const j10 = 10240 + ((x2 >>> 16) & 0xff) * 4;
      const j11 = 11264 + (x2 >>> 24) * 4;
      const j12 = 12288 + (x3 & 0xff) * 4;
      const j13 = 13312 + ((x3 >>> 8) & 0xff) * 4;
      const j14 = 14336 + ((x3 >>> 16) & 0xff) * 4;
      const j15 = 15360 + (x3 >>> 24) * 4;
      h0 =
        t[j0]! ^
        t[j1]! ^
        t[j2]! ^
        t[j3]! ^
        t[j4]! ^
        t[j5]! ^
        t[j6]! ^
        t[j7]! ^
        t[j8]! ^
        t[j9]! ^
        t[j10]! ^
        t[j11]! ^
        t[j12]! ^
        t[j13]! ^
        t[j14]! ^
        t[j15]!;
      h1 =
        t[j0 + 1]! ^
        t[j1 + 1]! ^
        t[j2 + 1]! ^
        t[j3 + 1]! ^
        t[j4 + 1]! ^
        t[j5 + 1]! ^
        t[j6 + 1]! ^
        t[j7 + 1]! ^
        t[j8 + 1]! ^
        t[j9 + 1]! ^
        t[j10 + 1]! ^
        t[j11 + 1]! ^
        t[j12 + 1]! ^
        t[j13 + 1]! ^
        t[j14 + 1]! ^
        t[j15 + 1]!;
      h2 =
        t[j0 + 2]! ^
        t[j1 + 2]! ^
        t[j2 + 2]! ^
        t[j3 + 2]! ^
        t[j4 + 2]! ^
        t[j5 + 2]! ^
        t[j6 + 2]! ^
        t[j7 + 2]! ^
        t[j8 + 2]! ^
        t[j9 + 2]! ^
        t[j10 + 2]! ^
        t[j11 + 2]! ^
        t[j12 + 2]! ^
        t[j13 + 2]! ^
        t[j14 + 2]! ^
        t[j15 + 2]!;
      h3 =
        t[j0 + 3]! ^
        t[j1 + 3]! ^
        t[j2 + 3]! ^
        t[j3 + 3]! ^
        t[j4 + 3]! ^
        t[j5 + 3]! ^
        t[j6 + 3]! ^
        t[j7 + 3]! ^
        t[j8 + 3]! ^
        t[j9 + 3]! ^
        t[j10 + 3]! ^
        t[j11 + 3]! ^
        t[j12 + 3]! ^
        t[j13 + 3]! ^
        t[j14 + 3]! ^
        t[j15 + 3]!;
    }
    acc[0] = h0;
    acc[1] = h1;
    acc[2] = h2;
    acc[3] = h3;
  }

  /** a·h as a new element. */
  mul(a: Gf128): Gf128 {
    const r = a.slice();
    this.mulInPlace(r);
    return r;
  }
}
