/**
 * The in-process classical channel of the pipeline and reconciliation over it. Both ends keep separate
 * state and exchange only sealed messages (auth.ts); an optional `tamper` hook plays an active attacker on
 * the wire. Long keys are cut into frames of FRAME_BITS (2¹⁷, the last padded with public zeros) so shuffles
 * and masks are reused across frames and blocks, and all frames advance together: one message per direction
 * per round carries every frame's questions.
 */
import { BitArray, type Rng } from '../common/index.ts';
import { AuthKeyPool, AuthSession, type AuthFailure, type AuthMode, type SealedMessage } from './auth.ts';
import { concatBits, copyBits } from './bit-utils.ts';
import { cascadeSchedule } from './cascade-schedule.ts';
import { errorCorrection } from './error-correction.ts';
import type {
  CorrectorOutput,
  ErrorCorrector,
  ParityRequest,
  ParityResponder,
  ReconcileAlgorithmName,
} from './reconciliation.ts';

/** Frame length for reconciliation, bits. */
export const FRAME_BITS = 2 ** 17;

/** An active attacker on the classical channel: may alter, replay or reorder messages. */
export type Tamper = (msg: SealedMessage<unknown>, index: number) => SealedMessage<unknown>;

/** Thrown inside the pipeline when authentication stops the block; caught and returned as a value. */
export class AuthAbort extends Error {
  readonly reason: AuthFailure;
  constructor(reason: AuthFailure) {
    super(`classical channel authentication failed: ${reason}`);
    this.reason = reason;
  }
}

/** The authenticated classical channel between the two in-process ends. */
export class Wire {
  readonly alice: AuthSession;
  readonly bob: AuthSession;
  readonly #tamper: Tamper | undefined;
  #count = 0;

  constructor(alicePool: AuthKeyPool, bobPool: AuthKeyPool, mode: AuthMode, tamper: Tamper | undefined) {
    this.alice = new AuthSession('alice', alicePool, mode);
    this.bob = new AuthSession('bob', bobPool, mode);
    this.#tamper = tamper;
  }

  send<T>(from: 'alice' | 'bob', body: T): T {
    const [tx, rx] = from === 'alice' ? [this.alice, this.bob] : [this.bob, this.alice];
    const sealed = tx.seal(body);
    if (!sealed.ok) throw new AuthAbort(sealed.reason);
    const wire = this.#tamper ? this.#tamper(sealed.sealed, this.#count) : sealed.sealed;
    this.#count++;
    const opened = rx.open(wire);
    if (!opened.ok) throw new AuthAbort(opened.reason);
    return opened.body as T;
  }

  /** Transcript mode: both ends exchange and check transcript tags (no-op per message). */
  checkpoint(): void {
    if (this.alice.mode !== 'transcript') return;
    for (const [tx, rx] of [
      [this.alice, this.bob],
      [this.bob, this.alice],
    ] as const) {
      const c = tx.checkpoint();
      if (!c.ok) throw new AuthAbort(c.reason);
      const wire = this.#tamper ? this.#tamper(c.sealed, this.#count) : c.sealed;
      this.#count++;
      const v = rx.verifyCheckpoint(wire);
      if (!v.ok) throw new AuthAbort(v.reason);
    }
  }
}

/** Cascade over the wire, frame by frame; returns Bob's corrected key and the counts. */
/** Cascade on fixed-size frames, all advancing together over the wire; Bob's corrected key and counts. */
export function reconcileFrames(
  wire: Wire,
  sifted: { alice: BitArray; bob: BitArray },
  algorithm: ReconcileAlgorithmName,
  qber: number,
  seed: number,
  aliceRandom?: Rng,
) {
  const alg = errorCorrection(algorithm);
  const n = sifted.alice.length;
  // Cascade: every frame has exactly `size` bits so shuffles and masks are reused across frames and blocks;
  // the last frame is padded with public zeros at both ends. LDPC frames the key itself (one-way, no
  // shuffles), so it takes the key whole.
  const cascade = algorithm !== 'ldpc';
  const size = cascade ? Math.min(n, FRAME_BITS) : n;
  const frames = Math.max(1, Math.ceil(n / size));
  const alices: BitArray[] = [];
  const bobs: ErrorCorrector[] = [];
  for (let f = 0; f < frames; f++) {
    const from = f * size;
    const len = Math.min(n, from + size) - from;
    const a = new BitArray(size);
    const b = new BitArray(size);
    copyBits(sifted.alice, from, len, a, 0);
    copyBits(sifted.bob, from, len, b, 0);
    alices.push(a);
    bobs.push(alg.corrector(b, { qberEstimate: qber, shuffleSeed: seed }));
    b.wipe();
  }
  // All frames advance together: one message per direction per round carries every frame's questions.
  const responders: (ParityResponder | undefined)[] = [];
  const next: CorrectorOutput[] = bobs.map((b) => b.start());
  let roundTrips = 0;
  for (;;) {
    const active = next.flatMap((m, i) => (m.type === 'parity-request' ? [i] : []));
    if (active.length === 0) break;
    const asked = wire.send('bob', {
      type: 'frame-requests',
      frames: Uint16Array.from(active),
      requests: active.map((i) => next[i] as ParityRequest),
    });
    const replies = asked.requests.map((req, j) => {
      const i = asked.frames[j]!;
      if (req.setup) responders[i] = alg.responder(alices[i]!, req.setup, aliceRandom?.stream(`frame ${i}`));
      const r = responders[i];
      if (!r) throw new Error(`frame ${i}: first parity request carried no setup`);
      return r.handle(req);
    });
    const got = wire.send('alice', { type: 'frame-replies', frames: asked.frames, replies });
    got.replies.forEach((reply, j) => (next[active[j]!] = bobs[active[j]!]!.receive(reply)));
    roundTrips++;
  }
  wire.send('bob', { type: 'reconcile-done', frames });
  // Pass-1 blocks lying wholly in the padding have parity 0 for everyone: they disclose nothing.
  const pad = frames * size - n;
  const k1 = cascade ? cascadeSchedule(algorithm).blockSize(1, qber, size) : 1;
  const paddingParities = cascade ? Math.ceil(size / k1) - Math.ceil((size - pad) / k1) : 0;
  let leaked = -paddingParities;
  const parts: BitArray[] = [];
  for (let f = 0; f < frames; f++) {
    leaked += bobs[f]!.stats.leakedBits;
    parts.push(bobs[f]!.key.slice(0, Math.min(n, (f + 1) * size) - f * size));
    alices[f]!.wipe();
  }
  const key = concatBits(parts);
  for (const p of parts) p.wipe();
  return { key, leaked, roundTrips };
}
