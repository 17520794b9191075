/**
 * Seeded pseudo-random numbers for simulation: xoshiro128** (Blackman & Vigna, "Scrambled linear
 * pseudorandom number generators", ACM TOMS 2021) whose 128-bit state is the first half of a 256-bit
 * seed identity: SHA-256 of the seed text (`createRng`), or of the parent's identity and the stream's name
 * (`stream`). The full width means two distinct seeds or names collide only with probability ~2⁻¹²⁸ (a
 * 32-bit hash collided after ~66,000 random seeds).
 *
 * Every entity (a link, a detector, Eve, a node) takes its own stream with `rng.stream(name)`. A stream is
 * derived from the parent's *seed* and the name — not from the parent's current state — so adding a
 * consumer, or drawing more numbers in one stream, never changes another stream's numbers.
 *
 * Not for secrets: anyone who knows the seed recomputes every number. Key bits, authentication keys and
 * pads, privacy-amplification seeds, relay pads and tokens come from a `SecretSource` (secret-random.ts).
 */
import { createHash } from 'node:crypto';

/** The 256-bit identity of a stream: SHA-256 of its derivation (FIPS 180-4). */
function seedDigest(parts: readonly (string | Uint8Array)[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) {
    const bytes = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    // Length-prefixed so ('ab','c') and ('a','bc') never hash alike.
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    h.update(len).update(bytes);
  }
  return new Uint8Array(h.digest());
}

const TWO_POW_32 = 4294967296;

/** A seeded generator; create with `createRng(seed)`, derive children with `stream(name)`. */
export class Rng {
  /** The 256-bit identity this stream was derived from (a copy; children derive from it). */
  readonly #seed: Uint8Array;
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** A generator from a 32-byte seed identity (use `createRng` or `stream` rather than this). */
  constructor(seed: Uint8Array) {
    if (seed.length !== 32) throw new RangeError(`an Rng seed is 32 bytes, got ${seed.length}`);
    this.#seed = seed.slice();
    const v = new DataView(this.#seed.buffer);
    this.#a = v.getUint32(0, true);
    this.#b = v.getUint32(4, true);
    this.#c = v.getUint32(8, true);
    this.#d = v.getUint32(12, true);
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#d = 1; // xoshiro's state must not be all zero
  }

  /** The stream's 256-bit identity as hex (two streams with equal identities give equal numbers). */
  get seedHex(): string {
    return Buffer.from(this.#seed).toString('hex');
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
    return new Rng(seedDigest(['qkdnet-rng-stream', this.#seed, name]));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Creates a generator from a numeric or string seed. The same seed always gives the same stream. */
export function createRng(seed: number | string): Rng {
  return new Rng(seedDigest(['qkdnet-rng-seed', typeof seed === 'number' ? String(seed) : seed]));
}
