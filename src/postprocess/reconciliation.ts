/**
 * The error-correction interface every reconciliation algorithm implements, and the typed messages it
 * exchanges. Reconciliation is sans-IO: Bob's side is a state machine that emits
 * `ParityRequest`s and consumes `ParityReply`s; Alice's side answers requests from her key. A driver —
 * `reconcile()` below for in-process use, the pipeline's authenticated channel, or a network adapter —
 * carries the messages. Every parity bit Alice discloses is counted as leaked (Brassard & Salvail 1993
 * §3: each disclosed parity may tell Eve one bit), and every request/reply pair is one round trip.
 */
import type { BitArray, Rng } from '../common/index.ts';

/** Names of the reconciliation algorithms qkdnet ships. */
export type ReconcileAlgorithmName = 'cascade-original' | 'cascade-improved' | 'ldpc';

/** Public parameters both ends agree on before the first question (sent in the first request). */
export interface ReconcileSetup {
  readonly algorithm: ReconcileAlgorithmName;
  /** Key length in bits. */
  readonly n: number;
  /** QBER estimate that chose the block sizes. */
  readonly qberEstimate: number;
  /** Public seed of the per-pass shuffles (not secret; permutations are public in Cascade). */
  readonly shuffleSeed: number;
}

/**
 * Bob → Alice: the parities he needs this round. `blockPass` ≥ 0 asks for the parities of the first
 * `blockCount` top-level blocks of that pass (block size `blockSize`); the range lists ask for parities of shuffled ranges
 * [start, end) of pass `pass[i]`. All questions of a round travel in one message.
 */
export interface ParityRequest {
  readonly type: 'parity-request';
  readonly round: number;
  readonly setup?: ReconcileSetup;
  readonly blockPass: number;
  readonly blockSize: number;
  readonly blockCount: number;
  readonly pass: Uint8Array;
  readonly start: Uint32Array;
  readonly end: Uint32Array;
}

/** Alice → Bob: the answers, in request order, one byte (0 or 1) per parity. */
export interface ParityReply {
  readonly type: 'parity-reply';
  readonly round: number;
  readonly blockParities: Uint8Array;
  readonly parities: Uint8Array;
}

/** Bob → Alice: reconciliation finished (no answer expected). */
export interface ReconcileDone {
  readonly type: 'reconcile-done';
  readonly round: number;
}

/** What Bob's state machine emits next. */
export type CorrectorOutput = ParityRequest | ReconcileDone;

/** Counters every corrector keeps. */
export interface ReconcileStats {
  /** Parity bits Alice disclosed. */
  readonly leakedBits: number;
  /** Request/reply exchanges. */
  readonly roundTrips: number;
  /** Bits Bob flipped. */
  readonly bitsFlipped: number;
  /**
   * False when the corrector gave up: inconsistent answers (a tampered channel) can make bisection chase
   * its own corrections forever, so work is capped. The key is then left for verification to reject.
   */
  readonly converged: boolean;
  /**
   * Bits Alice sent that say nothing about her key and are therefore not in `leakedBits`: LDPC syndrome
   * bits one-time padded by her private random punctured symbols (Elkouss et al. 2010 §III). Absent or 0
   * for Cascade, where every parity sent is leaked.
   */
  readonly maskedBits?: number;
}

/** Bob's side: corrects his key towards Alice's by asking parities. */
export interface ErrorCorrector {
  readonly algorithm: ReconcileAlgorithmName;
  /** The first message (a request carrying the setup, or done for an empty key). */
  start(): CorrectorOutput;
  /** Consumes Alice's reply to the last request and returns the next message. */
  receive(reply: ParityReply): CorrectorOutput;
  /** Bob's key as corrected so far (equal to Alice's only if every error was found). */
  readonly key: BitArray;
  readonly stats: ReconcileStats;
}

/** Alice's side: answers parity requests from her key. */
export interface ParityResponder {
  handle(request: ParityRequest): ParityReply;
  /** Parity bits disclosed so far. */
  readonly leakedBits: number;
}

/** An error-correction algorithm: a factory for both ends. */
export interface ErrorCorrection {
  readonly name: ReconcileAlgorithmName;
  /** Bob's state machine over a copy of `bobKey` (the argument is not modified). */
  corrector(bobKey: BitArray, opts: { qberEstimate: number; shuffleSeed: number }): ErrorCorrector;
  /**
   * Alice's responder for the setup Bob announced. `random` is Alice's private randomness where the
   * algorithm needs some (LDPC punctured symbols): a seeded stream in simulations, node:crypto otherwise.
   */
  responder(aliceKey: BitArray, setup: ReconcileSetup, random?: Rng): ParityResponder;
}

/** Carries one request to Alice and brings back her reply (in-process, authenticated, or networked). */
export interface ParityChannel {
  exchange(request: ParityRequest): ParityReply;
}

/** Result of a reconciliation run. */
export interface ReconcileResult extends ReconcileStats {
  /** Bob's corrected key. */
  readonly key: BitArray;
}

/**
 * Runs `algorithm` between `aliceKey` and `bobKey` in process. Without a channel, requests go straight to
 * an Alice responder built from the setup in the first request (with `aliceRandom` as her private
 * randomness, for reproducible simulations); pass a channel to interpose authentication or to count bytes.
 */
export function reconcile(
  algorithm: ErrorCorrection,
  aliceKey: BitArray,
  bobKey: BitArray,
  opts: { qberEstimate: number; shuffleSeed: number; aliceRandom?: Rng },
  channel?: ParityChannel,
): ReconcileResult {
  if (aliceKey.length !== bobKey.length)
    throw new RangeError(`Cannot reconcile keys of ${aliceKey.length} and ${bobKey.length} bits`);
  const bob = algorithm.corrector(bobKey, opts);
  let alice: ParityResponder | undefined;
  const direct: ParityChannel = {
    exchange(req) {
      if (req.setup) alice = algorithm.responder(aliceKey, req.setup, opts.aliceRandom);
      if (!alice) throw new Error('first parity request carried no setup');
      return alice.handle(req);
    },
  };
  const ch = channel ?? direct;
  let msg = bob.start();
  while (msg.type === 'parity-request') msg = bob.receive(ch.exchange(msg));
  return { key: bob.key, ...bob.stats };
}

/** Parity of bits [from, to) of packed words (bit i in word i >>> 5, position i & 31). */
export function parityOfRange(words: Uint32Array, from: number, to: number): number {
  if (from >= to) return 0;
  const fw = from >>> 5;
  const lw = (to - 1) >>> 5;
  const head = (0xffffffff << (from & 31)) >>> 0;
  const tailBits = ((to - 1) & 31) + 1;
  const tail = tailBits === 32 ? 0xffffffff : ((1 << tailBits) - 1) >>> 0;
  let acc: number;
  if (fw === lw) acc = words[fw]! & head & tail;
  else {
    acc = (words[fw]! & head) ^ (words[lw]! & tail);
    for (let w = fw + 1; w < lw; w++) acc ^= words[w]!;
  }
  acc ^= acc >>> 16;
  acc ^= acc >>> 8;
  acc ^= acc >>> 4;
  return (0x6996 >>> (acc & 0xf)) & 1;
}
