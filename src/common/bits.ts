/**
 * Packed bit arrays: bit i lives in word i >>> 5 at position i & 31 (little-endian within a word).
 * Bits past `length` in the last word are kept zero, so popcount and equality can work word by word.
 * Used for raw, sifted and final keys; Cascade asks parities of ranges, so `parityRange` is word-wise.
 */
import type { RandomWords } from './secret-random.ts';

/** Number of set bits in a 32-bit word (SWAR popcount, Hacker's Delight §5-1). */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Parity (0 or 1) of a 32-bit word. */
export function parity32(x: number): number {
  x ^= x >>> 16;
  x ^= x >>> 8;
  x ^= x >>> 4;
  return (0x6996 >>> (x & 0xf)) & 1;
}

/** A fixed-length array of bits packed into 32-bit words. */
export class BitArray {
  readonly length: number;
  readonly words: Uint32Array;

  constructor(length: number, words?: Uint32Array) {
    if (!Number.isInteger(length) || length < 0)
      throw new RangeError(`BitArray length must be a non-negative integer, got ${length}`);
    this.length = length;
    const n = (length + 31) >>> 5;
    if (words) {
      if (words.length < n)
        throw new RangeError(`BitArray of ${length} bits needs ${n} words, got ${words.length}`);
      this.words = words.length === n ? words : words.subarray(0, n);
      this.#clearTail();
    } else {
      this.words = new Uint32Array(n);
    }
  }

  /** Random bits from a seeded stream or a secret source. */
  static random(length: number, rng: RandomWords): BitArray {
    const b = new BitArray(length);
    rng.fillUint32(b.words);
    b.#clearTail();
    return b;
  }

  /** From bytes, most significant bit of byte 0 first (the order keys travel in). */
  static fromBytes(bytes: Uint8Array, length = bytes.length * 8): BitArray {
    if (length > bytes.length * 8)
      throw new RangeError(`${bytes.length} bytes hold at most ${bytes.length * 8} bits, asked ${length}`);
    const b = new BitArray(length);
    for (let i = 0; i < length; i++) if ((bytes[i >>> 3]! >>> (7 - (i & 7))) & 1) b.set(i, 1);
    return b;
  }

  /** From a string of '0' and '1' (tests and vectors). */
  static fromString(s: string): BitArray {
    const b = new BitArray(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c === '1') b.set(i, 1);
      else if (c !== '0')
        throw new RangeError(`BitArray.fromString accepts only 0 and 1, found "${c}" at ${i}`);
    }
    return b;
  }

  /** Bytes, most significant bit of byte 0 first; the last byte is zero-padded. */
  toBytes(): Uint8Array {
    const out = new Uint8Array((this.length + 7) >>> 3);
    for (let i = 0; i < this.length; i++) if (this.get(i)) out[i >>> 3]! |= 0x80 >>> (i & 7);
    return out;
  }

  toString(): string {
    let s = '';
    for (let i = 0; i < this.length; i++) s += this.get(i) ? '1' : '0';
    return s;
  }

  get(i: number): number {
    return (this.words[i >>> 5]! >>> (i & 31)) & 1;
  }

  set(i: number, bit: number): void {
    const w = i >>> 5;
    const m = 1 << (i & 31);
    if (bit) this.words[w]! |= m;
    else this.words[w]! &= ~m;
  }

  flip(i: number): void {
    this.words[i >>> 5]! ^= 1 << (i & 31);
  }

  /** Number of ones. */
  popcount(): number {
    let c = 0;
    for (let i = 0; i < this.words.length; i++) c += popcount32(this.words[i]!);
    return c;
  }

  /** Parity of bits [from, to). */
  parityRange(from: number, to: number): number {
    if (from < 0 || to > this.length || from > to)
      throw new RangeError(`parityRange(${from}, ${to}) outside 0..${this.length}`);
    if (from === to) return 0;
    const fw = from >>> 5;
    const lw = (to - 1) >>> 5;
    const headMask = (0xffffffff << (from & 31)) >>> 0;
    const tailBits = ((to - 1) & 31) + 1;
    const tailMask = tailBits === 32 ? 0xffffffff : ((1 << tailBits) - 1) >>> 0;
    if (fw === lw) return parity32(this.words[fw]! & headMask & tailMask);
    let acc = (this.words[fw]! & headMask) ^ (this.words[lw]! & tailMask);
    for (let w = fw + 1; w < lw; w++) acc ^= this.words[w]!;
    return parity32(acc);
  }

  /** Bitwise XOR with another array of the same length, into a new array. */
  xor(other: BitArray): BitArray {
    if (other.length !== this.length) throw new RangeError(`xor of ${this.length} and ${other.length} bits`);
    const out = new BitArray(this.length);
    for (let i = 0; i < this.words.length; i++) out.words[i] = this.words[i]! ^ other.words[i]!;
    return out;
  }

  /** Number of positions where the two arrays differ. */
  hammingDistance(other: BitArray): number {
    if (other.length !== this.length)
      throw new RangeError(`hammingDistance of ${this.length} and ${other.length} bits`);
    let c = 0;
    for (let i = 0; i < this.words.length; i++) c += popcount32(this.words[i]! ^ other.words[i]!);
    return c;
  }

  equals(other: BitArray): boolean {
    if (other.length !== this.length) return false;
    for (let i = 0; i < this.words.length; i++) if (this.words[i] !== other.words[i]) return false;
    return true;
  }

  /** Bits [from, to) as a new array. */
  slice(from: number, to: number = this.length): BitArray {
    if (from < 0 || to > this.length || from > to)
      throw new RangeError(`slice(${from}, ${to}) outside 0..${this.length}`);
    const out = new BitArray(to - from);
    if ((from & 31) === 0) {
      out.words.set(this.words.subarray(from >>> 5, (from >>> 5) + out.words.length));
      out.#clearTail();
      return out;
    }
    for (let i = from; i < to; i++) if (this.get(i)) out.set(i - from, 1);
    return out;
  }

  clone(): BitArray {
    return new BitArray(this.length, this.words.slice());
  }

  /** Overwrites every word with zero (erasing key material held in this array). */
  wipe(): void {
    this.words.fill(0);
  }

  #clearTail(): void {
    const r = this.length & 31;
    if (r !== 0) this.words[this.words.length - 1]! &= (1 << r) - 1;
  }
}
