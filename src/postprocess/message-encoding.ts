/**
 * A deterministic, injective byte encoding of classical messages, so that authentication hashes exactly
 * what is sent. Every value is written with a one-byte type tag and, where variable, a length prefix:
 * objects as their keys in sorted order, typed arrays and BitArrays as raw little-endian bytes,
 * numbers as IEEE-754 doubles, strings/booleans as UTF-8 JSON text. Two different messages never share an encoding, so a tag
 * over the encoding covers every field (a network adapter sends these bytes).
 */
import { BitArray } from '../common/index.ts';

const utf8 = new TextEncoder();
/** Scratch for writing doubles (little-endian on every platform Node 20 supports). */
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const textCache = new Map<string, Uint8Array>();

/** UTF-8 bytes of short strings (field names, type names), cached. */
function text(s: string): Uint8Array {
  let b = textCache.get(s);
  if (!b) {
    b = utf8.encode(s);
    if (s.length <= 32 && textCache.size < 1024) textCache.set(s, b);
  }
  return b;
}

/** Canonical JSON text of short strings and booleans as UTF-8, cached (message types, names). */
const jsonCache = new Map<string | boolean, Uint8Array>();

function jsonText(v: string | boolean): Uint8Array {
  let b = jsonCache.get(v);
  if (!b) {
    b = utf8.encode(JSON.stringify(v));
    if ((typeof v === 'boolean' || v.length <= 32) && jsonCache.size < 1024) jsonCache.set(v, b);
  }
  return b;
}

/**
 * Sorts keys in place in the order of Array.prototype.sort() (UTF-16 code units, which is what `<`
 * compares), by insertion sort: messages have a dozen keys, where this beats the generic sort.
 */
function sortInPlace(keys: string[]): string[] {
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

/** An object layout seen before: its keys in own-property order, sorted, and their encoded names. */
interface Shape {
  readonly keys: readonly string[];
  readonly sorted: readonly string[];
  readonly names: readonly Uint8Array[];
}
/** The few layouts classical messages use (Cascade requests, replies, envelopes), most recent first. */
const shapes: Shape[] = [];
const MAX_SHAPES = 16;

/** The shape of `v` (same keys in the same order ⇒ same sorted order and names); cached when seen. */
function shapeOf(v: object): Shape {
  const keys = Object.keys(v);
  search: for (let s = 0; s < shapes.length; s++) {
    const sh = shapes[s]!;
    if (sh.keys.length !== keys.length) continue;
    for (let i = 0; i < keys.length; i++) if (sh.keys[i] !== keys[i]) continue search;
    return sh;
  }
  const sorted = sortInPlace(keys.slice());
  const sh = { keys, sorted, names: sorted.map(text) };
  if (keys.length <= 32 && sorted.every((k) => k.length <= 32)) {
    if (shapes.length === MAX_SHAPES) shapes.pop();
    shapes.unshift(sh);
  }
  return sh;
}

class ByteWriter {
  #buf = new Uint8Array(4096);
  #len = 0;

  /** Starts a new message, keeping the buffer. */
  reset(): void {
    this.#len = 0;
  }

  #ensure(extra: number): void {
    if (this.#len + extra <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
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

function write(w: ByteWriter, v: unknown): void {
  if (v === undefined || v === null) w.byte(0);
  else if (typeof v === 'number') {
    w.byte(6);
    w.f64(v);
  } else if (typeof v === 'string' || typeof v === 'boolean') {
    w.byte(1);
    w.bytes(jsonText(v));
  } else if (v instanceof BitArray) {
    w.byte(2);
    w.u32(v.length);
    w.bytes(new Uint8Array(v.words.buffer, v.words.byteOffset, v.words.byteLength));
  } else if (ArrayBuffer.isView(v)) {
    w.byte(3);
    w.bytes(text(v.constructor.name));
    w.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  } else if (Array.isArray(v)) {
    w.byte(4);
    w.u32(v.length);
    for (let i = 0; i < v.length; i++) write(w, v[i]);
  } else if (typeof v === 'object') {
    const { sorted, names } = shapeOf(v);
    w.byte(5);
    w.u32(sorted.length);
    for (let i = 0; i < sorted.length; i++) {
      w.bytes(names[i]!);
      write(w, (v as Record<string, unknown>)[sorted[i]!]);
    }
  } else throw new TypeError(`Cannot encode a ${typeof v} in a classical message`);
}

/** One writer reused by `encodeMessageWords` (authentication hashes every message; no per-message buffer). */
const shared = new ByteWriter();
/** Another for `encodeMessage`, whose result is a copy (so the two never overwrite each other's bytes). */
const forCopy = new ByteWriter();

/** The canonical bytes of a message (plain objects of numbers, strings, typed arrays and BitArrays). */
export function encodeMessage(message: unknown): Uint8Array {
  forCopy.reset();
  try {
    write(forCopy, message);
    return forCopy.result();
  } finally {
    forCopy.reset();
  }
}

/**
 * The same bytes as `encodeMessage`, as little-endian 32-bit words zero-padded to whole 16-byte blocks,
 * with the unpadded byte count. The words are a view into a buffer reused by the next call: hash them at
 * once, keep nothing. (Authentication's hot path: no copy and no allocation per message.)
 */
export function encodeMessageWords(message: unknown): { words: Uint32Array; bytes: number } {
  shared.reset();
  try {
    write(shared, message);
  } catch (e) {
    shared.reset();
    throw e;
  }
  return shared.paddedWords();
}
