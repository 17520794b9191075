/**
 * A deterministic, injective byte encoding of classical messages, so that authentication hashes exactly
 * what is sent. Every value is written with a one-byte type tag and, where variable, a length prefix:
 * objects as their keys in sorted order, typed arrays and BitArrays as raw little-endian bytes,
 * numbers as IEEE-754 doubles, strings/booleans as UTF-8 JSON text. Two different messages never share an encoding, so a tag
 * over the encoding covers every field (a network adapter sends these bytes).
 *
 * Compact forms for the messages that dominate traffic (Cascade sends hundreds per frame): a parity request
 * of exactly the `ParityRequest` shape (tag 7) and a parity reply of exactly the `ParityReply` shape whose
 * parities are all 0 or 1 (tag 8) are written with integer fields as 32-bit words and their lists
 * bit-packed at the width of their largest element (a request's ranges as start and length), so a question
 * costs about 4 bytes and an answer one bit. Anything else of those types takes the general form; the tags
 * differ, so the encoding stays injective. A non-empty Float64Array of strictly increasing integers (a
 * block's detection slots) is tag 10: its length and varint gaps. A sealed message (auth.ts) is tag 9, its sequence number, its
 * sender and its body: the bytes authentication hashes and the transport carries, exactly.
 */
import { BitArray } from '../common/index.ts';
import { ByteWriter } from './byte-writer.ts';

const utf8 = new TextEncoder();
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
  /** The compact form whose fields these are exactly (its values still checked per message), if any. */
  readonly compact: 'request' | 'reply' | null;
}
/** The fields of the two compact forms, sorted (a request's optional `setup` aside). */
const REQUEST_KEYS = 'blockCount,blockPass,blockSize,end,pass,round,start,type';
const REPLY_KEYS = 'blockParities,parities,round,type';
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
  const fields = sorted.filter((k) => k !== 'setup').join();
  const compact = fields === REQUEST_KEYS ? 'request' : sorted.join() === REPLY_KEYS ? 'reply' : null;
  const sh = { keys, sorted, names: sorted.map(text), compact } as const;
  if (keys.length <= 32 && sorted.every((k) => k.length <= 32)) {
    if (shapes.length === MAX_SHAPES) shapes.pop();
    shapes.unshift(sh);
  }
  return sh;
}

/** Bits needed for the largest of `count` values (of values[i] − minus[i] with `minus`); −1 if any is out of 0..2²⁴−1. */
function widthOf(values: ArrayLike<number>, count: number, minus?: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < count; i++) {
    const v = minus ? values[i]! - minus[i]! : values[i]!;
    if (!(v >= 0 && v < 0x1000000)) return -1;
    max |= v;
  }
  return 32 - Math.clz32(max);
}

const isU32 = (x: unknown): x is number => typeof x === 'number' && x >>> 0 === x;

/** Tag 7: a `ParityRequest` with bit-packed ranges; false (nothing written) when `v` is not exactly one. */
function writeRequest(w: ByteWriter, v: Record<string, unknown>): boolean {
  const { pass, start, end, round, blockPass, blockSize, blockCount } = v;
  if (!(pass instanceof Uint8Array)) return false;
  if (!(start instanceof Uint32Array && end instanceof Uint32Array)) return false;
  if (!(isU32(round) && isU32(blockSize) && isU32(blockCount) && isU32((blockPass as number) + 1)))
    return false;
  const m = pass.length;
  if (start.length !== m || end.length !== m) return false;
  const wp = widthOf(pass, m);
  const ws = widthOf(start, m);
  const wl = widthOf(end, m, start);
  // A list of ranges must take at least a byte per range, which the decoder checks before allocating.
  if (wp < 0 || ws < 0 || wl < 0 || (m > 0 && wp + ws + wl < 8)) return false;
  w.byte(7);
  w.u32(round);
  if ('setup' in v) {
    w.byte(1);
    write(w, v.setup);
  } else w.byte(0);
  w.u32((blockPass as number) + 1);
  w.u32(blockSize);
  w.u32(blockCount);
  w.u32(m);
  w.byte(wp);
  w.byte(ws);
  w.byte(wl);
  w.packed(pass, m, wp);
  w.packed(start, m, ws);
  w.packed(end, m, wl, start);
  return true;
}

/** Tag 8: a `ParityReply` of bits, one bit per parity; false (nothing written) when `v` is not exactly one. */
function writeReply(w: ByteWriter, v: Record<string, unknown>): boolean {
  const { round, blockParities: bp, parities: p } = v;
  if (!isU32(round)) return false;
  if (!(bp instanceof Uint8Array && p instanceof Uint8Array)) return false;
  if (widthOf(bp, bp.length) > 1 || widthOf(p, p.length) > 1) return false;
  w.byte(8);
  w.u32(round);
  w.u32(bp.length);
  w.u32(p.length);
  w.packed(bp, bp.length, 1);
  w.packed(p, p.length, 1);
  return true;
}

/**
 * Tag 10: a Float64Array of strictly increasing integers in 0..2⁵³−1 (a block's detection slots, 8 bytes
 * each in the general form) as its length and LEB128 varints of the first value and then of each gap —
 * one or two bytes a detection instead of eight. False (nothing written) for any other array.
 */
function writeIncreasing(w: ByteWriter, v: Float64Array): boolean {
  let prev = -1;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!(x > prev && x <= Number.MAX_SAFE_INTEGER && Number.isInteger(x)) || Object.is(x, -0)) return false;
    prev = x;
  }
  w.byte(10);
  w.u32(v.length);
  prev = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    w.varint(i === 0 ? x : x - prev - 1);
    prev = x;
  }
  return true;
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
  } else if (v instanceof Float64Array && v.length > 0 && writeIncreasing(w, v)) {
    return;
  } else if (ArrayBuffer.isView(v)) {
    w.byte(3);
    w.bytes(text(v.constructor.name));
    w.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  } else if (Array.isArray(v)) {
    w.byte(4);
    w.u32(v.length);
    for (let i = 0; i < v.length; i++) write(w, v[i]);
  } else if (typeof v === 'object') {
    const { sorted, names, compact } = shapeOf(v);
    if (compact) {
      const o = v as Record<string, unknown>;
      if (compact === 'request' && o.type === 'parity-request' && writeRequest(w, o)) return;
      if (compact === 'reply' && o.type === 'parity-reply' && writeReply(w, o)) return;
    }
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

/** Writes the sealed form into `w`: tag 9, sequence number, sender (1 Alice, 2 Bob), body. */
export function writeSealedTo(w: ByteWriter, seq: number, from: 'alice' | 'bob', body: unknown): void {
  w.byte(9);
  w.u32(seq);
  w.byte(from === 'alice' ? 1 : 2);
  write(w, body);
}

/** The canonical bytes of a sealed message (what authentication hashes and the transport carries). */
export function encodeSealed(seq: number, from: 'alice' | 'bob', body: unknown): Uint8Array {
  forCopy.reset();
  try {
    writeSealedTo(forCopy, seq, from, body);
    return forCopy.result();
  } finally {
    forCopy.reset();
  }
}

/** What `sealedWords` returns: one object, reused by every call. */
export interface SealedWords {
  /** The shared writer's buffer as words: the first `count` are the message's, zero-padded. */
  words: Uint32Array;
  count: number;
  /** Unpadded length, bytes. */
  bytes: number;
}
const sealedOut: SealedWords = { words: new Uint32Array(0), count: 0, bytes: 0 };

/**
 * `encodeSealed`'s bytes as zero-padded little-endian words, or, given `bytes` (a sealed message's
 * canonical bytes received from the peer), those bytes as such words, so the receiver hashes exactly
 * what arrived. Nothing is allocated: the result and its words are reused by the next call (hash at once;
 * `lastSealedCopy` copies the bytes out).
 */
export function sealedWords(
  seq: number,
  from: 'alice' | 'bob',
  body: unknown,
  bytes?: Uint8Array,
): SealedWords {
  shared.reset();
  try {
    if (bytes) shared.raw(bytes);
    else writeSealedTo(shared, seq, from, body);
  } catch (e) {
    shared.reset();
    throw e;
  }
  sealedOut.bytes = shared.length;
  sealedOut.count = shared.padToBlocks();
  sealedOut.words = shared.wordView();
  return sealedOut;
}

/** A copy of the bytes of the last `sealedWords` call (unpadded). */
export function lastSealedCopy(): Uint8Array {
  return shared.result();
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
