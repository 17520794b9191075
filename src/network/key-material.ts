/**
 * Simulated link key material and key pools. In a simulation both ends of a QKD link must hold the same
 * secret bits, so the material is a seekable counter-mode stream: byte block i of link L is a function of
 * (scenario seed, L, i) — the SplitMix32-style finaliser of MurmurHash3 over a counter. Both ends read the
 * same offsets (the offset plays the role of the ETSI key_ID) and get the same bytes. This is simulation
 * material only — statistically uniform, not cryptographic; real keys come from the KMEs (node:crypto and
 * post-processed QKD blocks).
 *
 * A pool counts the bits a link has produced and not yet consumed, bounded by a capacity; consumption is
 * first-in first-out, so the consumed offset range identifies the key bits.
 */

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

function hashName(s: string, h: number): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h >>> 0);
}

/** Reads key bytes of one link at a byte offset; both ends of the link get identical bytes. */
export interface LinkKeySource {
  /** `lengthBytes` bytes starting at `offsetBytes` of this link's key stream. */
  read(offsetBytes: number, lengthBytes: number): Uint8Array;
}

/** Simulated shared key stream of one link (seeded, seekable). */
export function simulatedKeySource(seed: string, linkId: string): LinkKeySource {
  const base = hashName(linkId, hashName(seed, 0x811c9dc5));
  function word(w: number): number {
    return mix32(base ^ mix32((w >>> 0) ^ Math.imul(Math.floor(w / 2 ** 32), 0x9e3779b9)));
  }
  return {
    read(offsetBytes: number, lengthBytes: number): Uint8Array {
      const out = new Uint8Array(lengthBytes);
      const word = (w: number) =>
        mix32(base ^ mix32((w >>> 0) ^ Math.imul(Math.floor(w / 2 ** 32), 0x9e3779b9)));
      let i = 0;
      if ((offsetBytes & 3) === 0 && lengthBytes >= 4) {
        // Fast path for word-aligned reads: whole words, written little-endian on any host (the same bytes
        // as the byte loop below, which a test checks).
        const words = lengthBytes >>> 2;
        const view = new DataView(out.buffer, out.byteOffset, 4 * words);
        const w0 = offsetBytes / 4;
        for (let k = 0; k < words; k++) view.setUint32(4 * k, word(w0 + k), true);
        i = 4 * words;
      }
      while (i < lengthBytes) {
        const pos = offsetBytes + i;
        const w = word(Math.floor(pos / 4));
        for (let b = pos & 3; b < 4 && i < lengthBytes; b++, i++) out[i] = (w >>> (b * 8)) & 0xff;
      }
      return out;
    },
  };
}

/** A link's key pool: bits produced and not consumed, FIFO, bounded by `capacityBits`. */
export class KeyPool {
  readonly capacityBits: number;
  #levelBits: number;
  #generatedBits = 0;
  #consumedBits = 0;
  #discardedBits = 0;
  #minBits: number;
  readonly #initialBits: number;
  /** Byte offset of the next unconsumed key byte in the link's stream. */
  #headBytes = 0;

  constructor(capacityBits: number, initialBits: number) {
    if (!(capacityBits >= 0)) throw new RangeError(`capacityBits must be ≥ 0, got ${capacityBits}`);
    this.capacityBits = capacityBits;
    this.#levelBits = Math.min(capacityBits, Math.max(0, Math.floor(initialBits / 8) * 8));
    this.#minBits = this.#levelBits;
    this.#initialBits = this.#levelBits;
  }

  /** Bits in the pool at the start (the initial fill, whole bytes, at most the capacity). */
  get initialBits(): number {
    return this.#initialBits;
  }

  /** Bits available now. */
  get levelBits(): number {
    return this.#levelBits;
  }
  /** Bits added by the link since the start (excluding the initial fill). */
  get generatedBits(): number {
    return this.#generatedBits;
  }
  /** Bits taken out for keys. */
  get consumedBits(): number {
    return this.#consumedBits;
  }
  /** Bits lost because the pool was full. */
  get discardedBits(): number {
    return this.#discardedBits;
  }
  /** Lowest level seen. */
  get minBits(): number {
    return this.#minBits;
  }

  /** Adds freshly distilled bits (whole bytes; the fractional remainder is the caller's to carry). */
  add(bits: number): void {
    const whole = Math.floor(bits / 8) * 8;
    this.#generatedBits += whole;
    const room = this.capacityBits - this.#levelBits;
    const kept = Math.min(room, whole);
    this.#levelBits += kept;
    this.#discardedBits += whole - kept;
  }

  /** True if `bits` can be taken now. */
  has(bits: number): boolean {
    return this.#levelBits >= bits;
  }

  /** Takes `bits` (a multiple of 8) and returns the byte offset of the first; throws if not enough. */
  take(bits: number): number {
    if (bits % 8 !== 0 || bits < 0) throw new RangeError(`take(bits) needs whole bytes, got ${bits}`);
    if (this.#levelBits < bits)
      throw new RangeError(`Cannot take ${bits} bits from the pool: ${this.#levelBits} stored`);
    const offset = this.#headBytes;
    this.#headBytes += bits / 8;
    this.#levelBits -= bits;
    this.#consumedBits += bits;
    if (this.#levelBits < this.#minBits) this.#minBits = this.#levelBits;
    return offset;
  }

  /** Drops everything stored (a quarantined link's key is no longer trusted). */
  flush(): void {
    this.#headBytes += this.#levelBits / 8;
    this.#discardedBits += this.#levelBits;
    this.#levelBits = 0;
    this.#minBits = 0;
  }
}
