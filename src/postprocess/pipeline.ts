/**
 * The post-processing pipeline of one block: raw record → sifting → estimation → error
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
 * Reconciliation runs on fixed-size frames over the in-process wire of pipeline-channel.ts, with a public
 * shuffle seed fixed per link so precomputed shuffles are reused from block to block.
 */
import { BitArray, binaryEntropy, createRng, Rng } from '../common/index.ts';
import type { FinalKeyBlock, RandomWords, RawRecord } from '../common/index.ts';
import { lim2014KeyLength } from '../physics/index.ts';
import { AuthKeyPool, type AuthFailure, type AuthMode } from './auth.ts';
import { bitsToBytes } from './bit-utils.ts';
import { AuthAbort, reconcileFrames, Wire, type Tamper } from './pipeline-channel.ts';
import {
  polyHashCollisionBound,
  POLY_HASH_TAG_BITS,
  randomHashKey,
  verificationMessage,
  verifyKey,
} from './poly-hash.ts';
import { privacyAmplify, randomPaSeed, type PaFamily } from './privacy-amplification.ts';
import type { ReconcileAlgorithmName } from './reconciliation.ts';
import { estimate, sift, type EstimateOptions, type Estimates, type Sifted } from '../qkd/index.ts';

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
  readonly tamper?: Tamper;
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

/** The per-block figures of every pipeline (this one and two-party-pipeline.ts), all zero. */
export function zeroBlockFigures() {
  return {
    sifted_bits: 0,
    qber: 0,
    leak_ec_bits: 0,
    efficiency: 0,
    round_trips: 0,
    pa_output_bits: 0,
    auth_bits_used: 0,
    final_key_bits: 0,
    secret_key_rate_per_pulse: 0,
  };
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

/** Alice's private random choices in reconciliation, as a stream keyed by 256 bits of `secret`. */
export function privateRng(secret: RandomWords): Rng {
  if (secret instanceof Rng) return secret;
  const seed = secret.fillUint32(new Uint32Array(8));
  const rng = new Rng(new Uint8Array(seed.buffer));
  seed.fill(0);
  return rng;
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
    key: bitsToBytes(key),
    bits: key.length,
    estimates: est,
    createdNs: timeNs,
  };
}

/**
 * Runs the whole pipeline on one raw record. Returns both ends' final key blocks only when they are
 * identical; otherwise `{ ok: false, reason }` with the figures gathered so far. `secret` supplies the
 * block's secret choices (verification hash key, privacy-amplification seed, and the bootstrap pool when
 * `authPool` is absent): a `SecretSource` in every path that hands out keys (distill.ts), a seeded stream
 * only in tests and `--deterministic-keys`.
 */
export function runPipeline(raw: RawRecord, opts: PipelineOptions, secret: RandomWords): PipelineResult {
  const rng = secret;
  const epsSec = opts.epsSec ?? 1e-10;
  const epsCor = opts.epsCor ?? 1e-15;
  const algorithm = opts.algorithm ?? 'cascade-improved';
  const paFamily = opts.paFamily ?? 'multiply-add-shift';
  if (!(epsSec > 0 && epsSec < 1) || !(epsCor > 0 && epsCor < 1))
    throw new RangeError(`ε_sec and ε_cor must be in (0, 1), got ${epsSec} and ${epsCor}`);
  const stats: { -readonly [K in keyof PipelineStats]: PipelineStats[K] } = {
    algorithm,
    pa_family: paFamily,
    ...zeroBlockFigures(),
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

  const alicePool = opts.authPool ?? new AuthKeyPool(BitArray.random(BOOTSTRAP_AUTH_POOL_BITS, rng));
  const wire = new Wire(alicePool, alicePool.clone(), opts.authMode ?? 'transcript', opts.tamper);
  try {
    const qberEstimate = Math.min(0.25, Math.max(1e-4, est.qberX)); // disclosed test-basis QBER
    const ec = reconcileFrames(
      wire,
      sifted,
      algorithm,
      qberEstimate,
      linkShuffleSeed(raw.linkId),
      privateRng(rng),
    );
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
