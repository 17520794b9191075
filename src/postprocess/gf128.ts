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

  /** a·h as a new element. */
  mul(a: Gf128): Gf128 {
    const r = a.slice();
    this.mulInPlace(r);
    return r;
  }
}
