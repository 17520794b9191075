/**
 * The whole post-processing of one block between two ends that hold only their own view of it, as a unit
 * of the two-party runtime (two-party.ts): Bob holds his clicks (detection slots), bases and bits; Alice
 * her bits, bases and intensity classes at those slots. Messages, in order, in one transcript-authenticated
 * session per block:
 *
 *   Bob → Alice  sift-bob        slots and Bob's bases (Bennett–Brassard 1984 sifting)
 *   Alice → Bob  sift-alice      Alice's bases, intensity classes, pulses sent per class and basis
 *   Bob → Alice  test-bits       Bob's test-basis (X) bits; Alice → Bob: hers (parameter estimation)
 *   …            frame-requests / frame-replies   error correction on the key-basis bits, all frames of
 *                                the block together (as pipeline-channel.ts), fresh public shuffle seed
 *   Bob → Alice  reconcile-done  with the number of bits Bob corrected (the key-basis QBER)
 *   Alice → Bob  verify          fresh hash key and her key's tag; Bob → Alice: verify-result
 *   Alice → Bob  privacy-amplification   family, output length (Lim et al. 2014 Eq. 6), seed
 *   Alice → Bob  checkpoint; Bob → Alice: checkpoint; Alice → Bob: confirm
 *
 * Estimation runs the link engine's `estimate` on the public record both ends can build after the
 * exchange (bases, classes, test bits; each end's own key bits stand in for the other's, so the key-basis
 * QBER is not known before error correction). The key-basis QBER is checked against the threshold once
 * Bob has announced his correction count. Alice emits her key after verifying Bob's checkpoint; Bob his
 * after Alice's confirm — so a lost confirm leaves a key at Alice only, which key managers reconcile by
 * block id. The authentication key a block used is subtracted from its output, as in pipeline.ts.
 */
import {
  BitArray,
  binaryEntropy,
  popcount32,
  type RandomWords,
  type RawRecord,
  type Rng,
} from '../common/index.ts';
import { lim2014KeyLength } from '../physics/index.ts';
import { estimate, sift, type Estimates } from '../qkd/index.ts';
import type { AuthKeyPool, SealedMessage } from './auth.ts';
import { concatBits, copyBits } from './bit-utils.ts';
import { cascadeSchedule } from './cascade-schedule.ts';
import { errorCorrection } from './error-correction.ts';
import { FRAME_BITS } from './pipeline-channel.ts';
import { privateRng, zeroBlockFigures } from './pipeline.ts';
import { POLY_HASH_TAG_BITS, randomHashKey, verificationMessage, verifyKey } from './poly-hash.ts';
import { privacyAmplify, randomPaSeed, type PaFamily } from './privacy-amplification.ts';
import type {
  CorrectorOutput,
  ErrorCorrector,
  ParityReply,
  ParityRequest,
  ParityResponder,
  ReconcileAlgorithmName,
} from './reconciliation.ts';
import { UnitBase, type Envelope } from './two-party.ts';

/** Bob's view of a block: what his detectors recorded. */
export interface BobBlockView {
  readonly linkId: string;
  readonly blockId: number;
  readonly slot: Float64Array;
  readonly bobBit: BitArray;
  readonly bobBasis: BitArray;
}

/** Alice's view of a block at the slots Bob reports (her per-pulse record is never needed elsewhere). */
export interface AliceBlockView {
  readonly linkId: string;
  readonly blockId: number;
  readonly pulses: number;
  readonly intensities: RawRecord['intensities'];
  readonly slot: Float64Array;
  readonly aliceBit: BitArray;
  readonly aliceBasis: BitArray;
  readonly intensity: Uint8Array;
  /** Pulses sent per (class, Alice's basis, Bob's basis) when the source records them (link engine). */
  readonly sent?: Float64Array;
}

/** Splits a record into the two ends' views (simulation: each end keeps one and discards the other). */
export function splitRecord(raw: RawRecord): { alice: AliceBlockView; bob: BobBlockView } {
  const sent = (raw as { sent?: unknown }).sent;
  return {
    alice: {
      linkId: raw.linkId,
      blockId: raw.blockId,
      pulses: raw.pulses,
      intensities: raw.intensities,
      slot: raw.slot,
      aliceBit: raw.aliceBit,
      aliceBasis: raw.aliceBasis,
      intensity: raw.intensity,
      ...(sent instanceof Float64Array ? { sent } : {}),
    },
    bob: {
      linkId: raw.linkId,
      blockId: raw.blockId,
      slot: raw.slot,
      bobBit: raw.bobBit,
      bobBasis: raw.bobBasis,
    },
  };
}

/** Options both ends of a block agree on. */
export interface BlockOptions {
  readonly algorithm: ReconcileAlgorithmName;
  readonly epsSec: number;
  readonly epsCor: number;
  readonly paFamily: PaFamily;
  readonly qberThreshold: number;
}

/** Figures of one block at one end (snake_case, as pipeline.ts's PipelineStats). */
export interface BlockStats {
  sifted_bits: number;
  qber: number;
  leak_ec_bits: number;
  efficiency: number;
  round_trips: number;
  pa_output_bits: number;
  auth_bits_used: number;
  final_key_bits: number;
  secret_key_rate_per_pulse: number;
}

/** The public record both ends rebuild after the sifting and test-bit exchange. */
function publicRecord(
  meta: { linkId: string; blockId: number; pulses: number; intensities: RawRecord['intensities'] },
  slot: Float64Array,
  aliceBasis: BitArray,
  bobBasis: BitArray,
  intensity: Uint8Array,
  ownBits: BitArray,
  testA: BitArray,
  testB: BitArray,
  sent: Float64Array | undefined,
): RawRecord {
  const n = slot.length;
  const a = ownBits.clone();
  const b = ownBits.clone();
  // Word-wise: at the set bits of aliceBasis & bobBasis (both X), the next test bit of each end in turn.
  const xw = aliceBasis.words;
  const zw = bobBasis.words;
  const ta = testA.words;
  const tb = testB.words;
  const aw = a.words;
  const bw = b.words;
  for (let w = 0, t = 0; w < aw.length; w++) {
    let m = xw[w]! & zw[w]!;
    if (m === 0) continue;
    let va = aw[w]! & ~m;
    let vb = bw[w]! & ~m;
    while (m !== 0) {
      const low = m & -m;
      if ((ta[t >>> 5]! >>> (t & 31)) & 1) va |= low;
      if ((tb[t >>> 5]! >>> (t & 31)) & 1) vb |= low;
      t++;
      m ^= low;
    }
    aw[w] = va >>> 0;
    bw[w] = vb >>> 0;
  }
  const raw = {
    ...meta,
    count: n,
    slot,
    aliceBit: a,
    aliceBasis,
    intensity,
    bobBit: b,
    bobBasis,
    doubleClick: new BitArray(n),
    ...(sent ? { sent } : {}),
  };
  return raw;
}

/** Bound once (an imported name is a module getter under the TypeScript loader). */
const popcount = popcount32;

/** Bits of `bits` at the detections where both bases are X, in order. */
function testBits(bits: BitArray, a: BitArray, b: BitArray): BitArray {
  // Word-wise: the positions where both bases are 1 are the set bits of a & b (bits past the length are
  // zero in every BitArray); each one's value is appended to the packed output.
  const aw = a.words;
  const bw = b.words;
  const vw = bits.words;
  const words = Math.min(aw.length, bw.length, vw.length);
  let count = 0;
  for (let w = 0; w < words; w++) count += popcount(aw[w]! & bw[w]!);
  const out = new BitArray(count);
  const ow = out.words;
  let at = 0;
  for (let w = 0; w < words; w++) {
    let m = aw[w]! & bw[w]!;
    const v = vw[w]!;
    while (m !== 0) {
      const low = m & -m;
      if (v & low) ow[at >>> 5]! |= 1 << (at & 31);
      at++;
      m ^= low;
    }
  }
  return out;
}

/** Frame layout of the key-basis bits (as pipeline-channel.ts: Cascade in 2¹⁷-bit frames, LDPC whole). */
function frameSize(algorithm: ReconcileAlgorithmName, n: number): number {
  return algorithm === 'ldpc' ? n : Math.min(n, FRAME_BITS);
}

function cutFrames(key: BitArray, size: number): BitArray[] {
  const n = key.length;
  const frames = Math.max(1, Math.ceil(n / size));
  return Array.from({ length: frames }, (_, f) => {
    const out = new BitArray(size);
    copyBits(key, f * size, Math.min(n, (f + 1) * size) - f * size, out, 0);
    return out;
  });
}

/** Pass-1 parities of blocks wholly in the zero padding disclose nothing (as pipeline-channel.ts). */
function paddingParities(algorithm: ReconcileAlgorithmName, n: number, size: number, qber: number): number {
  if (algorithm === 'ldpc') return 0;
  const pad = Math.max(1, Math.ceil(n / size)) * size - n;
  const k1 = cascadeSchedule(algorithm).blockSize(1, qber, size);
  return Math.ceil(size / k1) - Math.ceil((size - pad) / k1);
}

/**
 * The randomness of one block end: `public` for choices announced in the clear (Bob's shuffle seed),
 * `secret` for the verification hash key, the privacy-amplification seed and Alice's private choices in
 * reconciliation — a `SecretSource` (node:crypto) unless the run is `--deterministic-keys`.
 */
export interface BlockRandom {
  readonly public: Rng;
  readonly secret: RandomWords;
}

/** Shared state of a block end: sifting results, the estimate, the key and the stats. */
abstract class BlockEnd extends UnitBase {
  protected readonly o: BlockOptions;
  protected readonly rng: Rng;
  protected readonly secret: RandomWords;
  readonly stats: BlockStats = zeroBlockFigures();
  /** The block's final key at this end once the unit succeeded (the taker wipes it). */
  finalKey: BitArray | null = null;
  protected est: Estimates | null = null;
  protected key: BitArray | null = null;
  protected pulses = 0;

  constructor(
    id: number,
    party: 'alice' | 'bob',
    pool: AuthKeyPool | null,
    o: BlockOptions,
    random: BlockRandom,
  ) {
    super(id, party, pool);
    this.o = o;
    this.rng = random.public;
    this.secret = random.secret;
  }

  /** Lim 2014 upper bound on the single-photon phase error rate of the key (½ before estimation). */
  get phaseErrorBound(): number {
    return this.est?.bound.phaseError ?? 0.5;
  }

  /** Sifts and estimates on the public record; returns the key-basis bits of this end. */
  protected siftAndEstimate(raw: RawRecord): BitArray {
    const s = sift(raw);
    this.est = estimate(s, raw, {
      epsSec: this.o.epsSec,
      epsCor: this.o.epsCor,
      qberThreshold: this.o.qberThreshold,
      errorCorrectionEfficiency: 1.05,
    });
    this.stats.sifted_bits = s.key.alice.length;
    s.key.bob.wipe();
    return s.key.alice;
  }

  /** Lim 2014 Eq. 6 output length for the leak so far (0 when nothing is secure). */
  protected outputLength(): number {
    return Math.max(
      0,
      lim2014KeyLength(this.est!.bound!, this.stats.leak_ec_bits, this.o.epsSec, this.o.epsCor),
    );
  }

  /** Takes the authentication key back from the output; the rest is the block's net key. */
  protected finish(out: BitArray): void {
    this.stats.auth_bits_used = this.session.bitsUsed;
    const refill = Math.min(out.length, this.stats.auth_bits_used);
    this.stats.final_key_bits = out.length - refill;
    this.stats.secret_key_rate_per_pulse = this.pulses > 0 ? this.stats.final_key_bits / this.pulses : 0;
    this.finalKey = out.slice(refill);
    out.wipe();
    if (this.stats.final_key_bits === 0) {
      this.finalKey.wipe();
      this.finalKey = null;
      this.fail('no-secure-key');
      return;
    }
    this.succeed();
  }

  protected wipe(): void {
    this.key?.wipe();
    this.finalKey?.wipe();
    this.finalKey = null;
  }
}

/** Bob's end of one block. */
export class BobBlock extends BlockEnd {
  readonly #view: BobBlockView;
  #phase: 'sift' | 'test' | 'ec' | 'verify' | 'pa' | 'checkpoint' | 'confirm' | 'done' = 'sift';
  #size = 0;
  #correctors: ErrorCorrector[] = [];
  #next: CorrectorOutput[] = [];
  #active: number[] = [];
  #aliceBasis: BitArray | null = null;
  #intensity: Uint8Array | null = null;
  #meta: { pulses: number; intensities: RawRecord['intensities']; sent: Float64Array | undefined } | null =
    null;
  #pending: BitArray | null = null;
  #verified = false;

  constructor(
    id: number,
    pool: AuthKeyPool | null,
    o: BlockOptions,
    view: BobBlockView,
    random: BlockRandom,
  ) {
    super(id, 'bob', pool, o, random);
    this.#view = view;
  }

  override start(): Envelope[] {
    const v = this.#view;
    return this.seal({ type: 'sift-bob', blockId: v.blockId, slot: v.slot, bobBasis: v.bobBasis });
  }

  #requests(): Envelope[] {
    this.#active = this.#next.flatMap((m, i) => (m.type === 'parity-request' ? [i] : []));
    if (this.#active.length > 0)
      return this.seal({
        type: 'frame-requests',
        frames: Uint16Array.from(this.#active),
        requests: this.#active.map((i) => this.#next[i] as ParityRequest),
      });
    // Error correction done: Bob's corrected key and the number of bits he corrected.
    const n = this.stats.sifted_bits;
    const parts = this.#correctors.map((c, f) =>
      c.key.slice(0, Math.min(n, (f + 1) * this.#size) - f * this.#size),
    );
    const corrected = concatBits(parts);
    for (const p of parts) p.wipe();
    const errors = corrected.hammingDistance(this.key!);
    this.key!.wipe();
    this.key = corrected;
    const qber = this.est!.qberX;
    let leaked = -paddingParities(this.o.algorithm, n, this.#size, Math.min(0.25, Math.max(1e-4, qber)));
    for (const c of this.#correctors) leaked += c.stats.leakedBits;
    this.stats.qber = n > 0 ? errors / n : 0;
    this.stats.efficiency = errors > 0 ? leaked / (n * binaryEntropy(errors / n)) : 0;
    this.stats.leak_ec_bits = leaked + POLY_HASH_TAG_BITS;
    this.#phase = 'verify';
    const out = this.seal({ type: 'reconcile-done', frames: this.#correctors.length, corrected: errors });
    if (this.stats.qber > this.o.qberThreshold)
      return (this.fail('insecure-estimate', 'qber-above-threshold'), out);
    return out;
  }

  protected step(sealed: SealedMessage<unknown>): Envelope[] {
    if (this.#phase === 'checkpoint') {
      if (!this.verifyCheckpoint(sealed)) return [];
      this.#phase = 'confirm';
      return this.checkpoint();
    }
    const m = this.open(sealed);
    if (!m) return [];
    const v = this.#view;
    if (this.#phase === 'sift' && m.type === 'sift-alice') {
      if (
        !(m.aliceBasis instanceof BitArray && m.intensity instanceof Uint8Array) ||
        m.aliceBasis.length !== v.slot.length
      )
        throw new TypeError('sift-alice of the wrong shape');
      this.#aliceBasis = m.aliceBasis;
      this.#intensity = m.intensity;
      this.#meta = {
        pulses: m.pulses as number,
        intensities: m.intensities as RawRecord['intensities'],
        sent: m.sent instanceof Float64Array ? m.sent : undefined,
      };
      this.pulses = m.pulses as number;
      this.#phase = 'test';
      return this.seal({ type: 'test-bits', bits: testBits(v.bobBit, m.aliceBasis, v.bobBasis) });
    }
    if (this.#phase === 'test' && m.type === 'test-bits') {
      const mine = testBits(v.bobBit, this.#aliceBasis!, v.bobBasis);
      const meta = { linkId: v.linkId, blockId: v.blockId, ...this.#meta! };
      const raw = publicRecord(
        meta,
        v.slot,
        this.#aliceBasis!,
        v.bobBasis,
        this.#intensity!,
        v.bobBit,
        m.bits as BitArray,
        mine,
        this.#meta!.sent,
      );
      this.key = this.siftAndEstimate(raw);
      const est = this.est!;
      if (!est.secure || !est.bound) return this.fail('insecure-estimate', est.reason ?? 'no-bound');
      if (this.stats.sifted_bits === 0) return this.fail('insecure-estimate', 'empty-sifted-key');
      const alg = errorCorrection(this.o.algorithm);
      const qber = Math.min(0.25, Math.max(1e-4, est.qberX));
      this.#size = frameSize(this.o.algorithm, this.stats.sifted_bits);
      const shuffleSeed = this.rng.nextUint32(); // fresh public seed, announced in each frame's setup
      this.#correctors = cutFrames(this.key, this.#size).map((b) => {
        const c = alg.corrector(b, { qberEstimate: qber, shuffleSeed });
        b.wipe();
        return c;
      });
      this.#next = this.#correctors.map((c) => c.start());
      this.#phase = 'ec';
      return this.#requests();
    }
    if (this.#phase === 'ec' && m.type === 'frame-replies') {
      const replies = m.replies as ParityReply[];
      if (!Array.isArray(replies) || replies.length !== this.#active.length)
        throw new TypeError('frame-replies of the wrong shape');
      replies.forEach(
        (r, j) => (this.#next[this.#active[j]!] = this.#correctors[this.#active[j]!]!.receive(r)),
      );
      this.stats.round_trips++;
      return this.#requests();
    }
    if (this.#phase === 'verify' && m.type === 'verify') {
      this.#verified = verifyKey(this.key!, m as never);
      this.#phase = 'pa';
      const out = this.seal({ type: 'verify-result', equal: this.#verified });
      if (!this.#verified) this.fail('verification-failed');
      return out;
    }
    if (this.#phase === 'pa' && m.type === 'privacy-amplification') {
      const len = this.outputLength();
      if (m.outputBits !== len || m.family !== this.o.paFamily)
        throw new TypeError('privacy amplification differs from this end’s');
      this.stats.pa_output_bits = len;
      this.#pending = privacyAmplify(this.o.paFamily, this.key!, m.seed as BitArray, len);
      this.key!.wipe();
      this.#phase = 'checkpoint';
      return [];
    }
    if (this.#phase === 'confirm' && m.type === 'confirm') {
      this.#phase = 'done';
      this.finish(this.#pending!);
      return [];
    }
    throw new TypeError(`unexpected ${String(m.type)} in phase ${this.#phase}`);
  }

  protected override wipe(): void {
    super.wipe();
    this.#pending?.wipe();
  }
}

/** Alice's end of one block. */
export class AliceBlock extends BlockEnd {
  readonly #view: AliceBlockView;
  #phase: 'sift' | 'test' | 'ec' | 'verify-result' | 'checkpoint' | 'done' = 'sift';
  #bobBasis: BitArray | null = null;
  #frames: BitArray[] = [];
  #responders: (ParityResponder | undefined)[] = [];
  #size = 0;
  #pending: BitArray | null = null;
  #private: Rng | null = null;

  constructor(
    id: number,
    pool: AuthKeyPool | null,
    o: BlockOptions,
    view: AliceBlockView,
    random: BlockRandom,
  ) {
    super(id, 'alice', pool, o, random);
    this.#view = view;
    this.pulses = view.pulses;
  }

  protected step(sealed: SealedMessage<unknown>): Envelope[] {
    const v = this.#view;
    if (this.#phase === 'checkpoint') {
      if (!this.verifyCheckpoint(sealed)) return [];
      const out = this.seal({ type: 'confirm' });
      this.#phase = 'done';
      this.finish(this.#pending!);
      return out;
    }
    const m = this.open(sealed);
    if (!m) return [];
    if (this.#phase === 'sift' && m.type === 'sift-bob') {
      const slot = m.slot;
      if (!(slot instanceof Float64Array && m.bobBasis instanceof BitArray) || slot.length !== v.slot.length)
        throw new TypeError('Bob reports other detections than this end recorded');
      for (let i = 0; i < slot.length; i++)
        if (slot[i] !== v.slot[i]) throw new TypeError(`detection ${i} is at another slot`);
      this.#bobBasis = m.bobBasis;
      this.#phase = 'test';
      return this.seal({
        type: 'sift-alice',
        aliceBasis: v.aliceBasis,
        intensity: v.intensity,
        intensities: v.intensities,
        pulses: v.pulses,
        sent: v.sent,
      });
    }
    if (this.#phase === 'test' && m.type === 'test-bits') {
      const mine = testBits(v.aliceBit, v.aliceBasis, this.#bobBasis!);
      const raw = publicRecord(
        v,
        v.slot,
        v.aliceBasis,
        this.#bobBasis!,
        v.intensity,
        v.aliceBit,
        mine,
        m.bits as BitArray,
        v.sent,
      );
      this.key = this.siftAndEstimate(raw);
      const est = this.est!;
      const out = this.seal({ type: 'test-bits', bits: mine });
      if (!est.secure || !est.bound) return (this.fail('insecure-estimate', est.reason ?? 'no-bound'), out);
      if (this.stats.sifted_bits === 0) return (this.fail('insecure-estimate', 'empty-sifted-key'), out);
      this.#size = frameSize(this.o.algorithm, this.stats.sifted_bits);
      this.#frames = cutFrames(this.key, this.#size);
      this.#phase = 'ec';
      return out;
    }
    if (this.#phase === 'ec' && m.type === 'frame-requests') {
      const frames = m.frames as Uint16Array;
      const reqs = m.requests as ParityRequest[];
      if (!(frames instanceof Uint16Array && Array.isArray(reqs) && reqs.length === frames.length))
        throw new TypeError('frame-requests of the wrong shape');
      const alg = errorCorrection(this.o.algorithm);
      const replies = reqs.map((req, j) => {
        const i = frames[j]!;
        if (i >= this.#frames.length) throw new TypeError(`no frame ${i}`);
        if (req.setup)
          this.#responders[i] = alg.responder(
            this.#frames[i]!,
            req.setup,
            (this.#private ??= privateRng(this.secret)).stream(`frame ${i}`),
          );
        const r = this.#responders[i];
        if (!r) throw new TypeError(`frame ${i}: first parity request carried no setup`);
        return r.handle(req);
      });
      this.stats.round_trips++;
      return this.seal({ type: 'frame-replies', frames, replies });
    }
    if (this.#phase === 'ec' && m.type === 'reconcile-done') {
      for (const f of this.#frames) f.wipe();
      const n = this.stats.sifted_bits;
      const qber = Math.min(0.25, Math.max(1e-4, this.est!.qberX));
      let leaked = -paddingParities(this.o.algorithm, n, this.#size, qber);
      for (const r of this.#responders) leaked += r?.leakedBits ?? 0;
      const errors = m.corrected as number;
      this.stats.qber = n > 0 ? errors / n : 0;
      this.stats.efficiency = errors > 0 ? leaked / (n * binaryEntropy(errors / n)) : 0;
      this.stats.leak_ec_bits = leaked + POLY_HASH_TAG_BITS;
      if (!(this.stats.qber <= this.o.qberThreshold))
        return this.fail('insecure-estimate', 'qber-above-threshold');
      this.#phase = 'verify-result';
      return this.seal(verificationMessage(this.key!, randomHashKey(this.secret)));
    }
    if (this.#phase === 'verify-result' && m.type === 'verify-result') {
      if (m.equal !== true) return this.fail('verification-failed');
      const len = this.outputLength();
      this.stats.pa_output_bits = len;
      const seed = randomPaSeed(this.o.paFamily, this.stats.sifted_bits, len, this.secret);
      this.#pending = privacyAmplify(this.o.paFamily, this.key!, seed, len);
      this.key!.wipe();
      this.#phase = 'checkpoint';
      const pa = this.seal({ type: 'privacy-amplification', family: this.o.paFamily, outputBits: len, seed });
      return [...pa, ...this.checkpoint()];
    }
    throw new TypeError(`unexpected ${String(m.type)} in phase ${this.#phase}`);
  }

  protected override wipe(): void {
    super.wipe();
    for (const f of this.#frames) f.wipe();
    this.#pending?.wipe();
  }
}
