/**
 * Cascade information reconciliation (G. Brassard, L. Salvail, "Secret-key reconciliation by public
 * discussion", EUROCRYPT '93) with the schedules of cascade-schedule.ts, including the improved variant of
 * Martinez-Mateo, Pacher, Peev, Ciurana, Martin, "Demystifying the information reconciliation protocol
 * Cascade" (QIC 2015).
 *
 * In each pass Bob shuffles his key with the pass's public permutation, splits it into blocks and learns
 * Alice's parity of every block. A block whose parities differ holds an odd number of errors; BINARY
 * (bisection) finds one by asking the parity of the left half, then recursing into the half that differs.
 * Correcting a bit flips the error parity of the block holding it in every earlier pass, which reopens those
 * blocks (the cascade effect, BS93 §4). Bisection over a block is a walk down an implicit binary tree
 * (heap indices: root 1, children 2h and 2h+1, split at ⌊(lo+hi)/2⌋); Alice's disclosed parities are stored
 * per tree node, so in the improved variant no parity is ever asked twice (Demystifying §4).
 *
 * Speed (target ≥ 20 Mbit/s in one process): each pass keeps Bob's key in shuffled order as packed 32-bit words, so any
 * block or sub-block parity is a word-wise XOR (`parityOfRange`); shuffles are precomputed and cached; all
 * searches advance together and every question of a round travels in one `ParityRequest`.
 */
import { BitArray } from '../common/index.ts';
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
import { parityOfRange as rangeParity } from './reconciliation.ts';
import {
  cascadeSchedule,
  gatherShuffled,
  maskedBlockParities,
  passBlockMasks,
  passShuffle,
  type CascadeSchedule,
  type Shuffle,
} from './cascade-schedule.ts';

/** Bound once (an imported name is a module getter under the TypeScript loader: costly in hot loops). */
const parityOfRange = rangeParity;

/** Round cap: this many times passes·(log₂ n + 2) rounds (honest runs use well under a tenth). */
export const MAX_ROUNDS_FACTOR = 20;

/** One pass as Bob sees it. */
interface PassState {
  /** 1-based pass number. */
  readonly pass: number;
  readonly k: number;
  readonly blocks: number;
  /**
   * The pass's permutation: null for pass 1 (identity) and, until a block of the pass is first bisected,
   * for two-block passes, whose block parities need only the masks (cascade-schedule.ts).
   */
  shuffle: Shuffle | null;
  /** Bob's current key in this pass's shuffled order; built only when a search opens in the pass. */
  copy: Uint32Array | null;
  /** Block masks (few large blocks), so block parities need no shuffled copy. */
  readonly masks: Uint32Array | null;
  /** Alice's parity of each top-level block: 0 unknown, 2 | parity when known. */
  readonly rootKnown: Uint8Array;
  /**
   * Per block, per heap node below the root: 0 unknown, 2 | parity when Alice's parity is known (improved
   * schedule only). Allocated on the first sub-block answer: ≈ 2n bytes a pass, and most late passes of a
   * frame never open a block.
   */
  known: Uint8Array | null;
  readonly treeSize: number;
  /** Error parity (Alice's ⊕ Bob's) of each top-level block. */
  readonly rootOdd: Uint8Array;
  /** 1 while a search is open in the block. */
  readonly searching: Uint8Array;
}

/** An open bisection: node `h` of block `b` in pass `p`, covering shuffled positions [lo, hi). */
interface Search {
  p: number;
  b: number;
  h: number;
  lo: number;
  hi: number;
  /** Alice's parity of the node. */
  a: number;
}

function pow2ceil(k: number): number {
  let p = 1;
  while (p < k) p *= 2;
  return p;
}

/** Bob's side of Cascade as a sans-IO state machine. */
export class CascadeCorrector implements ErrorCorrector {
  readonly algorithm;
  readonly #schedule: CascadeSchedule;
  readonly #n: number;
  readonly #key: Uint32Array;
  readonly #setup: ReconcileSetup;
  readonly #passes: PassState[] = [];
  #queue: Search[] = [];
  /** (pass, block) pairs made odd by a correction, opened once nothing else is in flight. */
  #deferred: number[] = [];
  #asked: Search[] = [];
  #pendingBlockPass = -1;
  /** Parity of Alice's whole key (XOR of pass 1's block parities). */
  #aliceTotal = 0;
  #round = 0;
  #leaked = 0;
  #flipped = 0;
  #gaveUp = false;
  #finished = false;

  constructor(schedule: CascadeSchedule, bobKey: BitArray, qberEstimate: number, shuffleSeed: number) {
    if (!(qberEstimate >= 0 && qberEstimate < 0.5))
      throw new RangeError(`Cascade needs a QBER estimate in [0, 0.5), got ${qberEstimate}`);
    this.#schedule = schedule;
    this.algorithm = schedule.name;
    this.#n = bobKey.length;
    this.#key = bobKey.words.slice();
    this.#setup = { algorithm: schedule.name, n: this.#n, qberEstimate, shuffleSeed };
  }

  get key(): BitArray {
    return new BitArray(this.#n, this.#key.slice());
  }

  get stats(): ReconcileStats {
    return {
      leakedBits: this.#leaked,
      roundTrips: this.#round,
      bitsFlipped: this.#flipped,
      converged: !this.#gaveUp,
    };
  }

  start(): CorrectorOutput {
    if (this.#n === 0) return { type: 'reconcile-done', round: 0 };
    return this.#beginPass(true);
  }

  receive(reply: ParityReply): CorrectorOutput {
    if (this.#finished) throw new Error('Cascade reply after error correction ended');
    if (reply.round !== this.#round)
      throw new Error(`Cascade reply for round ${reply.round} while waiting for round ${this.#round}`);
    if (reply.parities.length !== this.#asked.length)
      throw new Error(`Cascade reply has ${reply.parities.length} parities, ${this.#asked.length} asked`);
    this.#round++;
    this.#leaked += reply.blockParities.length + reply.parities.length;
    if (this.#pendingBlockPass >= 0) this.#takeBlockParities(reply.blockParities);
    const asked = this.#asked;
    this.#asked = [];
    for (let i = 0; i < asked.length; i++) this.#step(asked[i]!, reply.parities[i]!);
    this.#drain();
    while (this.#asked.length === 0 && this.#deferred.length > 0) {
      const d = this.#deferred;
      this.#deferred = [];
      for (let i = 0; i < d.length; i += 2) {
        const ps = this.#passes[d[i]!]!;
        if (ps.rootOdd[d[i + 1]!] && !ps.searching[d[i + 1]!]) this.#open(d[i]!, d[i + 1]!);
      }
      this.#drain();
    }
    // Honest answers need at most ~passes·log₂(n) rounds plus cascades and fewer flips than bits; beyond
    // generous caps the answers are inconsistent (tampering), so stop and let verification reject the key.
    if (
      this.#round > MAX_ROUNDS_FACTOR * this.#schedule.passes * (Math.log2(this.#n) + 2) ||
      this.#flipped > this.#n
    ) {
      this.#gaveUp = true;
      this.#asked = [];
      this.#queue = [];
      return this.#done();
    }
    if (this.#asked.length > 0) return this.#request(-1, 0, 0);
    if (this.#passes.length < this.#schedule.passes) return this.#beginPass(false);
    return this.#done();
  }

  /**
   * The end of error correction: shuffled copies of the key erased, permutations handed back for later
   * frames (cascade-schedule.ts), and any further reply refused.
   */
  #done(): CorrectorOutput {
    this.#finished = true;
    for (const ps of this.#passes) {
      if (ps.copy && ps.copy !== this.#key) ps.copy.fill(0);
      ps.copy = null;
      ps.shuffle?.release();
      ps.shuffle = null;
    }
    return { type: 'reconcile-done', round: this.#round };
  }

  #beginPass(first: boolean): ParityRequest {
    const pass = this.#passes.length + 1;
    const n = this.#n;
    const k = this.#schedule.blockSize(pass, this.#setup.qberEstimate, n);
    const blocks = Math.ceil(n / k);
    const masks = passBlockMasks(n, this.#setup.shuffleSeed, pass, k, 'bob');
    // With masks the block parities need no permutation; it is built when a block is first bisected.
    const shuffle = masks ? null : passShuffle(n, this.#setup.shuffleSeed, pass, k, 'bob');
    const treeSize = 2 * pow2ceil(k);
    this.#passes.push({
      pass,
      k,
      blocks,
      shuffle,
      copy: pass === 1 ? this.#key : null,
      masks,
      rootKnown: new Uint8Array(blocks),
      known: null,
      treeSize,
      rootOdd: new Uint8Array(blocks),
      searching: new Uint8Array(blocks),
    });
    this.#pendingBlockPass = pass - 1;
    // Block-parity inference (Demystifying §4): after pass 1 Bob knows the parity of Alice's whole key,
    // so the last block's parity follows from the others and is not asked.
    const infer = this.#schedule.inferLastBlock && pass > 1 ? 1 : 0;
    return this.#request(pass - 1, k, blocks - infer, first);
  }

  #request(blockPass: number, blockSize: number, blockCount: number, first = false): ParityRequest {
    const m = this.#asked.length;
    const pass = new Uint8Array(m);
    const start = new Uint32Array(m);
    const end = new Uint32Array(m);
    for (let i = 0; i < m; i++) {
      const s = this.#asked[i]!;
      pass[i] = s.p;
      start[i] = s.lo;
      end[i] = (s.lo + s.hi) >>> 1;
    }
    const base = {
      type: 'parity-request',
      round: this.#round,
      blockPass,
      blockSize,
      blockCount,
      pass,
      start,
      end,
    } as const;
    return first ? { ...base, setup: this.#setup } : base;
  }

  #takeBlockParities(alice: Uint8Array): void {
    const p = this.#pendingBlockPass;
    this.#pendingBlockPass = -1;
    const ps = this.#passes[p]!;
    const inferred = this.#schedule.inferLastBlock && p > 0 ? 1 : 0;
    if (alice.length !== ps.blocks - inferred)
      throw new Error(`Cascade reply has ${alice.length} block parities, pass ${p + 1} has ${ps.blocks}`);
    if (p === 0) for (let b = 0; b < alice.length; b++) this.#aliceTotal ^= alice[b]!;
    let rest = this.#aliceTotal;
    for (let b = 0; b < alice.length; b++) rest ^= alice[b]!;
    const bob = new Uint8Array(ps.blocks);
    if (ps.masks) maskedBlockParities(this.#key, ps.masks, bob);
    else {
      const copy = this.#copyOf(ps);
      for (let b = 0, lo = 0; b < ps.blocks; b++, lo += ps.k)
        bob[b] = parityOfRange(copy, lo, Math.min(lo + ps.k, this.#n));
    }
    for (let b = 0; b < ps.blocks; b++) {
      const a = b < alice.length ? alice[b]! : rest;
      ps.rootKnown[b] = 2 | a;
      if (bob[b] !== a) {
        ps.rootOdd[b] = 1;
        this.#open(p, b);
      }
    }
  }

  /** The pass's shuffled copy of Bob's current key, built on first use. */
  #copyOf(ps: PassState): Uint32Array {
    if (!ps.copy) {
      ps.shuffle ??= passShuffle(this.#n, this.#setup.shuffleSeed, ps.pass, ps.k, 'bob', ps.masks);
      ps.copy = new Uint32Array(this.#key.length);
      gatherShuffled(this.#key, ps.shuffle!.perm, this.#n, ps.copy);
    }
    return ps.copy;
  }

  /** Opens a search at the root of block b of pass p. */
  #open(p: number, b: number): void {
    const ps = this.#passes[p]!;
    this.#copyOf(ps);
    ps.searching[b] = 1;
    const lo = b * ps.k;
    const a = ps.rootKnown[b]! & 1;
    this.#queue.push({ p, b, h: 1, lo, hi: Math.min(lo + ps.k, this.#n), a });
  }

  #close(s: Search): void {
    const ps = this.#passes[s.p]!;
    ps.searching[s.b] = 0;
    if (ps.rootOdd[s.b]) this.#open(s.p, s.b);
  }

  /** Advances `s` given Alice's parity `left` of its left child. */
  #step(s: Search, left: number): void {
    const ps = this.#passes[s.p]!;
    const copy = ps.copy!;
    if (parityOfRange(copy, s.lo, s.hi) === s.a) {
      this.#close(s); // another correction already made this node even
      return;
    }
    const mid = (s.lo + s.hi) >>> 1;
    const base = s.b * ps.treeSize;
    if (this.#schedule.reuseSubBlocks) {
      const known = (ps.known ??= new Uint8Array(ps.blocks * ps.treeSize));
      known[base + 2 * s.h] = 2 | left;
      known[base + 2 * s.h + 1] = 2 | (s.a ^ left);
    }
    if (parityOfRange(copy, s.lo, mid) !== left) {
      s.h = 2 * s.h;
      s.hi = mid;
      s.a = left;
    } else {
      s.h = 2 * s.h + 1;
      s.lo = mid;
      s.a ^= left;
    }
    this.#queue.push(s);
  }

  /** Descends every queued search as far as known parities allow; leaves flip bits, the rest ask. */
  #drain(): void {
    const reuse = this.#schedule.reuseSubBlocks;
    while (this.#queue.length > 0) {
      if (this.#flipped > this.#n) return; // inconsistent answers; receive() gives up
      const s = this.#queue.pop()!;
      if (s.hi - s.lo === 1) {
        const ps = this.#passes[s.p]!;
        if ((((ps.copy![s.lo >>> 5]! >>> (s.lo & 31)) & 1) ^ s.a) === 1) this.#flip(s.p, s.lo);
        this.#close(s);
        continue;
      }
      if (reuse) {
        const ps = this.#passes[s.p]!;
        const kl = ps.known ? ps.known[s.b * ps.treeSize + 2 * s.h]! : 0;
        if (kl !== 0) {
          this.#step(s, kl & 1);
          continue;
        }
      }
      this.#asked.push(s);
    }
  }

  /** Flips the bit at shuffled position `pos` of pass p in Bob's key and every pass copy; cascades. */
  #flip(p: number, pos: number): void {
    const sh = this.#passes[p]!.shuffle;
    const j = sh ? sh.perm[pos]! : pos;
    this.#flipped++;
    const key = this.#key;
    key[j >>> 5]! ^= 1 << (j & 31);
    let opened = false;
    for (let q = 0; q < this.#passes.length; q++) {
      const ps = this.#passes[q]!;
      let b: number;
      if (ps.shuffle || ps.copy) {
        const at = ps.shuffle ? ps.shuffle.inv[j]! : j;
        if (ps.copy && ps.copy !== key) ps.copy[at >>> 5]! ^= 1 << (at & 31);
        b = Math.floor(at / ps.k);
      } else {
        // No shuffled copy yet: the block masks say which block holds original position j.
        const masks = ps.masks!;
        const words = masks.length / ps.blocks;
        b = 0;
        while (((masks[b * words + (j >>> 5)]! >>> (j & 31)) & 1) === 0) b++;
      }
      if (q === this.#pendingBlockPass) continue; // parities not yet known
      ps.rootOdd[b]! ^= 1;
      if (!ps.rootOdd[b] || ps.searching[b]) continue;
      // Blocks a correction made odd often hold the same second error, found by whichever search ends
      // first; the others then turn even, so their questions are saved by deferring them until nothing is in
      // flight. The improved schedule opens one at once (the earliest pass: smallest blocks), the original
      // defers all (see CascadeSchedule.deferCascades for the measured trade-off).
      if (opened || this.#schedule.deferCascades === 'all') this.#deferred.push(q, b);
      else {
        this.#open(q, b);
        opened = true;
      }
    }
  }
}

/** Alice's side of Cascade: answers parity questions from her key in each pass's shuffled order. */
export class CascadeResponder implements ParityResponder {
  readonly #key: Uint32Array;
  readonly #setup: ReconcileSetup;
  readonly #schedule: CascadeSchedule;
  readonly #copies: (Uint32Array | undefined)[] = [];
  /** Block masks of the two-block passes, kept from the block parities for the pass's shuffle. */
  readonly #masks: (Uint32Array | null | undefined)[] = [];
  #leaked = 0;

  constructor(aliceKey: BitArray, setup: ReconcileSetup) {
    if (setup.n !== aliceKey.length)
      throw new RangeError(`Cascade setup is for ${setup.n} bits, Alice holds ${aliceKey.length}`);
    this.#key = aliceKey.words;
    this.#setup = setup;
    this.#schedule = cascadeSchedule(setup.algorithm);
  }

  get leakedBits(): number {
    return this.#leaked;
  }

  #copy(p: number): Uint32Array {
    if (!(p >= 0 && p < this.#schedule.passes)) throw new RangeError(`Cascade has no pass ${p + 1}`);
    let c = this.#copies[p];
    if (!c) {
      const n = this.#setup.n;
      const k = this.#schedule.blockSize(p + 1, this.#setup.qberEstimate, n);
      const sh = passShuffle(n, this.#setup.shuffleSeed, p + 1, k, 'alice', this.#masks[p] ?? null);
      if (sh) {
        c = new Uint32Array(this.#key.length);
        gatherShuffled(this.#key, sh.perm, this.#setup.n, c);
        sh.release(); // the copy is all Alice needs of it
      } else c = this.#key;
      this.#copies[p] = c;
    }
    return c;
  }

  handle(req: ParityRequest): ParityReply {
    const n = this.#setup.n;
    let blockParities = new Uint8Array(0);
    if (req.blockPass >= 0) {
      const k = req.blockSize;
      if (!(Number.isInteger(k) && k >= 1 && k <= n))
        throw new RangeError(`Cascade block size ${k} outside 1..${n}`);
      if (!(req.blockPass < this.#schedule.passes))
        throw new RangeError(`Cascade has no pass ${req.blockPass + 1}`);
      const blocks = Math.ceil(n / k);
      if (!(Number.isInteger(req.blockCount) && req.blockCount >= 0 && req.blockCount <= blocks))
        throw new RangeError(`Cascade asks ${req.blockCount} block parities of ${blocks}`);
      const all = new Uint8Array(blocks);
      const masks = passBlockMasks(n, this.#setup.shuffleSeed, req.blockPass + 1, k, 'alice');
      // Kept for the pass's shuffle only when they are the schedule's own (Bob names the block size).
      if (k === this.#schedule.blockSize(req.blockPass + 1, this.#setup.qberEstimate, n))
        this.#masks[req.blockPass] = masks;
      if (masks) maskedBlockParities(this.#key, masks, all);
      else {
        const c = this.#copy(req.blockPass);
        for (let b = 0, lo = 0; lo < n; b++, lo += k) all[b] = parityOfRange(c, lo, Math.min(lo + k, n));
      }
      blockParities = all.subarray(0, req.blockCount);
    }
    const m = req.start.length;
    if (req.end.length !== m || req.pass.length !== m)
      throw new RangeError('Cascade request lists differ in length');
    const parities = new Uint8Array(m);
    for (let i = 0; i < m; i++) {
      const from = req.start[i]!;
      const to = req.end[i]!;
      if (!(from < to && to <= n)) throw new RangeError(`Cascade range [${from}, ${to}) outside 0..${n}`);
      parities[i] = parityOfRange(this.#copy(req.pass[i]!), from, to);
    }
    this.#leaked += blockParities.length + m;
    return { type: 'parity-reply', round: req.round, blockParities, parities };
  }
}

function cascadeAlgorithm(name: 'cascade-original' | 'cascade-improved'): ErrorCorrection {
  const schedule = cascadeSchedule(name);
  return {
    name,
    corrector: (bobKey, o) => new CascadeCorrector(schedule, bobKey, o.qberEstimate, o.shuffleSeed),
    responder: (aliceKey, setup) => new CascadeResponder(aliceKey, setup),
  };
}

/** Brassard–Salvail 1993 Cascade (4 passes, k₁ = ⌈0.73/Q⌉, doubling). */
export const cascadeOriginal: ErrorCorrection = cascadeAlgorithm('cascade-original');
/** Martinez-Mateo et al. 2015 Cascade opt. (8) with sub-block parity reuse. */
export const cascadeImproved: ErrorCorrection = cascadeAlgorithm('cascade-improved');
