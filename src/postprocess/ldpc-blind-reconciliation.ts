/**
 * Rate-adaptive LDPC reconciliation with blind retries, as the `ldpc` error-correction algorithm.
 *
 * - Rate adaptation (D. Elkouss, J. Martinez-Mateo, D. Lancho, V. Martin, "Rate compatible protocol for
 *   information reconciliation: an application to QKD", IEEE ITW 2010, §III, Eq. 4–5): a frame of n key
 *   bits is embedded in a mother code of length N = n + p + s with p punctured symbols (Alice fills them
 *   with private random bits; Bob starts them at LLR 0) and s shortened symbols (value 0, known to both).
 *   From the QBER estimate q̂ the target syndrome leak is f₀·h(q̂)·n; for each mother code of ldpc-code.ts
 *   the smallest lift Z with p = m − leak ≥ 0 and s ≥ 0 is taken, and among the codes whose threshold
 *   exceeds q̂ by THRESHOLD_MARGIN the one needing the fewest extra symbols δ = (p + s)/N wins (the criterion of E. O. Kiktenko et al., "Post-processing procedure for
 *   industrial quantum key distribution systems", J. Phys. Conf. Ser. 741 (2016) 012081, §3.3). Punctured
 *   symbols come from the untainted order (ldpc-untainted-puncturing.ts), shortened ones from a seeded shuffle.
 * - One-way syndrome: Bob's first message only announces the public setup; Alice answers with s = H·x.
 * - Blind retries (J. Martinez-Mateo, D. Elkouss, V. Martin, "Blind reconciliation", QIC 12 (2012), §3):
 *   when the decoder fails, Bob asks for the values of Δ more symbols — punctured ones first (they turn
 *   into shortened ones), then the key bits his decoder is least sure of (smallest |LLR|, as in Kiktenko et
 *   al., "Symmetric blind information reconciliation for QKD", Phys. Rev. Appl. 8 (2017) 044017) — and
 *   resumes decoding. Δ doubles every three rounds, so a frame ends within ~3·log₂(1/(0.06·h)) rounds;
 *   once every key bit is revealed an honest syndrome is always met.
 * - Leakage (Elkouss et al. 2010 §III; Martinez-Mateo et al. 2012 Eq. 8): m − p syndrome bits (the p bits
 *   one-time padded by the punctured values carry nothing about the key) plus every revealed value.
 *   `maskedBits` reports the p syndrome bits sent that are not counted.
 *
 * Messages reuse the parity types: the syndrome is the `blockParities` of round 0, and a revealed symbol j
 * is the parity of the one-symbol range [j, j+1) of Alice's extended word (frames concatenated).
 */
import { BitArray, binaryEntropy, createRng, type Rng } from '../common/index.ts';
import { randomFillSync } from 'node:crypto';
import {
  BASE_COLUMNS,
  ELKOUSS_2009_DISTRIBUTIONS,
  ldpcCode,
  syndromeOf,
  type LdpcCode,
} from './ldpc-code.ts';
import { SATURATION } from './ldpc-decoder.ts';
import { syndromeDecoder, type SyndromeDecoder } from './ldpc-box-plus-decoder.ts';
import { untaintedPuncturing } from './ldpc-untainted-puncturing.ts';
import type {
  CorrectorOutput,
  ErrorCorrection,
  ErrorCorrector,
  ParityReply,
  ParityRequest,
  ParityResponder,
  ReconcileSetup,
  ReconcileStats,
} from './reconciliation.ts';

/** Longest frame in key bits; longer keys are split into equal frames decoded side by side. */
export const LDPC_MAX_FRAME_BITS = 1 << 20;
/** Largest share of a frame that may be punctured (S2 Table I: f degrades quickly beyond ~10 %). */
const MAX_PUNCTURED = 0.1;
/**
 * Decoder iterations for the first attempt and for each retry (both stop early on success or a stall).
 * The first attempt is at f₀, below what the codes decode at once, and mostly fails: with a cap of 100 it
 * ran 26–100 iterations to the stall stop before the first reveal (10⁵ bits, 2 %, 9 frames: none decoded).
 * Capped at 20, the messages it leaves are resumed after the reveal as before: CPU per frame −22 to −31 %
 * at 10⁵ bits (2 / 3 / 5 %, 16 frames each), −12 to −18 % at 10⁶, for f +0.003 / +0.001 / +0.008 at 10⁵
 * and unchanged at 10⁶ (same frames).
 */
const FIRST_ITERATIONS = 20;
const RETRY_ITERATIONS = 40;

/** Starting efficiency f₀ by frame length: optimistic, blind retries top it up (tuned on these codes). */
export function startingEfficiency(n: number, q: number): number {
  const base = n >= 5e5 ? 1.04 : n >= 5e4 ? 1.07 : n >= 5e3 ? 1.14 : 1.25;
  return base + (q < 0.015 ? 0.04 : 0);
}

/** Where a frame's key, punctured and shortened symbols sit in its mother code. */
export interface FramePlan {
  readonly code: LdpcCode;
  readonly n: number;
  /** Code positions of the key bits, in key order. */
  readonly keyPos: Int32Array;
  readonly punctured: Int32Array;
  readonly shortened: Int32Array;
}

/**
 * Threshold margin of the mother code: a code is chosen only if its density-evolution threshold is at
 * least (1 + margin)·q̂, so a frame is not decoded at or past the code's threshold, where finite-length
 * codes fail often and blind retries inflate the leak (Elkouss et al. 2010 §IV: adapted codes stay
 * efficient only below the mother code's threshold). Falls back to every code when none qualifies.
 */
export const THRESHOLD_MARGIN = 0.1;

const plans = new Map<string, FramePlan>();

/** The plan for an n-bit frame at QBER estimate q (deterministic: both ends compute it; cached). */
export function planFrame(n: number, q: number): FramePlan {
  const key = `${n}:${q}`;
  let plan = plans.get(key);
  if (!plan) {
    plan = computePlan(n, q);
    if (plans.size >= 12) plans.delete(plans.keys().next().value!);
    plans.set(key, plan);
  }
  return plan;
}

function computePlan(n: number, q: number): FramePlan {
  const leak = Math.max(1, Math.ceil(startingEfficiency(n, q) * binaryEntropy(Math.max(q, 1e-3)) * n));
  const withMargin = ELKOUSS_2009_DISTRIBUTIONS.filter((d) => d.threshold >= (1 + THRESHOLD_MARGIN) * q);
  // Within the margin only codes that need no heavy puncturing: otherwise at q̂ = 1 % (no high-rate code
  // clears 1.1·q̂) the rate-0.5 code won, punctured far past its untainted set, and leaked half the key.
  const best =
    chooseCode(n, leak, withMargin, false) ?? chooseCode(n, leak, ELKOUSS_2009_DISTRIBUTIONS, true)!;
  return layout(n, leak, best.dist, best.z);
}

/**
 * The code of `dists` needing the fewest extra symbols (Kiktenko et al. 2016 §3.3), if any fits; the
 * lowest-rate code may exceed the puncturing limit only when `lenient` (the last resort).
 */
function chooseCode(
  n: number,
  leak: number,
  dists: readonly (typeof ELKOUSS_2009_DISTRIBUTIONS)[number][],
  lenient: boolean,
): { dist: (typeof ELKOUSS_2009_DISTRIBUTIONS)[number]; z: number } | undefined {
  let best: { dist: (typeof ELKOUSS_2009_DISTRIBUTIONS)[number]; z: number; delta: number } | undefined;
  for (const dist of dists) {
    const rows = Math.round(BASE_COLUMNS * (1 - dist.rate));
    const z = Math.max(1, Math.ceil(leak / rows), Math.ceil((n - leak) / (BASE_COLUMNS - rows)));
    // A code whose rate is too low needs too much puncturing (S2 Table I: f degrades beyond ~10 %).
    if (rows * z - leak > MAX_PUNCTURED * BASE_COLUMNS * z && (!lenient || dist.rate > 0.5)) continue;
    const delta = (BASE_COLUMNS * z - n) / (BASE_COLUMNS * z);
    if (!best || delta < best.delta - 1e-12) best = { dist, z, delta };
  }
  return best;
}

function layout(
  n: number,
  leak: number,
  dist: (typeof ELKOUSS_2009_DISTRIBUTIONS)[number],
  z: number,
): FramePlan {
  const code = ldpcCode(dist, z);
  const order = untaintedPuncturing(code);
  const p = Math.min(Math.max(0, code.m - leak), order.length, code.n - n);
  const punctured = order.slice(0, p);
  const role = new Uint8Array(code.n); // 0 free, 1 punctured, 2 shortened
  for (const v of punctured) role[v] = 1;
  const free: number[] = [];
  for (let v = 0; v < code.n; v++) if (!role[v]) free.push(v);
  const rng = createRng(`ldpc-frame:${code.rate}:${code.z}:${n}`);
  for (let i = free.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [free[i], free[j]] = [free[j]!, free[i]!];
  }
  const s = code.n - n - p;
  const shortened = Int32Array.from(free.slice(0, s)).sort();
  const keyPos = Int32Array.from(free.slice(s)).sort();
  return { code, n, keyPos, punctured, shortened };
}

/** Frame lengths for an n-bit key: ⌈n / LDPC_MAX_FRAME_BITS⌉ frames differing by at most one bit. */
export function frameLengths(n: number): number[] {
  const f = Math.max(1, Math.ceil(n / LDPC_MAX_FRAME_BITS));
  return Array.from({ length: f }, (_, i) => Math.floor(n / f) + (i < n % f ? 1 : 0));
}

function checkSetup(n: number, q: number): void {
  if (!(q >= 0 && q < 0.5)) throw new RangeError(`LDPC needs a QBER estimate in [0, 0.5), got ${q}`);
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`LDPC key length ${n} is not a count`);
}

/** Confirmation ranges asked once a frame decodes (each mismatch is found with probability ≈ ½). */
export const CONFIRM_RANGES = 24;
/** Round cap: honest frames end far sooner; beyond it Alice's answers are taken as inconsistent. */
const MAX_ROUNDS = 200;

/** The public order confirmation ranges are taken in: a seeded shuffle of the frame's code positions. */
function confirmOrder(nCode: number, seed: number, frame: number): Int32Array {
  const rng = createRng(`ldpc-confirm:${seed}:${frame}`);
  const perm = Int32Array.from({ length: nCode }, (_, i) => i);
  for (let i = nCode - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  return perm;
}

/** Parity of word[order[k]] for k in [lo, hi) (order null: natural order). */
function rangeParity(word: Uint8Array, order: Int32Array | null, lo: number, hi: number): number {
  let p = 0;
  if (order) for (let k = lo; k < hi; k++) p ^= word[order[k]!]!;
  else for (let k = lo; k < hi; k++) p ^= word[k]!;
  return p;
}

/** Bob's state for one frame. */
interface BobFrame {
  readonly index: number;
  readonly plan: FramePlan;
  readonly offset: number;
  readonly keyOffset: number;
  readonly decoder: SyndromeDecoder;
  /** 1 once the symbol's value is known (shortened or revealed). */
  readonly known: Uint8Array;
  readonly order: Int32Array;
  readonly word: Uint8Array;
  puncturedLeft: number;
  syndrome: Uint8Array;
  /** 'decode': decoding failed, reveal more; 'confirm': decoded, confirm; 'done'. */
  phase: 'decode' | 'confirm' | 'done';
  /** Open bisections (Cascade's BINARY over the confirmation order) for mismatched ranges. */
  searches: { lo: number; hi: number; a: number }[];
  pinned: boolean;
  readonly step: number;
  reveals: number;
}

/** One question Bob asked, to read its answer. */
type Question =
  | { readonly kind: 'reveal'; readonly f: BobFrame; readonly v: number }
  | { readonly kind: 'confirm'; readonly f: BobFrame; readonly lo: number; readonly hi: number }
  | { readonly kind: 'bisect'; readonly f: BobFrame; readonly s: { lo: number; hi: number; a: number } };

/**
 * Bob's side: decodes Alice's word from the syndrome, asks for more symbols while decoding fails, and
 * confirms a decoded frame with CONFIRM_RANGES parities of random ranges of a public shuffle of the word;
 * a mismatched range is bisected to a wrong symbol, whose value is pinned before decoding resumes (BP can
 * settle on a wrong word that meets the syndrome: a low-weight codeword away).
 */
export class LdpcCorrector implements ErrorCorrector {
  readonly algorithm = 'ldpc' as const;
  readonly #setup: ReconcileSetup;
  readonly #bob: BitArray;
  readonly #frames: BobFrame[] = [];
  #asked: Question[] = [];
  #round = 0;
  #leaked = 0;
  #masked = 0;
  #gaveUp = false;
  #key: BitArray;

  constructor(bobKey: BitArray, qberEstimate: number, shuffleSeed: number) {
    checkSetup(bobKey.length, qberEstimate);
    this.#bob = bobKey.clone();
    this.#key = bobKey.clone();
    this.#setup = { algorithm: 'ldpc', n: bobKey.length, qberEstimate, shuffleSeed };
  }

  get key(): BitArray {
    return this.#key.clone();
  }

  get stats(): ReconcileStats & { maskedBits: number } {
    return {
      leakedBits: this.#leaked,
      roundTrips: this.#round,
      bitsFlipped: this.#key.hammingDistance(this.#bob),
      converged: !this.#gaveUp,
      maskedBits: this.#masked,
    };
  }

  start(): CorrectorOutput {
    const n = this.#bob.length;
    if (n === 0) return { type: 'reconcile-done', round: 0 };
    const q = Math.min(Math.max(this.#setup.qberEstimate, 1e-3), 0.45);
    const llr = Math.log((1 - q) / q);
    let offset = 0;
    let keyOffset = 0;
    let m = 0;
    for (const len of frameLengths(n)) {
      const plan = planFrame(len, this.#setup.qberEstimate);
      const { code } = plan;
      const channel = new Float32Array(code.n);
      const known = new Uint8Array(code.n);
      for (const v of plan.shortened) {
        channel[v] = SATURATION;
        known[v] = 1;
      }
      for (let i = 0; i < len; i++) channel[plan.keyPos[i]!] = this.#bob.get(keyOffset + i) ? -llr : llr;
      const decoder = syndromeDecoder(code);
      decoder.reset(channel);
      const index = this.#frames.length;
      this.#frames.push({
        index,
        plan,
        offset,
        keyOffset,
        decoder,
        known,
        order: confirmOrder(code.n, this.#setup.shuffleSeed, index),
        word: new Uint8Array(code.n),
        puncturedLeft: plan.punctured.length,
        syndrome: new Uint8Array(0),
        phase: 'decode',
        searches: [],
        pinned: false,
        step: Math.max(1, Math.ceil(0.02 * len * binaryEntropy(q))),
        reveals: 0,
      });
      this.#masked += plan.punctured.length;
      m += code.m;
      offset += code.n;
      keyOffset += len;
    }
    this.#asked = [];
    return { ...this.#request(0, m), setup: this.#setup };
  }

  #request(blockPass: number, blockCount: number): ParityRequest {
    const k = this.#asked.length;
    const pass = new Uint8Array(k);
    const start = new Uint32Array(k);
    const end = new Uint32Array(k);
    this.#asked.forEach((qn, i) => {
      const off = qn.f.offset;
      if (qn.kind === 'reveal') {
        start[i] = off + qn.v;
        end[i] = off + qn.v + 1;
      } else {
        pass[i] = 1;
        const lo = qn.kind === 'confirm' ? qn.lo : qn.s.lo;
        start[i] = off + lo;
        end[i] = off + (qn.kind === 'confirm' ? qn.hi : (qn.s.lo + qn.s.hi) >>> 1);
      }
    });
    return {
      type: 'parity-request',
      round: this.#round,
      blockPass,
      blockSize: 0,
      blockCount,
      pass,
      start,
      end,
    };
  }

  receive(reply: ParityReply): CorrectorOutput {
    if (reply.round !== this.#round)
      throw new Error(`LDPC reply for round ${reply.round} while waiting for round ${this.#round}`);
    if (reply.parities.length !== this.#asked.length)
      throw new Error(`LDPC reply has ${reply.parities.length} values, ${this.#asked.length} asked`);
    this.#round++;
    const decode = new Set<BobFrame>();
    if (this.#round === 1) {
      let at = 0;
      for (const f of this.#frames) {
        if (reply.blockParities.length < at + f.plan.code.m)
          throw new Error(`LDPC reply has ${reply.blockParities.length} syndrome bits, too few`);
        f.syndrome = reply.blockParities.slice(at, at + f.plan.code.m);
        at += f.plan.code.m;
        this.#leaked += f.plan.code.m - f.plan.punctured.length;
        decode.add(f);
      }
    }
    this.#leaked += reply.parities.length;
    const mismatched = new Map<BobFrame, number>();
    this.#asked.forEach((qn, i) => {
      const a = reply.parities[i]!;
      const f = qn.f;
      if (qn.kind === 'reveal') {
        this.#pin(f, qn.v, a);
        decode.add(f);
      } else if (qn.kind === 'confirm') {
        if (rangeParity(f.word, f.order, qn.lo, qn.hi) !== a) {
          mismatched.set(f, (mismatched.get(f) ?? 0) + 1);
          if (qn.hi - qn.lo === 1) {
            this.#pin(f, f.order[qn.lo]!, a);
            f.pinned = true;
          } else if (f.searches.length < 4) f.searches.push({ lo: qn.lo, hi: qn.hi, a });
        }
      } else {
        const s = qn.s;
        const mid = (s.lo + s.hi) >>> 1;
        if (rangeParity(f.word, f.order, s.lo, mid) !== a) {
          s.hi = mid;
          s.a = a;
        } else {
          s.lo = mid;
          s.a ^= a;
        }
        if (s.hi - s.lo === 1) {
          this.#pin(f, f.order[s.lo]!, s.a);
          f.searches.splice(f.searches.indexOf(s), 1);
          f.pinned = true;
        }
      }
    });
    this.#asked = [];
    for (const f of this.#frames) {
      if (f.phase === 'done') continue;
      if (f.phase === 'confirm' && !mismatched.has(f) && f.searches.length === 0 && !f.pinned) {
        f.phase = 'done';
        continue;
      }
      if (f.searches.length > 0) {
        for (const s of f.searches) this.#asked.push({ kind: 'bisect', f, s });
        continue;
      }
      if (f.pinned || decode.has(f)) {
        f.pinned = false;
        const ok = f.decoder.run(f.syndrome, this.#round === 1 ? FIRST_ITERATIONS : RETRY_ITERATIONS).ok;
        f.decoder.decision(f.word);
        f.phase = ok ? 'confirm' : 'decode';
      }
      if (f.phase === 'confirm') this.#askConfirm(f);
      else this.#chooseReveals(f);
    }
    if (this.#asked.length > 0 && this.#round < MAX_ROUNDS) return this.#request(-1, 0);
    if (this.#asked.length > 0) this.#gaveUp = true;
    this.#finish();
    return { type: 'reconcile-done', round: this.#round };
  }

  #pin(f: BobFrame, v: number, value: number): void {
    f.known[v] = 1;
    f.decoder.setChannel(v, value ? -SATURATION : SATURATION);
  }

  #askConfirm(f: BobFrame): void {
    const rng = createRng(`ldpc-confirm-ranges:${this.#setup.shuffleSeed}:${f.index}:${this.#round}`);
    const N = f.plan.code.n;
    for (let k = 0; k < CONFIRM_RANGES; k++) {
      const a = rng.nextInt(N);
      const b = rng.nextInt(N);
      this.#asked.push({ kind: 'confirm', f, lo: Math.min(a, b), hi: Math.max(a, b) + 1 });
    }
  }

  /** Asks the next symbols of a frame that failed to decode; gives up if every symbol is known. */
  #chooseReveals(f: BobFrame): void {
    const delta = f.step * 2 ** Math.floor(f.reveals / 3);
    f.reveals++;
    const pool: number[] = [];
    if (f.puncturedLeft > 0) {
      for (const v of f.plan.punctured) if (!f.known[v]) pool.push(v);
      f.puncturedLeft = Math.max(0, pool.length - delta);
    } else for (const v of f.plan.keyPos) if (!f.known[v]) pool.push(v);
    if (pool.length === 0) {
      // Every symbol is known and the syndrome still fails: Alice's answers are inconsistent.
      f.phase = 'done';
      this.#gaveUp = true;
      return;
    }
    const pick = pool.length <= delta ? pool : leastReliable(pool, f.decoder.posterior, delta);
    for (const v of pick) this.#asked.push({ kind: 'reveal', f, v });
  }

  #finish(): void {
    for (const f of this.#frames) {
      const word = f.decoder.decision();
      const { keyPos, n } = f.plan;
      for (let i = 0; i < n; i++) this.#key.set(f.keyOffset + i, word[keyPos[i]!]!);
    }
  }
}

/** The k entries of `pool` with the smallest |L| (ties by position). */
function leastReliable(pool: number[], L: ArrayLike<number>, k: number): number[] {
  const mags = Float64Array.from(pool, (v) => Math.abs(L[v]!) + v * 1e-12);
  const cut = Float64Array.from(mags).sort()[k - 1]!;
  const out: number[] = [];
  for (let i = 0; i < pool.length && out.length < k; i++) if (mags[i]! <= cut) out.push(pool[i]!);
  return out;
}

/** Alice's side: sends the syndrome of her extended words, then the parities Bob asks for. */
export class LdpcResponder implements ParityResponder {
  readonly #words: Uint8Array[] = [];
  readonly #plans: FramePlan[] = [];
  readonly #orders: (Int32Array | undefined)[] = [];
  readonly #seed: number;
  #leaked = 0;
  #syndromeSent = false;

  constructor(aliceKey: BitArray, setup: ReconcileSetup, random?: Rng) {
    checkSetup(setup.n, setup.qberEstimate);
    if (setup.n !== aliceKey.length)
      throw new RangeError(`LDPC setup is for ${setup.n} bits, Alice holds ${aliceKey.length}`);
    this.#seed = setup.shuffleSeed;
    let keyOffset = 0;
    for (const len of frameLengths(setup.n)) {
      const plan = planFrame(len, setup.qberEstimate);
      const word = new Uint8Array(plan.code.n);
      for (let i = 0; i < len; i++) word[plan.keyPos[i]!] = aliceKey.get(keyOffset + i);
      // Punctured symbols: private uniform bits (their syndrome share is one-time padded by them).
      const pad = new Uint8Array(plan.punctured.length);
      if (random) for (let i = 0; i < pad.length; i++) pad[i] = random.nextUint32() & 1;
      else randomFillSync(pad);
      plan.punctured.forEach((v, i) => (word[v] = pad[i]! & 1));
      this.#words.push(word);
      this.#plans.push(plan);
      keyOffset += len;
    }
  }

  get leakedBits(): number {
    return this.#leaked;
  }

  handle(req: ParityRequest): ParityReply {
    let blockParities = new Uint8Array(0);
    if (req.blockPass === 0) {
      const m = this.#plans.reduce((a, p) => a + p.code.m, 0);
      if (this.#syndromeSent || req.blockCount !== m)
        throw new RangeError(`LDPC syndrome request for ${req.blockCount} bits, the frames have ${m}`);
      this.#syndromeSent = true;
      blockParities = new Uint8Array(m);
      let at = 0;
      this.#plans.forEach((p, f) => {
        syndromeOf(p.code, this.#words[f]!, blockParities.subarray(at, at + p.code.m));
        at += p.code.m;
        this.#leaked += p.code.m - p.punctured.length;
      });
    } else if (req.blockPass !== -1) throw new RangeError(`LDPC has no pass ${req.blockPass + 1}`);
    const k = req.start.length;
    if (req.end.length !== k || req.pass.length !== k)
      throw new RangeError('LDPC request lists differ in length');
    const parities = new Uint8Array(k);
    for (let i = 0; i < k; i++) {
      const from = req.start[i]!;
      const to = req.end[i]!;
      const pass = req.pass[i]!;
      let f = 0;
      let base = 0;
      while (f < this.#plans.length && from >= base + this.#plans[f]!.code.n)
        base += this.#plans[f++]!.code.n;
      if (!(f < this.#plans.length && from < to && to <= base + this.#plans[f]!.code.n && pass <= 1))
        throw new RangeError(`LDPC range [${from}, ${to}) of pass ${pass} is not inside one frame`);
      const order =
        pass === 1 ? (this.#orders[f] ??= confirmOrder(this.#plans[f]!.code.n, this.#seed, f)) : null;
      parities[i] = rangeParity(this.#words[f]!, order, from - base, to - base);
    }
    this.#leaked += k;
    return { type: 'parity-reply', round: req.round, blockParities, parities };
  }
}

/** Rate-adaptive LDPC with blind retries (this file's header). */
export const ldpc: ErrorCorrection = {
  name: 'ldpc',
  corrector: (bobKey, o) => new LdpcCorrector(bobKey, o.qberEstimate, o.shuffleSeed),
  responder: (aliceKey, setup, random) => new LdpcResponder(aliceKey, setup, random),
};
