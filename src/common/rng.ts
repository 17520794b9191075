/**
 * Seeded pseudo-random numbers for simulation: xoshiro128** (Blackman & Vigna, "Scrambled linear
 * pseudorandom number generators", ACM TOMS 2021), seeded through SplitMix32-style mixing.
 *
 * Every entity (a link, a detector, Eve, a node) takes its own stream with `rng.stream(name)`. A stream is
 * derived from the parent's *seed* and the name — not from the parent's current state — so adding a
 * consumer, or drawing more numbers in one stream, never changes another stream's numbers. Not for key
 * material: real keys use node:crypto.
 */

/** Mixes a 32-bit value (the finaliser of MurmurHash3 / SplitMix32). */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of a string, then mixed. */
function hashString(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h >>> 0);
}

const TWO_POW_32 = 4294967296;

/** A seeded generator; create with `createRng(seed)`, derive children with `stream(name)`. */
export class Rng {
  /** The four-word seed this stream was created from (identifies the stream). */
  readonly seedWords: readonly [number, number, number, number];
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seedWords: readonly [number, number, number, number]) {
    this.seedWords = seedWords;
    [this.#a, this.#b, this.#c, this.#d] = seedWords;
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#d = 1; // xoshiro's state must not be all zero
    for (let i = 0; i < 8; i++) this.nextUint32(); // decorrelate nearby seeds
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform double in (0, 1): safe for logarithms. */
  nextOpenFloat(): number {
    let u = this.nextFloat();
    while (u === 0) u = this.nextFloat();
    return u;
  }

  /**
   * Uniform integer in [0, n) for 1 ≤ n ≤ 2^32: floor(u·n) with a 53-bit u, whose bias is at most
   * n / 2^53 ≤ 2^-21 relative — negligible for simulation.
   */
  nextInt(n: number): number {
    if (!(n >= 1 && n <= TWO_POW_32 && Number.isInteger(n))) {
      throw new RangeError(`nextInt(n) needs an integer 1..2^32, got ${n}`);
    }
    return Math.floor(this.nextFloat() * n);
  }

  /** True with probability p. */
  nextBool(p = 0.5): boolean {
    return this.nextFloat() < p;
  }

  /** Standard normal deviate (Marsaglia polar method). */
  nextGaussian(): number {
    for (;;) {
      const u = 2 * this.nextFloat() - 1;
      const v = 2 * this.nextFloat() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) return u * Math.sqrt((-2 * Math.log(s)) / s);
    }
  }

  /** Fills `out` with random 32-bit words. */
  fillUint32(out: Uint32Array): Uint32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.nextUint32();
    return out;
  }

  /**
   * An independent child stream named `name`, derived from this stream's seed (not its state):
   * `rng.stream('link:a-b')` gives the same numbers whatever else has been drawn.
   */
  stream(name: string): Rng {
    const [a, b, c, d] = this.seedWords;
    const h = hashString(name, mix32(a ^ 0x9e3779b9));
    return new Rng([
      mix32(h ^ b),
      mix32(Math.imul(h, 0x27d4eb2d) ^ c),
      mix32((h + 0x165667b1) ^ d),
      mix32(hashString(name, h ^ a)),
    ]);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Creates a generator from a numeric or string seed. The same seed always gives the same stream. */
export function createRng(seed: number | string): Rng {
  const s = typeof seed === 'number' ? String(seed) : seed;
  const h = hashString(s);
  return new Rng([
    mix32(h ^ 0x243f6a88),
    mix32(h ^ 0x85a308d3),
    mix32(h ^ 0x13198a2e),
    mix32(h ^ 0x03707344),
  ]);
}
