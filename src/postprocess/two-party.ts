/**
 * Two-party runtime of reconciliation, sans-IO: Alice's end and Bob's end are separate objects that hold
 * only their own key and exchange only sealed messages (auth.ts), so they can run in one process (the
 * memory channel) or in two processes on two machines (tcp-transport.ts carries the same messages).
 *
 * Work is cut into units (a reconciliation frame here; a whole block in two-party-pipeline.ts), each with
 * its own Wegman–Carter session in transcript mode, numbered by a unit id that multiplexes many units over
 * one connection: Bob keeps up to W units in flight, so a round trip of latency is hidden behind the work
 * of the other units. Each unit draws its authentication key (UNIT_AUTH_BITS) from the pre-shared pool in
 * unit-id order at both ends, whatever order messages of different units interleave in.
 *
 * One frame: Bob's corrector asks parities (the setup in the first request announces algorithm, length,
 * QBER estimate and a fresh public shuffle seed, from which both ends derive the permutations), Alice's
 * responder answers, Bob says done; Alice sends a fresh verification hash key and her key's tag (poly-hash),
 * Bob answers equal or not; then Alice's and Bob's transcript checkpoints. A frame counts only when both
 * checkpoints verify; any tampered, dropped, injected or reordered message fails one of them.
 */
import { BitArray, type Rng } from '../common/index.ts';
import { AuthKeyPool, AuthSession, type AuthFailure, type Party, type SealedMessage } from './auth.ts';
import { randomHashKey, verificationMessage, verifyKey, type VerificationMessage } from './poly-hash.ts';
import type {
  ErrorCorrection,
  ErrorCorrector,
  ParityReply,
  ParityRequest,
  ParityResponder,
} from './reconciliation.ts';

/** Authentication key one unit draws from the pool: hash key r + two checkpoint pads (transcript mode). */
export const UNIT_AUTH_BITS = 384;

/** A sealed message of one unit as it travels. */
export interface Envelope {
  readonly unit: number;
  readonly sealed: SealedMessage<unknown>;
}

/** Notice that one end gave a unit up (unauthenticated: it can only make the peer discard the unit too). */
export interface UnitAbort {
  readonly unit: number;
  readonly abort: string;
}

/** Why a unit produced nothing. */
export type UnitFailure =
  | AuthFailure
  | 'verification-failed'
  | 'insecure-estimate'
  | 'no-secure-key'
  | 'protocol-error'
  | 'peer-aborted'
  | 'peer-disconnected';

/** What a unit ended with, at one end. */
export type UnitOutcome =
  | { readonly ok: true; readonly unit: number }
  | { readonly ok: false; readonly unit: number; readonly reason: UnitFailure; readonly detail?: string };

/** One end of one unit: consumes the peer's messages, produces its own. */
export interface UnitEnd {
  readonly id: number;
  /** Messages to send first (Bob starts; Alice's ends return none). */
  start(): Envelope[];
  /** Consumes a message of this unit and returns the answers (none once finished). */
  receive(sealed: SealedMessage<unknown>): Envelope[];
  /** Set once the unit has finished, successfully or not. */
  readonly outcome: UnitOutcome | null;
  /** Ends the unit from outside (peer abort, lost connection): erases its key material. */
  abort(reason: UnitFailure, detail?: string): void;
}

/** Carves each unit's authentication key from the pre-shared pool, in unit-id order. */
export class UnitPools {
  readonly #pool: AuthKeyPool;
  readonly #carved = new Map<number, AuthKeyPool>();
  #next = 0;

  constructor(pool: AuthKeyPool) {
    this.#pool = pool;
  }

  /** The unit's own pool (null when the pre-shared pool is exhausted). Each id is handed out once. */
  take(id: number): AuthKeyPool | null {
    while (this.#next <= id) {
      const bits = new BitArray(UNIT_AUTH_BITS);
      for (let i = 0; i < UNIT_AUTH_BITS / 128; i++) {
        const w = this.#pool.take128();
        if (!w) return null;
        bits.words.set(w, i * 4);
        w.fill(0);
      }
      this.#carved.set(this.#next++, new AuthKeyPool(bits));
      bits.wipe();
    }
    const p = this.#carved.get(id) ?? null;
    this.#carved.delete(id);
    return p;
  }
}

/** Shared mechanics of a unit end: sealing, opening, checkpoints, failure as a value. */
export abstract class UnitBase implements UnitEnd {
  readonly id: number;
  protected readonly session: AuthSession;
  #outcome: UnitOutcome | null = null;

  constructor(id: number, party: Party, pool: AuthKeyPool | null) {
    this.id = id;
    this.session = new AuthSession(party, pool ?? new AuthKeyPool(new BitArray(0)), 'transcript');
  }

  get outcome(): UnitOutcome | null {
    return this.#outcome;
  }

  start(): Envelope[] {
    return [];
  }

  protected seal(body: unknown): Envelope[] {
    const s = this.session.seal(body);
    if (!s.ok) return this.fail(s.reason);
    return [{ unit: this.id, sealed: s.sealed }];
  }

  protected checkpoint(): Envelope[] {
    const c = this.session.checkpoint();
    if (!c.ok) return this.fail(c.reason);
    return [{ unit: this.id, sealed: c.sealed }];
  }

  /** Verifies the peer's checkpoint; false (and the unit failed) when it does not match. */
  protected verifyCheckpoint(sealed: SealedMessage<unknown>): boolean {
    const v = this.session.verifyCheckpoint(sealed);
    if (!v.ok) this.fail(v.reason);
    return v.ok;
  }

  /** Ends the unit from outside (the peer gave up or the connection dropped); no-op once finished. */
  abort(reason: UnitFailure, detail?: string): void {
    this.fail(reason, detail);
  }

  protected fail(reason: UnitFailure, detail?: string): Envelope[] {
    this.#outcome ??= { ok: false, unit: this.id, reason, ...(detail ? { detail } : {}) };
    this.wipe();
    return [];
  }

  protected succeed(): void {
    this.#outcome ??= { ok: true, unit: this.id };
  }

  /** Erases this end's key material (called on failure; subclasses also call it when done). */
  protected abstract wipe(): void;

  /** The protocol step for one opened message body. */
  protected abstract step(sealed: SealedMessage<unknown>): Envelope[];

  receive(sealed: SealedMessage<unknown>): Envelope[] {
    if (this.#outcome) return [];
    try {
      return this.step(sealed);
    } catch (e) {
      // Malformed content from the peer (a tampered or broken channel): the unit ends, nothing is emitted.
      return this.fail('protocol-error', (e as Error).message);
    }
  }

  /** Opens a regular message of the peer; null (and the unit failed) on an authentication failure. */
  protected open(sealed: SealedMessage<unknown>): Record<string, unknown> | null {
    const o = this.session.open(sealed);
    if (!o.ok) return (this.fail(o.reason), null);
    const body = o.body;
    if (typeof body !== 'object' || body === null) throw new TypeError('message body is not an object');
    return body as Record<string, unknown>;
  }
}

/** Bob's end of one reconciliation frame. */
export class ReconcileBobFrame extends UnitBase {
  readonly #corrector: ErrorCorrector;
  #phase: 'ec' | 'verify' | 'checkpoint' | 'done' = 'ec';
  #key: BitArray | null = null;
  #verified = false;

  constructor(
    id: number,
    pool: AuthKeyPool | null,
    alg: ErrorCorrection,
    bobKey: BitArray,
    opts: { qberEstimate: number; shuffleSeed: number },
  ) {
    super(id, 'bob', pool);
    this.#corrector = alg.corrector(bobKey, opts);
  }

  /**
   * Bob's corrected frame once error correction ended (null before). The unit never erases it: whoever
   * takes the outcome owns it and must wipe it (and emit it only when the outcome is ok).
   */
  get key(): BitArray | null {
    return this.#key;
  }

  /** Parities, round trips and flips of the corrector. */
  get stats() {
    return this.#corrector.stats;
  }

  /** True when Alice's verification tag matched Bob's corrected frame. */
  get verified(): boolean {
    return this.#verified;
  }

  override start(): Envelope[] {
    return this.#next(this.#corrector.start());
  }

  #next(msg: ParityRequest | { type: 'reconcile-done'; round: number }): Envelope[] {
    if (msg.type === 'reconcile-done') {
      this.#phase = 'verify';
      this.#key = this.#corrector.key;
    }
    return this.seal(msg);
  }

  protected step(sealed: SealedMessage<unknown>): Envelope[] {
    if (this.#phase === 'checkpoint') {
      if (!this.verifyCheckpoint(sealed)) return [];
      const out = this.checkpoint();
      if (out.length === 0) return [];
      this.#phase = 'done';
      if (this.#verified) this.succeed();
      else this.fail('verification-failed');
      return out;
    }
    const body = this.open(sealed);
    if (!body) return [];
    if (this.#phase === 'ec') {
      if (body.type !== 'parity-reply')
        throw new TypeError(`expected a parity reply, got ${String(body.type)}`);
      return this.#next(this.#corrector.receive(body as unknown as ParityReply));
    }
    if (this.#phase === 'verify') {
      if (body.type !== 'verify') throw new TypeError(`expected verification, got ${String(body.type)}`);
      const v = body as unknown as VerificationMessage;
      if (!(v.hashKey instanceof Uint32Array && v.tag instanceof Uint32Array && v.hashKey.length === 4))
        throw new TypeError('verification message of the wrong shape');
      this.#verified = verifyKey(this.#key!, v);
      this.#phase = 'checkpoint';
      return this.seal({ type: 'verify-result', equal: this.#verified });
    }
    throw new TypeError(`message after the frame ended`);
  }

  protected wipe(): void {
    // The corrected frame belongs to whoever takes the outcome (see `key`).
  }
}

/** Alice's end of one reconciliation frame. */
export class ReconcileAliceFrame extends UnitBase {
  readonly #alg: ErrorCorrection;
  readonly #key: BitArray;
  readonly #rng: Rng;
  #responder: ParityResponder | null = null;
  #phase: 'ec' | 'verify-result' | 'checkpoint' | 'done' = 'ec';
  #equal = false;

  constructor(id: number, pool: AuthKeyPool | null, alg: ErrorCorrection, aliceKey: BitArray, rng: Rng) {
    super(id, 'alice', pool);
    this.#alg = alg;
    this.#key = aliceKey;
    this.#rng = rng;
  }

  /**
   * Alice's frame. The unit never erases it: whoever takes the outcome owns it and must wipe it (and
   * emit it only when the outcome is ok).
   */
  get key(): BitArray {
    return this.#key;
  }

  /** Parity bits Alice disclosed in this frame. */
  get leakedBits(): number {
    return this.#responder?.leakedBits ?? 0;
  }

  protected step(sealed: SealedMessage<unknown>): Envelope[] {
    if (this.#phase === 'checkpoint') {
      if (!this.verifyCheckpoint(sealed)) return [];
      this.#phase = 'done';
      if (this.#equal) this.succeed();
      else this.fail('verification-failed');
      return [];
    }
    const body = this.open(sealed);
    if (!body) return [];
    if (this.#phase === 'ec' && body.type === 'parity-request') {
      const req = body as unknown as ParityRequest;
      if (req.setup) {
        if (this.#responder) throw new TypeError('a second setup in one frame');
        if (req.setup.algorithm !== this.#alg.name)
          throw new TypeError(
            `frame asks for ${String(req.setup.algorithm)}, this end runs ${this.#alg.name}`,
          );
        this.#responder = this.#alg.responder(this.#key, req.setup, this.#rng.stream('responder'));
      }
      if (!this.#responder) throw new TypeError('first parity request carried no setup');
      return this.seal(this.#responder.handle(req));
    }
    if (this.#phase === 'ec' && body.type === 'reconcile-done') {
      this.#phase = 'verify-result';
      return this.seal(verificationMessage(this.#key, randomHashKey(this.#rng)));
    }
    if (this.#phase === 'verify-result' && body.type === 'verify-result') {
      this.#equal = body.equal === true;
      this.#phase = 'checkpoint';
      return this.checkpoint();
    }
    throw new TypeError(`unexpected ${String(body.type)} in phase ${this.#phase}`);
  }

  protected wipe(): void {
    // Alice's frame belongs to whoever takes the outcome (see `key`).
  }
}
