/**
 * The post-processing pipeline of one block (issue 4): raw record → sifting → estimation → error
 * correction → verification → privacy amplification → final key block at both ends, every classical
 * message authenticated (Wegman–Carter, auth.ts). Both ends run in this process with separate state and
 * talk only through sealed messages, so an attacker hook (`tamper`) sees exactly what a wire would carry.
 *
 * Output length: Lim et al. 2014 Eq. 6, ℓ = ⌊s₀ + s₁(1 − h(φ)) − λ_EC − 6·log₂(21/ε_sec) − log₂(2/ε_cor)⌋,
 * with λ_EC = every Cascade parity + the 128-bit verification tag. Verification by the GF(2¹²⁸) polynomial
 * hash gives ε_cor ≤ (L+1)/2¹²⁸; we check that this is within the requested ε_cor. Privacy amplification
 * uses an exactly two-universal family, which is what Eq. 6 assumes. The authentication key the block used
 * is taken back from its output into the pool, and only the rest is emitted (net key).
 *
 * Long sifted keys are reconciled in frames of FRAME_BITS (2¹⁷; the last padded with public zeros) with a
 * fixed public shuffle seed per link, so the precomputed shuffles are reused from block to block, and all
 * frames advance together so one message per direction per round carries every frame's questions.
 */
import { BitArray, binaryEntropy, createRng } from '../common/index.ts';
import type { FinalKeyBlock, RawRecord, Rng } from '../common/index.ts';
import { lim2014KeyLength } from '../physics/index.ts';
import { AuthKeyPool, AuthSession, type AuthFailure, type AuthMode, type SealedMessage } from './auth.ts';
import { concatBits, copyBits } from './bit-utils.ts';
import { cascadeSchedule } from './cascade-schedule.ts';
import { errorCorrection } from './cascade.ts';
import {
  polyHashCollisionBound,
  POLY_HASH_TAG_BITS,
  randomHashKey,
  verificationMessage,
  verifyKey,
} from './poly-hash.ts';
import { privacyAmplify, randomPaSeed, type PaFamily } from './privacy-amplification.ts';
import type {
  CorrectorOutput,
  ErrorCorrector,
  ParityRequest,
  ParityResponder,
  ReconcileAlgorithmName,
} from './reconciliation.ts';
import { estimate, sift, type EstimateOptions, type Estimates, type Sifted } from '../qkd/index.ts';

/** Frame length for reconciliation, bits. */
export const FRAME_BITS = 2 ** 17;
/** Size of the pre-shared authentication pool created when the caller gives none, bits. */
export const BOOTSTRAP_AUTH_POOL_BITS = 2 ** 18;

/** Options of `runPipeline`; every field has a default. */
export interface PipelineOptions {
  /** Secrecy parameter ε_sec (default 1e-10). */
  readonly epsSec?: number;
  /** Correctness parameter ε_cor (default 1e-15); must be ≥ the verification hash's collision bound. */
  readonly epsCor?: number;
  readonly algorithm?: ReconcileAlgorithmName;
  /** Alice's authentication pool; Bob starts from an identical copy. Default: a fresh pre-shared pool. */
  readonly authPool?: AuthKeyPool;
  readonly paFamily?: PaFamily;
  /** Authentication mode (default `transcript`: one checkpoint per direction before keys are output). */
  readonly authMode?: AuthMode;
  /** Time stamped on the final key blocks (simulation ns; pure code reads no clock). */
  readonly timeNs?: number;
  /** Estimation (default: the link engine's `estimate` from src/qkd); tests inject doubles here. */
  readonly estimate?: (sifted: Sifted, raw: RawRecord, opts: EstimateOptions) => Estimates;
  /** An active attacker on the classical channel (tests): may alter, replay or reorder messages. */
  readonly tamper?: (msg: SealedMessage<unknown>, index: number) => SealedMessage<unknown>;
}

/** Figures of one block (snake_case: they go straight to JSON output). */
export interface PipelineStats {
  readonly algorithm: ReconcileAlgorithmName;
  readonly pa_family: PaFamily;
  readonly sifted_bits: number;
  /** Key-basis QBER found by error correction (corrected bits / sifted bits). */
  readonly qber: number;
  /** λ_EC: Cascade parities + verification tag, bits. */
  readonly leak_ec_bits: number;
  /** Cascade parities / (n·h(QBER)). */
  readonly efficiency: number;
  readonly round_trips: number;
  /** Privacy amplification output (Lim 2014 Eq. 6), bits. */
  readonly pa_output_bits: number;
  /** Authentication key consumed by this block, bits (taken back from the output). */
  readonly auth_bits_used: number;
  /** Net key emitted = pa_output_bits − auth_bits_used (never negative). */
  readonly final_key_bits: number;
  readonly secret_key_rate_per_pulse: number;
  readonly keys_equal: boolean;
  readonly eps_sec: number;
  readonly eps_cor: number;
}

/** Why a block produced no key. */
export type PipelineFailure =
  | 'insecure-estimate'
  | 'empty-sifted-key'
  | AuthFailure
  | 'verification-failed'
  | 'no-secure-key'
  | 'keys-differ';

export type PipelineResult =
  | {
      readonly ok: true;
      readonly alice: FinalKeyBlock;
      readonly bob: FinalKeyBlock;
      readonly stats: PipelineStats;
    }
  | {
      readonly ok: false;
      readonly reason: PipelineFailure;
      readonly detail?: string;
      readonly stats: PipelineStats;
    };

class AuthAbort extends Error {
  readonly reason: AuthFailure;
  constructor(reason: AuthFailure) {
    super(`classical channel authentication failed: ${reason}`);
    this.reason = reason;
  }
}

/** The authenticated classical channel between the two in-process ends. */
class Wire {
  readonly alice: AuthSession;
  readonly bob: AuthSession;
  readonly #tamper: PipelineOptions['tamper'];
  #count = 0;

  constructor(
    alicePool: AuthKeyPool,
    bobPool: AuthKeyPool,
    mode: AuthMode,
    tamper: PipelineOptions['tamper'],
  ) {
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
function reconcileFrames(
  wire: Wire,
  sifted: { alice: BitArray; bob: BitArray },
  algorithm: ReconcileAlgorithmName,
  qber: number,
  seed: number,
) {
  const alg = errorCorrection(algorithm);
  const n = sifted.alice.length;
  // Every frame has exactly `size` bits so shuffles and masks are reused across frames and blocks; the
  // last frame is padded with public zeros at both ends.
  const size = Math.min(n, FRAME_BITS);
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
      if (req.setup) responders[i] = alg.responder(alices[i]!, req.setup);
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
  const k1 = cascadeSchedule(algorithm).blockSize(1, qber, size);
  const paddingParities = Math.ceil(size / k1) - Math.ceil((size - pad) / k1);
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

/** A link's public Cascade shuffle seed (fixed per link so shuffles are reused between blocks). */
function linkShuffleSeed(linkId: string): number {
  return createRng(`cascade-shuffle:${linkId}`).nextUint32();
}

function keyBlock(
  raw: RawRecord,
  key: BitArray,
  est: FinalKeyBlock['estimates'],
  timeNs: number,
): FinalKeyBlock {
  return {
    linkId: raw.linkId,
    blockId: `${raw.linkId}:${raw.blockId}`,
    key: key.toBytes(),
    bits: key.length,
    estimates: est,
    createdNs: timeNs,
  };
}

/**
 * Runs the whole pipeline on one raw record. Returns both ends' final key blocks only when they are
 * identical; otherwise `{ ok: false, reason }` with the figures gathered so far. `rng` supplies the
 * simulation's random choices (hash keys, seeds); real deployments use node:crypto at the edge.
 */
export function runPipeline(raw: RawRecord, opts: PipelineOptions, rng: Rng): PipelineResult {
  const epsSec = opts.epsSec ?? 1e-10;
  const epsCor = opts.epsCor ?? 1e-15;
  const algorithm = opts.algorithm ?? 'cascade-improved';
  const paFamily = opts.paFamily ?? 'multiply-add-shift';
  if (!(epsSec > 0 && epsSec < 1) || !(epsCor > 0 && epsCor < 1))
    throw new RangeError(`ε_sec and ε_cor must be in (0, 1), got ${epsSec} and ${epsCor}`);
  const stats: { -readonly [K in keyof PipelineStats]: PipelineStats[K] } = {
    algorithm,
    pa_family: paFamily,
    sifted_bits: 0,
    qber: 0,
    leak_ec_bits: 0,
    efficiency: 0,
    round_trips: 0,
    pa_output_bits: 0,
    auth_bits_used: 0,
    final_key_bits: 0,
    secret_key_rate_per_pulse: 0,
    keys_equal: false,
    eps_sec: epsSec,
    eps_cor: epsCor,
  };
  const siftedAll = sift(raw);
  const sifted = siftedAll.key;
  stats.sifted_bits = sifted.alice.length;
  const wipeSifted = () => (sifted.alice.wipe(), sifted.bob.wipe());
  // The estimate's own key-length check uses f = 1.05, the efficiency our Cascade reaches (bench).
  const est = (opts.estimate ?? estimate)(siftedAll, raw, {
    epsSec,
    epsCor,
    errorCorrectionEfficiency: 1.05,
  });
  const bound = est.bound;
  if (!est.secure || !bound) {
    wipeSifted();
    return { ok: false, reason: 'insecure-estimate', detail: est.reason ?? 'no-bound', stats };
  }
  if (sifted.alice.length === 0) return { ok: false, reason: 'empty-sifted-key', stats };
  if (polyHashCollisionBound(sifted.alice.length) > epsCor)
    throw new RangeError(`ε_cor ${epsCor} is below the verification hash's collision bound`);

  const alicePool =
    opts.authPool ?? new AuthKeyPool(BitArray.random(BOOTSTRAP_AUTH_POOL_BITS, rng.stream('auth-bootstrap')));
  const wire = new Wire(alicePool, alicePool.clone(), opts.authMode ?? 'transcript', opts.tamper);
  try {
    const qberEstimate = Math.min(0.25, Math.max(1e-4, est.qberX)); // disclosed test-basis QBER
    const ec = reconcileFrames(wire, sifted, algorithm, qberEstimate, linkShuffleSeed(raw.linkId));
    const n = sifted.alice.length;
    const errors = ec.key.hammingDistance(sifted.bob);
    stats.qber = errors / n;
    stats.round_trips = ec.roundTrips;
    stats.efficiency = errors > 0 ? ec.leaked / (n * binaryEntropy(errors / n)) : 0;
    // Verification: Alice announces a fresh hash key and her tag; Bob answers whether his matches.
    const v = wire.send('alice', verificationMessage(sifted.alice, randomHashKey(rng)));
    const same = wire.send('bob', { type: 'verify-result', equal: verifyKey(ec.key, v) });
    stats.leak_ec_bits = ec.leaked + POLY_HASH_TAG_BITS;
    if (!same.equal) {
      ec.key.wipe();
      wire.checkpoint(); // a tampered transcript is reported as such, not as a Cascade failure
      wipeSifted();
      return { ok: false, reason: 'verification-failed', stats };
    }
    // Privacy amplification to the Lim 2014 length; Alice announces the family, length and seed.
    const m = lim2014KeyLength(bound, stats.leak_ec_bits, epsSec, epsCor);
    const pa = wire.send('alice', {
      type: 'privacy-amplification',
      family: paFamily,
      outputBits: m,
      seed: randomPaSeed(paFamily, n, m, rng),
    });
    const aliceOut = privacyAmplify(pa.family, sifted.alice, pa.seed, pa.outputBits);
    const bobOut = privacyAmplify(pa.family, ec.key, pa.seed, pa.outputBits);
    ec.key.wipe();
    wire.checkpoint(); // no key leaves the pipeline before both transcripts are authenticated
    wipeSifted();
    stats.pa_output_bits = m;
    stats.auth_bits_used = wire.alice.bitsUsed;
    stats.keys_equal = aliceOut.equals(bobOut);
    if (!stats.keys_equal) {
      aliceOut.wipe();
      bobOut.wipe();
      return { ok: false, reason: 'keys-differ', stats };
    }
    // Give the pool back what authentication consumed; the rest is the block's net key.
    const refill = Math.min(m, stats.auth_bits_used);
    alicePool.replenish(aliceOut.slice(0, refill));
    stats.final_key_bits = m - refill;
    stats.secret_key_rate_per_pulse = stats.final_key_bits / raw.pulses;
    if (stats.final_key_bits === 0)
      return (aliceOut.wipe(), bobOut.wipe(), { ok: false, reason: 'no-secure-key', stats });
    const estimates = {
      qber: stats.qber,
      phaseErrorBound: bound.phaseError,
      leakedBits: stats.leak_ec_bits,
      epsilonSec: epsSec,
      epsilonCor: epsCor,
    };
    const timeNs = opts.timeNs ?? 0;
    const aliceKey = aliceOut.slice(refill);
    const bobKey = bobOut.slice(refill);
    aliceOut.wipe();
    bobOut.wipe();
    const result = {
      ok: true as const,
      alice: keyBlock(raw, aliceKey, estimates, timeNs),
      bob: keyBlock(raw, bobKey, estimates, timeNs),
      stats,
    };
    aliceKey.wipe();
    bobKey.wipe();
    return result;
  } catch (e) {
    wipeSifted();
    if (e instanceof AuthAbort) return { ok: false, reason: e.reason, stats };
    throw e;
  }
}

/** The fields `qkdnet link simulate … --postprocess` adds, from a pipeline result. */
export function linkPostprocessFields(result: PipelineResult): {
  final_key_bits: number;
  secret_key_rate_per_pulse: number;
  leak_ec_bits: number;
  efficiency: number;
  auth_bits_used: number;
  keys_equal: boolean;
} {
  const s = result.stats;
  return {
    final_key_bits: result.ok ? s.final_key_bits : 0,
    secret_key_rate_per_pulse: result.ok ? s.secret_key_rate_per_pulse : 0,
    leak_ec_bits: s.leak_ec_bits,
    efficiency: s.efficiency,
    auth_bits_used: s.auth_bits_used,
    keys_equal: s.keys_equal,
  };
}
