/**
 * The inverse of message-encoding.ts: turns the canonical bytes of a classical message back into the
 * value, so a network adapter can carry exactly the bytes authentication hashes. Objects come back with
 * their keys in sorted order (the encoding ignores key order, so re-encoding gives the same bytes), `null`
 * and `undefined` both encode as tag 0 and decode as `undefined`. Input from a peer is untrusted: every
 * length is checked against what remains, nesting is bounded, typed arrays are limited to the plain
 * numeric kinds, and anything malformed throws a `MessageDecodeError` naming the offset.
 */
import { BitArray } from '../common/index.ts';

/** A byte string that is not the canonical encoding of any message. */
export class MessageDecodeError extends Error {
  constructor(message: string) {
    super(`malformed classical message: ${message}`);
    this.name = 'MessageDecodeError';
  }
}

/** Deepest nesting of arrays and objects accepted (classical messages nest three or four levels). */
export const MAX_MESSAGE_DEPTH = 16;

const TYPED: Record<string, { bytes: number; make: (b: ArrayBuffer) => ArrayBufferView }> = {
  Uint8Array: { bytes: 1, make: (b) => new Uint8Array(b) },
  Int8Array: { bytes: 1, make: (b) => new Int8Array(b) },
  Uint16Array: { bytes: 2, make: (b) => new Uint16Array(b) },
  Int16Array: { bytes: 2, make: (b) => new Int16Array(b) },
  Uint32Array: { bytes: 4, make: (b) => new Uint32Array(b) },
  Int32Array: { bytes: 4, make: (b) => new Int32Array(b) },
  Float32Array: { bytes: 4, make: (b) => new Float32Array(b) },
  Float64Array: { bytes: 8, make: (b) => new Float64Array(b) },
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Scratch for reading doubles (little-endian on every platform Node 20 supports). */
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);

/** Reads the canonical encoding; words are assembled from bytes (no DataView per message). */
class ByteReader {
  readonly #b: Uint8Array;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#b = bytes;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.#b.length - this.#at;
  }

  get done(): boolean {
    return this.#at === this.#b.length;
  }

  #need(n: number): void {
    if (this.#at + n > this.#b.length)
      throw new MessageDecodeError(
        `needs ${n} bytes at offset ${this.#at}, ${this.#b.length - this.#at} left`,
      );
  }

  byte(): number {
    this.#need(1);
    return this.#b[this.#at++]!;
  }

  u32(): number {
    this.#need(4);
    const b = this.#b;
    const at = this.#at;
    this.#at = at + 4;
    return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
  }

  f64(): number {
    this.#need(8);
    const b = this.#b;
    const at = this.#at;
    for (let k = 0; k < 8; k++) F64_BYTES[k] = b[at + k]!;
    this.#at = at + 8;
    return F64[0]!;
  }

  /** A length-prefixed byte run, copied into a fresh (aligned) buffer. */
  bytes(): Uint8Array {
    const n = this.u32();
    this.#need(n);
    // A copy into its own buffer (Buffer#slice would share the socket's pooled memory).
    const out = new Uint8Array(n);
    out.set(this.#b.subarray(this.#at, this.#at + n));
    this.#at += n;
    return out;
  }

  /** `count` unsigned integers of `width` ≤ 24 bits, bit-packed (ByteWriter.packed), into `out`. */
  packed(count: number, width: number, out: Uint8Array | Uint32Array): void {
    if (width > 24) throw new MessageDecodeError(`a packed width of ${width} bits`);
    const n = (count * width + 7) >>> 3;
    this.#need(n);
    const b = this.#b;
    let at = this.#at;
    const mask = width === 0 ? 0 : 0xffffff >>> (24 - width);
    let acc = 0;
    let bits = 0;
    for (let i = 0; i < count; i++) {
      while (bits < width) {
        acc |= b[at++]! << bits;
        bits += 8;
      }
      out[i] = acc & mask;
      acc >>>= width;
      bits -= width;
    }
    this.#at += n;
  }

  /** An unsigned LEB128 varint below 2⁵³ in its shortest form (ByteWriter.varint). */
  varint(): number {
    let x = 0;
    let scale = 1;
    for (let k = 0; k < 8; k++) {
      const c = this.byte();
      x += (c & 0x7f) * scale;
      if (c < 0x80) {
        if (c === 0 && k > 0) throw new MessageDecodeError('a varint not in its shortest form');
        if (x > Number.MAX_SAFE_INTEGER) throw new MessageDecodeError('a varint above 2^53 - 1');
        return x;
      }
      scale *= 0x80;
    }
    throw new MessageDecodeError('a varint longer than 8 bytes');
  }

  text(): string {
    const n = this.u32();
    this.#need(n);
    const b = this.#b;
    const at = this.#at;
    this.#at += n;
    // Field names and message types are short ASCII: build them directly (no copy, no TextDecoder).
    if (n <= 64) {
      let s = '';
      for (let i = at; i < at + n; i++) {
        const c = b[i]!;
        if (c >= 0x80) return this.#utf8(at, n);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return this.#utf8(at, n);
  }

  #utf8(at: number, n: number): string {
    try {
      return utf8.decode(this.#b.subarray(at, at + n));
    } catch {
      throw new MessageDecodeError(`invalid UTF-8 before offset ${at + n}`);
    }
  }
}

function read(r: ByteReader, depth: number): unknown {
  if (depth > MAX_MESSAGE_DEPTH) throw new MessageDecodeError(`nested deeper than ${MAX_MESSAGE_DEPTH}`);
  const tag = r.byte();
  switch (tag) {
    case 0:
      return undefined;
    case 6:
      return r.f64();
    case 1: {
      let v: unknown;
      try {
        v = JSON.parse(r.text());
      } catch (e) {
        if (e instanceof MessageDecodeError) throw e;
        throw new MessageDecodeError('a text value is not JSON');
      }
      if (typeof v !== 'string' && typeof v !== 'boolean')
        throw new MessageDecodeError('a text value is neither a string nor a boolean');
      return v;
    }
    case 2: {
      const length = r.u32();
      const raw = r.bytes();
      if (raw.length !== ((length + 31) >>> 5) * 4)
        throw new MessageDecodeError(`a ${length}-bit array carries ${raw.length} bytes`);
      return new BitArray(length, new Uint32Array(raw.buffer, raw.byteOffset, raw.length >>> 2));
    }
    case 3: {
      const kind = TYPED[r.text()];
      if (!kind) throw new MessageDecodeError('unsupported typed array kind');
      const raw = r.bytes();
      if (raw.length % kind.bytes !== 0) throw new MessageDecodeError('typed array of a partial element');
      return kind.make(raw.buffer as ArrayBuffer);
    }
    case 4: {
      const n = r.u32();
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(read(r, depth + 1));
      return out;
    }
    case 5: {
      const n = r.u32();
      const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      let last: string | null = null;
      for (let i = 0; i < n; i++) {
        const key = r.text();
        // The encoder writes keys sorted and once each; anything else is not a canonical encoding.
        if (last !== null && !(last < key))
          throw new MessageDecodeError(`object keys out of order at "${key}"`);
        last = key;
        out[key] = read(r, depth + 1);
      }
      return { ...out };
    }
    case 7:
      return readRequest(r, depth);
    case 8: {
      const round = r.u32();
      const blockParities = new Uint8Array(r.u32());
      const parities = new Uint8Array(r.u32());
      r.packed(blockParities.length, 1, blockParities);
      r.packed(parities.length, 1, parities);
      return { blockParities, parities, round, type: 'parity-reply' };
    }
    case 10: {
      // Strictly increasing integers as varint gaps (message-encoding.ts); each takes at least a byte.
      const n = r.u32();
      if (n === 0 || n > r.remaining) throw new MessageDecodeError(`an increasing array of ${n} values`);
      const out = new Float64Array(n);
      let x = r.varint();
      out[0] = x;
      for (let i = 1; i < n; i++) {
        x += r.varint() + 1;
        if (x > Number.MAX_SAFE_INTEGER) throw new MessageDecodeError('an increasing array above 2^53 - 1');
        out[i] = x;
      }
      return out;
    }
    default:
      throw new MessageDecodeError(`unknown type tag ${tag}`);
  }
}

/** Tag 7: a parity request with bit-packed ranges (message-encoding.ts). */
function readRequest(r: ByteReader, depth: number): Record<string, unknown> {
  const round = r.u32();
  const hasSetup = r.byte();
  if (hasSetup > 1) throw new MessageDecodeError('a parity request setup flag other than 0 or 1');
  const setup = hasSetup ? read(r, depth + 1) : undefined;
  const blockPass = r.u32() - 1;
  const blockSize = r.u32();
  const blockCount = r.u32();
  const m = r.u32();
  if (m > r.remaining)
    throw new MessageDecodeError(`a parity request of ${m} ranges in ${r.remaining} bytes`);
  const wp = r.byte();
  const ws = r.byte();
  const wl = r.byte();
  if (wp > 8) throw new MessageDecodeError(`pass numbers of ${wp} bits`);
  const pass = new Uint8Array(m);
  const start = new Uint32Array(m);
  const end = new Uint32Array(m);
  r.packed(m, wp, pass);
  r.packed(m, ws, start);
  r.packed(m, wl, end);
  for (let i = 0; i < m; i++) end[i]! += start[i]!;
  const base = { blockCount, blockPass, blockSize, end, pass, round, start, type: 'parity-request' };
  return hasSetup ? { ...base, setup } : base;
}

/** A sealed message's fields, decoded from its canonical bytes (message-encoding.ts `encodeSealed`). */
export function decodeSealed(bytes: Uint8Array): { seq: number; from: 'alice' | 'bob'; body: unknown } {
  const r = new ByteReader(bytes);
  if (r.byte() !== 9) throw new MessageDecodeError('not a sealed message');
  const seq = r.u32();
  const f = r.byte();
  if (f !== 1 && f !== 2) throw new MessageDecodeError(`sender ${f} is neither 1 nor 2`);
  const body = read(r, 0);
  if (!r.done) throw new MessageDecodeError('trailing bytes after the message');
  return { seq, from: f === 1 ? 'alice' : 'bob', body };
}

/** The message whose canonical encoding is `bytes` (throws `MessageDecodeError` on anything else). */
export function decodeMessage(bytes: Uint8Array): unknown {
  const r = new ByteReader(bytes);
  const v = read(r, 0);
  if (!r.done) throw new MessageDecodeError('trailing bytes after the message');
  return v;
}
