/**
 * Arithmetic in GF(2¹²⁸) = GF(2)[x] / (x¹²⁸ + x⁷ + x² + x + 1), the field of GCM (NIST SP 800-38D §6.3,
 * whose reduction polynomial this is; we use the plain polynomial bit order, not GCM's reflected one).
 * An element is four 32-bit words, word 0 holding the coefficients of x⁰…x³¹. Multiplication by a fixed
 * element uses Shoup's table method (V. Shoup, "On fast and provably secure message authentication based
 * on universal hashing", CRYPTO '96) with 8-bit windows: one 256-entry table per multiplier, so a product
 * costs sixteen lookups and shifts instead of a 128-step shift-and-add.
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

/**
 * Reduction of the eight bits shifted out past x¹²⁷ by a multiplication by x⁸: o(x)·x¹²⁸ = o(x)·(x⁷ + x² +
 * x + 1), a polynomial of degree ≤ 14, for every byte o (shared by every multiplier).
 */
const REDUCE8 = (() => {
  const r = new Uint16Array(256);
  for (let o = 0; o < 256; o++) {
    let v = 0;
    for (let i = 0; i < 8; i++) if ((o >>> i) & 1) v ^= 0x87 << i;
    r[o] = v;
  }
  return r;
})();

/**
 * Multiplication by one fixed element h with Shoup's 8-bit table method (V. Shoup, CRYPTO '96 §3): one
 * table of b(x)·h for every byte polynomial b (256 elements, 4 KiB) and the shared reduction table above;
 * a product takes the other operand a byte at a time from the top, acc ← acc·x⁸ + b·h (sixteen lookups,
 * sixteen shifts). Sixteen tables of 64 KiB (one per byte position) would save the shifts, but with a
 * multiplier per unit and many units in flight they no longer fit in the caches, and every lookup missed.
 */
export class Gf128Multiplier {
  readonly #t: Uint32Array;

  constructor(h: Gf128) {
    if (h.length !== 4) throw new RangeError(`A GF(2^128) element has 4 words, got ${h.length}`);
    const t = new Uint32Array(256 * 4);
    const cur = h.slice();
    // t[2^i] = h·x^i, then every other entry as the XOR of its lowest set bit's entry and the rest.
    for (let i = 0; i < 8; i++) {
      t.set(cur, (1 << i) * 4);
      gf128MulX(cur);
    }
    for (let v = 1; v < 256; v++) {
      const low = v & -v;
      if (low === v) continue;
      const to = v * 4;
      const a = low * 4;
      const b = (v ^ low) * 4;
      for (let w = 0; w < 4; w++) t[to + w] = t[a + w]! ^ t[b + w]!;
    }
    this.#t = t;
  }

  /** (acc)·h, written back into acc. */
  mulInPlace(acc: Gf128): void {
    this.absorbProduct(acc, acc[0]!, acc[1]!, acc[2]!, acc[3]!);
  }

  /** acc ← (x0 + x1·x³² + x2·x⁶⁴ + x3·x⁹⁶)·h. */
  private absorbProduct(acc: Gf128, x0: number, x1: number, x2: number, x3: number): void {
    const t = this.#t;
    const red = REDUCE8;
    let z0 = 0;
    let z1 = 0;
    let z2 = 0;
    let z3 = 0;
    for (let w = 3; w >= 0; w--) {
      const x = w === 3 ? x3 : w === 2 ? x2 : w === 1 ? x1 : x0;
      for (let s = 24; s >= 0; s -= 8) {
        const o = z3 >>> 24;
        z3 = (z3 << 8) | (z2 >>> 24);
        z2 = (z2 << 8) | (z1 >>> 24);
        z1 = (z1 << 8) | (z0 >>> 24);
        const i = ((x >>> s) & 0xff) << 2;
        z0 = (z0 << 8) ^ red[o]! ^ t[i]!;
        z1 ^= t[i + 1]!;
        z2 ^= t[i + 2]!;
        z3 ^= t[i + 3]!;
      }
    }
    acc[0] = z0;
    acc[1] = z1;
    acc[2] = z2;
    acc[3] = z3;
  }

  /**
   * Horner steps acc ← (acc ⊕ m_i)·h over the 128-bit blocks m_i = words[4i..4i+3] for words
   * [from, to) (to − from a multiple of 4), in place (the hot loop of verification and transcript
   * authentication).
   */
  absorbBlocks(acc: Gf128, words: Uint32Array, from: number, to: number): void {
    for (let i = from; i < to; i += 4)
      this.absorbProduct(
        acc,
        acc[0]! ^ words[i]!,
        acc[1]! ^ words[i + 1]!,
        acc[2]! ^ words[i + 2]!,
        acc[3]! ^ words[i + 3]!,
      );
  }

  /** a·h as a new element. */
  mul(a: Gf128): Gf128 {
    const r = a.slice();
    this.mulInPlace(r);
    return r;
  }
}
