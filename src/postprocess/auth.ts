/**
 * Authentication of the classical channel by Wegman–Carter (M. N. Wegman, J. L. Carter, "New hash
 * functions and their use in authentication and set equality", JCSS 22 (1981) 265–279): each message gets
 * the tag t = H_r(m) ⊕ s, where H_r is the GF(2¹²⁸) polynomial hash (poly-hash.ts, ε-almost-XOR-universal
 * with ε = (L+1)/2¹²⁸ for L-block messages) and s is a fresh one-time pad. The hash key r may be reused
 * within a session because every tag is encrypted with fresh pad bits (D. R. Stinson, "Universal hashing
 * and authentication codes", Des. Codes Cryptogr. 4 (1994) §5); the family {H_r ⊕ s} is ε-almost strongly
 * universal, so a forger succeeds with probability ≤ ε per attempt.
 *
 * Key comes from a pre-shared pool at both ends, consumed in the same order: 128 bits for r when a session
 * starts and 128 bits of pad per message. Each message carries a sequence number and its sender inside the
 * tagged bytes; a tampered, reordered, replayed or reflected message fails `open()` and aborts the session.
 * The pool is replenished from produced keys; what it consumes is subtracted from the net key rate.
 */
import { BitArray } from '../common/index.ts';
import { Gf128Multiplier, type Gf128 } from './gf128.ts';
import {
  encodeSealed,
  lastSealedCopy,
  sealedWords,
  writeSealedTo,
  type SealedWords,
} from './message-encoding.ts';
import type { ByteWriter } from './byte-writer.ts';
import { copyBits } from './bit-utils.ts';
import { polyHash } from './poly-hash.ts';
import { decodeSealed } from './message-decoding.ts';

/** Tag length and per-message pad consumption, bits. */
export const AUTH_TAG_BITS = 128;

/** A pool of pre-shared authentication key bits; both ends hold identical pools and draw in lockstep. */
export class AuthKeyPool {
  #bits: BitArray;
  #offset = 0;
  #consumed = 0;

  /** A pool holding a copy of `initial` (pre-shared key). */
  constructor(initial: BitArray) {
    this.#bits = initial.clone();
  }

  /** Bits still available. */
  get availableBits(): number {
    return this.#bits.length - this.#offset;
  }

  /** Bits drawn since the pool was created. */
  get consumedBits(): number {
    return this.#consumed;
  }

  /** Draws the next 128 bits as four words, erasing them from the pool; null when the pool is short. */
  take128(): Gf128 | null {
    if (this.availableBits < 128) return null;
    const chunk = new BitArray(128);
    copyBits(this.#bits, this.#offset, 128, chunk, 0);
    const out = chunk.words;
    for (let i = this.#offset; i < this.#offset + 128; i++) this.#bits.set(i, 0);
    this.#offset += 128;
    this.#consumed += 128;
    return out;
  }

  /** Appends fresh key bits (taken from a produced final key). */
  replenish(bits: BitArray): void {
    const merged = new BitArray(this.availableBits + bits.length);
    copyBits(this.#bits, this.#offset, this.availableBits, merged, 0);
    copyBits(bits, 0, bits.length, merged, this.availableBits);
    this.#bits.wipe();
    this.#bits = merged;
    this.#offset = 0;
  }

  /**
   * Moves the next `bits` bits into a new pool and erases them here: a reservation for one block run
   * elsewhere (a worker thread), so that the bits count as drawn even if that block never comes back.
   * Null when fewer bits are available.
   */
  reserve(bits: number): AuthKeyPool | null {
    if (!(Number.isInteger(bits) && bits >= 0)) throw new RangeError(`reserve: bits must be an integer ≥ 0`);
    if (this.availableBits < bits) return null;
    const part = new BitArray(bits);
    copyBits(this.#bits, this.#offset, bits, part, 0);
    for (let i = this.#offset; i < this.#offset + bits; i++) this.#bits.set(i, 0);
    this.#offset += bits;
    this.#consumed += bits;
    const pool = new AuthKeyPool(part);
    part.wipe();
    return pool;
  }

  /** A copy of the bits not yet drawn, in drawing order (for persistence; wipe it after use). */
  remaining(): BitArray {
    return this.#bits.slice(this.#offset);
  }

  /** Erases every bit the pool holds. */
  wipe(): void {
    this.#bits.wipe();
    this.#offset = this.#bits.length;
  }

  /** An identical pool for the other end (simulation: both ends start from the same pre-shared bits). */
  clone(): AuthKeyPool {
    const p = new AuthKeyPool(this.#bits.slice(this.#offset));
    return p;
  }
}

/** The two ends of a link. */
export type Party = 'alice' | 'bob';

/** A message with its Wegman–Carter tag. */
export interface SealedMessage<T> {
  readonly seq: number;
  readonly from: Party;
  readonly body: T;
  readonly tag: Gf128;
}

/** The tag of a transcript-mode message (its authenticity is checked at the checkpoint). */
const EMPTY_TAG = new Uint32Array(0);

/**
 * A sealed message with its canonical bytes (message-encoding.ts `encodeSealed`) kept beside it, in a
 * private field, so neither end encodes it twice: the sender's (`seal`, transcript mode) for the
 * transport, the receiver's (`sealedFromWire`) for authentication. Only bytes the body was decoded from
 * are ever hashed in place of the body (`wire`); a sender's bytes only travel. A copy made with spread
 * syntax (`{ ...m, body }`, as an attacker in a test does) is a plain object without them, so it is
 * encoded afresh: what is authenticated is always what the receiver acts on.
 */
class Sealed<T> implements SealedMessage<T> {
  readonly seq: number;
  readonly from: Party;
  readonly body: T;
  readonly tag: Gf128;
  readonly #bytes: Uint8Array;
  readonly #wire: boolean;

  constructor(seq: number, from: Party, body: T, tag: Gf128, bytes: Uint8Array, wire: boolean) {
    this.seq = seq;
    this.from = from;
    this.body = body;
    this.tag = tag;
    this.#bytes = bytes;
    this.#wire = wire;
  }

  /** The canonical bytes of `m` when known (sent or received), else undefined. */
  static bytesOf(m: SealedMessage<unknown>): Uint8Array | undefined {
    return m instanceof Sealed ? m.#bytes : undefined;
  }

  /** The bytes `m`'s body was decoded from (a message from the peer's wire), else undefined. */
  static wireBytesOf(m: SealedMessage<unknown>): Uint8Array | undefined {
    return m instanceof Sealed && m.#wire ? m.#bytes : undefined;
  }
}

/**
 * A sealed message from the canonical bytes a peer sent (message-encoding.ts `encodeSealed`) and the tag
 * beside them: the body is decoded from those bytes, and authentication hashes those same bytes, so what
 * is checked is exactly what arrived. `bytes` must not change afterwards (the caller hands over a view
 * it keeps unchanged). Throws MessageDecodeError on bytes that are not a sealed message.
 */
export function sealedFromWire(bytes: Uint8Array, tag: Gf128): SealedMessage<unknown> {
  const { seq, from, body } = decodeSealed(bytes);
  return new Sealed(seq, from, body, tag, bytes, true);
}

/** The canonical bytes of a sealed message, as the peer's `sealedFromWire` takes them. */
export function sealedBytes(msg: SealedMessage<unknown>): Uint8Array {
  return Sealed.bytesOf(msg) ?? encodeSealed(msg.seq, msg.from, msg.body);
}

/**
 * Writes the canonical bytes of a sealed message into `w` (the transport's send buffer): copied when
 * they are known, else encoded there, so sending allocates nothing per message.
 */
export function writeSealedBytes(w: ByteWriter, msg: SealedMessage<unknown>): void {
  const b = Sealed.bytesOf(msg);
  if (b) w.raw(b);
  else writeSealedTo(w, msg.seq, msg.from, msg.body);
}

/** Why authentication stopped a session. */
export type AuthFailure = 'auth-pool-exhausted' | 'auth-tag-mismatch' | 'auth-out-of-order' | 'auth-aborted';

/**
 * How messages are authenticated. `per-message`: every message carries its own tag (128 pad bits each).
 * `transcript` (delayed authentication): messages travel untagged but are absorbed, in order and with
 * their sequence numbers and senders, into one running polynomial hash; `checkpoint()` then sends
 * H_r(transcript) ⊕ s. Any tampered, injected, dropped, replayed or reordered message changes the
 * transcript, so the checkpoint fails and the block is discarded before any key is output. Cost: 128 bits
 * of hash key + 128 per checkpoint, instead of 128 per message (Cascade exchanges hundreds of messages).
 */
export type AuthMode = 'per-message' | 'transcript';

/**
 * One end's authentication state for one block: seals what it sends and opens what it receives, both
 * numbered in one sequence shared by the two ends. Any failure aborts the session for good.
 */
export class AuthSession {
  readonly party: Party;
  readonly mode: AuthMode;
  readonly #pool: AuthKeyPool;
  #mul: Gf128Multiplier | null = null;
  #seq = 0;
  #failure: AuthFailure | null = null;
  #used = 0;
  /** Running transcript hash (Horner state) and absorbed length in bits. */
  readonly #h = new Uint32Array(4);
  #absorbedBits = 0;

  constructor(party: Party, pool: AuthKeyPool, mode: AuthMode = 'per-message') {
    this.party = party;
    this.#pool = pool;
    this.mode = mode;
  }

  /** Key bits this session consumed. */
  get bitsUsed(): number {
    return this.#used;
  }

  /** Why the session aborted, or null while it is healthy. */
  get failure(): AuthFailure | null {
    return this.#failure;
  }

  #hashKey(): boolean {
    if (this.#mul) return true;
    const r = this.#pool.take128();
    if (!r) return false;
    this.#used += 128;
    this.#mul = new Gf128Multiplier(r);
    r.fill(0);
    return true;
  }

  #pad(): Gf128 | null {
    if (!this.#hashKey()) return null;
    const s = this.#pool.take128();
    if (s) this.#used += 128;
    return s;
  }

  /**
   * The message's canonical encoding (message-encoding.ts `encodeSealed`) as zero-padded words, a view
   * reused by the next call (hash at once): the bytes it arrived as when it came from the peer's wire
   * (`sealedFromWire`), so the receiver hashes exactly what was sent, else encoded here.
   */
  static #words(msg: SealedMessage<unknown>): SealedWords {
    return sealedWords(msg.seq, msg.from, msg.body, Sealed.wireBytesOf(msg));
  }

  #tag(msg: SealedMessage<unknown>, pad: Gf128): Gf128 {
    const { words, count, bytes } = AuthSession.#words(msg);
    const h = polyHash(this.#mul!, words.subarray(0, count), bytes * 8);
    for (let i = 0; i < 4; i++) h[i]! ^= pad[i]!;
    pad.fill(0);
    return h;
  }

  /**
   * Absorbs a message into the transcript hash. Each encoding is padded to whole 128-bit blocks; the
   * encoding is self-delimiting (every field has a tag and a length or a fixed size), so the padded
   * sequence still determines the messages.
   */
  #absorb(msg: SealedMessage<unknown>): void {
    const w = AuthSession.#words(msg);
    this.#absorbWords(w.words, w.count);
  }

  #absorbWords(words: Uint32Array, count: number): void {
    this.#mul!.absorbBlocks(this.#h, words, 0, count);
    this.#absorbedBits += count * 32;
  }

  /** H_r(transcript) ⊕ pad, closing the polynomial with the absorbed length and the checkpoint's origin. */
  #transcriptTag(from: Party, pad: Gf128): Gf128 {
    const h = this.#h.slice();
    h[0]! ^= this.#absorbedBits >>> 0;
    h[1]! ^= Math.floor(this.#absorbedBits / 2 ** 32) >>> 0;
    h[2]! ^= from === 'alice' ? 1 : 2;
    this.#mul!.mulInPlace(h);
    for (let i = 0; i < 4; i++) h[i]! ^= pad[i]!;
    pad.fill(0);
    return h;
  }

  /** Tags `body` for the peer (or, in transcript mode, absorbs it); fails when aborted or the pool is short. */
  seal<T>(body: T): { ok: true; sealed: SealedMessage<T> } | { ok: false; reason: AuthFailure } {
    if (this.#failure) return { ok: false, reason: 'auth-aborted' };
    if (this.mode === 'transcript') {
      if (!this.#hashKey()) return this.#abort('auth-pool-exhausted');
      const seq = this.#seq++;
      // Encoded once: hashed here and a copy kept for the transport (`sealedBytes`).
      const w = sealedWords(seq, this.party, body);
      this.#absorbWords(w.words, w.count);
      const copy = lastSealedCopy();
      return { ok: true, sealed: new Sealed(seq, this.party, body, EMPTY_TAG, copy, false) };
    }
    const pad = this.#pad();
    if (!pad) return this.#abort('auth-pool-exhausted');
    const msg = { seq: this.#seq++, from: this.party, body, tag: EMPTY_TAG };
    return { ok: true, sealed: { ...msg, tag: this.#tag(msg, pad) } };
  }

  /** Checks a message from the peer: right sequence number, right sender, right tag (per-message mode). */
  open<T>(msg: SealedMessage<T>): { ok: true; body: T } | { ok: false; reason: AuthFailure } {
    if (this.#failure) return { ok: false, reason: 'auth-aborted' };
    const peer: Party = this.party === 'alice' ? 'bob' : 'alice';
    if (msg.seq !== this.#seq || msg.from !== peer) return this.#abort('auth-out-of-order');
    if (this.mode === 'transcript') {
      if (!this.#hashKey()) return this.#abort('auth-pool-exhausted');
      this.#seq++;
      this.#absorb(msg);
      return { ok: true, body: msg.body };
    }
    const pad = this.#pad();
    if (!pad) return this.#abort('auth-pool-exhausted');
    this.#seq++;
    const t = this.#tag(msg, pad);
    let diff = 0;
    for (let i = 0; i < 4; i++) diff |= t[i]! ^ (msg.tag[i] ?? 0);
    if (diff !== 0 || msg.tag.length !== 4) return this.#abort('auth-tag-mismatch');
    return { ok: true, body: msg.body };
  }

  /** Transcript mode: a message carrying this end's tag over everything exchanged so far. */
  checkpoint():
    { ok: true; sealed: SealedMessage<{ type: 'checkpoint' }> } | { ok: false; reason: AuthFailure } {
    if (this.#failure) return { ok: false, reason: 'auth-aborted' };
    const pad = this.#pad();
    if (!pad) return this.#abort('auth-pool-exhausted');
    const seq = this.#seq++;
    const tag = this.#transcriptTag(this.party, pad);
    return { ok: true, sealed: { seq, from: this.party, body: { type: 'checkpoint' }, tag } };
  }

  /** Transcript mode: checks the peer's checkpoint against this end's own transcript. */
  verifyCheckpoint(msg: SealedMessage<unknown>): { ok: true } | { ok: false; reason: AuthFailure } {
    if (this.#failure) return { ok: false, reason: 'auth-aborted' };
    const peer: Party = this.party === 'alice' ? 'bob' : 'alice';
    if (msg.seq !== this.#seq || msg.from !== peer) return this.#abort('auth-out-of-order');
    const pad = this.#pad();
    if (!pad) return this.#abort('auth-pool-exhausted');
    this.#seq++;
    const t = this.#transcriptTag(peer, pad);
    let diff = msg.tag.length === 4 ? 0 : 1;
    for (let i = 0; i < 4; i++) diff |= t[i]! ^ (msg.tag[i] ?? 0);
    return diff === 0 ? { ok: true } : this.#abort('auth-tag-mismatch');
  }

  #abort(reason: AuthFailure): { ok: false; reason: AuthFailure } {
    this.#failure = reason;
    return { ok: false, reason };
  }
}
