/**
 * A growable byte buffer for the canonical message encoding (message-encoding.ts): little-endian words and
 * doubles, length-prefixed byte runs, bit-packed integer lists, and a zero-padded word view for hashing.
 * One writer is reused across messages, so encoding allocates nothing per message.
 */

/** Scratch for writing doubles (little-endian on every platform Node 20 supports). */
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);

/** An append-only byte buffer, reset between messages. */
export class ByteWriter {
  #buf = new Uint8Array(4096);
  #len = 0;
  /** A word view of the whole buffer (rebuilt when the buffer grows). */
  #words: Uint32Array | null = null;

  /** Bytes written so far. */
  get length(): number {
    return this.#len;
  }

  /** Starts a new message, keeping the buffer. */
  reset(): void {
    this.#len = 0;
  }

  /** Forgets the bytes from `at` on. */
  truncate(at: number): void {
    if (at < this.#len) this.#len = Math.max(0, at);
  }

  /** The bytes written so far, handed over (no copy); the writer starts again on a fresh buffer. */
  detach(): Uint8Array {
    const out = this.#buf.subarray(0, this.#len);
    this.#buf = new Uint8Array(4096);
    this.#words = null;
    this.#len = 0;
    return out;
  }

  #ensure(extra: number): void {
    if (this.#len + extra <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#words = null;
  }

  byte(b: number): void {
    this.#ensure(1);
    this.#buf[this.#len++] = b;
  }

  u32(x: number): void {
    this.#ensure(4);
    const b = this.#buf;
    const at = this.#len;
    b[at] = x & 0xff;
    b[at + 1] = (x >>> 8) & 0xff;
    b[at + 2] = (x >>> 16) & 0xff;
    b[at + 3] = (x >>> 24) & 0xff;
    this.#len = at + 4;
  }

  f64(x: number): void {
    this.#ensure(8);
    F64[0] = x;
    const buf = this.#buf;
    const at = this.#len;
    for (let k = 0; k < 8; k++) buf[at + k] = F64_BYTES[k]!;
    this.#len = at + 8;
  }

  /**
   * `count` unsigned integers of at most `width` ≤ 24 bits each (values[i] for i < count, or, with `minus`,
   * values[i] − minus[i]), little-endian bit order, padded to a whole byte.
   */
  packed(values: ArrayLike<number>, count: number, width: number, minus?: ArrayLike<number>): void {
    this.#ensure(((count * width + 7) >>> 3) + 1);
    const buf = this.#buf;
    let at = this.#len;
    let acc = 0;
    let bits = 0;
    for (let i = 0; i < count; i++) {
      acc |= (minus ? values[i]! - minus[i]! : values[i]!) << bits;
      bits += width;
      while (bits >= 8) {
        buf[at++] = acc & 0xff;
        acc >>>= 8;
        bits -= 8;
      }
    }
    if (bits > 0) buf[at++] = acc & 0xff;
    this.#len = at;
  }

  /**
   * An integer 0 ≤ x < 2⁵³ as an unsigned LEB128 varint (7 bits a byte, low first, high bit = more):
   * one byte below 128, at most eight.
   */
  varint(x: number): void {
    this.#ensure(8);
    const buf = this.#buf;
    let at = this.#len;
    while (x >= 0x80) {
      buf[at++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    buf[at++] = x;
    this.#len = at;
  }

  /** Raw bytes without a length prefix. */
  raw(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    this.u32(n);
    this.#ensure(n);
    const buf = this.#buf;
    const at = this.#len;
    // TypedArray#set has a fixed cost that dominates for field names and small arrays.
    if (n <= 32) for (let k = 0; k < n; k++) buf[at + k] = b[k]!;
    else buf.set(b, at);
    this.#len = at + n;
  }

  result(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }

  /** The bytes written since `from` as a view into the writer's buffer (valid until the next write). */
  view(from = 0): Uint8Array {
    return this.#buf.subarray(from, this.#len);
  }

  /** Writes `x` as a little-endian 32-bit word at byte `at` (< length − 3): a placeholder filled in later. */
  setU32(at: number, x: number): void {
    const b = this.#buf;
    b[at] = x & 0xff;
    b[at + 1] = (x >>> 8) & 0xff;
    b[at + 2] = (x >>> 16) & 0xff;
    b[at + 3] = (x >>> 24) & 0xff;
  }

  /** Writes `x` as a big-endian 32-bit word at byte `at` (a length prefix filled in later). */
  setU32BE(at: number, x: number): void {
    const b = this.#buf;
    b[at] = (x >>> 24) & 0xff;
    b[at + 1] = (x >>> 16) & 0xff;
    b[at + 2] = (x >>> 8) & 0xff;
    b[at + 3] = x & 0xff;
  }

  /**
   * Zero-pads the bytes written so far to whole 16-byte blocks and returns their count in words; the
   * words are the first ones of `wordView()`. Allocates nothing (authentication's hot path).
   */
  padToBlocks(): number {
    const len = this.#len;
    const padded = ((len + 15) >>> 4) << 4;
    this.#ensure(padded - len);
    this.#buf.fill(0, len, padded);
    return padded >>> 2;
  }

  /** The writer's whole buffer as little-endian words (after `padToBlocks`), valid until it grows. */
  wordView(): Uint32Array {
    return (this.#words ??= new Uint32Array(this.#buf.buffer, 0, this.#buf.length >>> 2));
  }

  /**
   * The bytes written so far as little-endian words, zero-padded to whole 16-byte blocks: a view into
   * the writer's buffer (no copy), valid until the next write.
   */
  paddedWords(): { words: Uint32Array; bytes: number } {
    const len = this.#len;
    const padded = ((len + 15) >>> 4) << 4;
    this.#ensure(padded - len);
    this.#buf.fill(0, len, padded);
    return { words: new Uint32Array(this.#buf.buffer, 0, padded >>> 2), bytes: len };
  }
}
