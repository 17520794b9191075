/**
 * Block-size schedules of Cascade and the shared per-pass shuffles.
 *
 * - `cascade-original`: G. Brassard, L. Salvail, "Secret-key reconciliation by public discussion",
 *   EUROCRYPT '93, LNCS 765: four passes, k₁ = ⌈0.73/Q⌉, k_{i+1} = 2·k_i; only the top-level block
 *   parities are remembered between passes.
 * - `cascade-improved`: J. Martinez-Mateo, C. Pacher, M. Peev, A. Ciurana, V. Martin, "Demystifying the
 *   information reconciliation protocol Cascade", Quantum Inf. Comput. 15 (2015) 453–477, their
 *   "Cascade opt. (8)": fourteen passes with α = log₂(1/Q) − 0.5, k₁ = 2^⌈α⌉, k₂ = 2^⌈(α+12)/2⌉, k₃ = 4096
 *   and k_i = n/2 afterwards, power-of-two blocks so bisection stays aligned, and every parity ever
 *   disclosed (sub-blocks included) reused when the cascade reopens a block (their §4 "no parity is
 *   asked twice").
 *
 * Pass 1 is not shuffled (the key arrives in random order); later passes use a seeded Fisher–Yates
 * permutation. Permutations are public and identical at both ends, each end deriving them from the seed
 * Bob announces. The protocol ends (owners `alice`, `bob`) cache nothing: Bob announces a fresh seed per
 * frame, so a cache only kept dead permutations alive (≈ 38 MB at each end) for the garbage collector to
 * trace; their arrays go back to a small pool instead when a frame is done (`Shuffle.release`). Callers
 * outside a protocol end (`shared`: tests, tools) keep a cache per (n, seed, pass).
 */
import { createRng, popcount32, type Rng } from '../common/index.ts';
import type { ReconcileAlgorithmName } from './reconciliation.ts';

/** A Cascade variant: how many passes, which block size in each, and whether sub-block parities persist. */
export interface CascadeSchedule {
  readonly name: ReconcileAlgorithmName;
  readonly passes: number;
  /** Block size of pass `pass` (1-based) for QBER estimate `qber` and key length `n`, in bits (1..n). */
  blockSize(pass: number, qber: number, n: number): number;
  /** Remember every disclosed sub-block parity (improved) or only top-level ones (original). */
  readonly reuseSubBlocks: boolean;
  /** Infer the last block's parity from the whole key's parity (known after pass 1) instead of asking. */
  readonly inferLastBlock: boolean;
  /**
   * Cascade searches reopened by a correction: `all` wait until no search is in flight (best for the
   * 4-pass original: f 1.18 → 1.15 at 2% on 10⁴ bits), `all-but-one` opens the one in the earliest pass at
   * once (best for the 14-pass improved schedule: f 1.09 → 1.06, half the round trips of `all`).
   */
  readonly deferCascades: 'all' | 'all-but-one';
}

/** QBERs below this are treated as this (cascade-cpp uses the same floor). */
export const MIN_QBER_ESTIMATE = 1e-5;

function clampBlock(k: number, n: number): number {
  return Math.max(1, Math.min(n, Math.round(k)));
}

/** Brassard–Salvail 1993. */
export const CASCADE_ORIGINAL: CascadeSchedule = {
  name: 'cascade-original',
  passes: 4,
  reuseSubBlocks: false,
  inferLastBlock: false,
  deferCascades: 'all',
  blockSize(pass, qber, n) {
    const q = Math.max(qber, MIN_QBER_ESTIMATE);
    return clampBlock(Math.ceil(0.73 / q) * 2 ** (pass - 1), n);
  },
};

/** Martinez-Mateo et al. 2015, Cascade opt. (8). */
export const CASCADE_IMPROVED: CascadeSchedule = {
  name: 'cascade-improved',
  passes: 14,
  reuseSubBlocks: true,
  inferLastBlock: true,
  deferCascades: 'all-but-one',
  blockSize(pass, qber, n) {
    const q = Math.max(qber, MIN_QBER_ESTIMATE);
    const alpha = Math.log2(1 / q) - 0.5;
    if (pass === 1) return clampBlock(2 ** Math.ceil(alpha), n);
    if (pass === 2) return clampBlock(2 ** Math.ceil((alpha + 12) / 2), n);
    if (pass === 3) return clampBlock(4096, n);
    return clampBlock(Math.ceil(n / 2), n);
  },
};

/** The schedule of a named algorithm. */
export function cascadeSchedule(name: ReconcileAlgorithmName): CascadeSchedule {
  if (name === 'cascade-original') return CASCADE_ORIGINAL;
  if (name === 'cascade-improved') return CASCADE_IMPROVED;
  throw new RangeError(`Unknown reconciliation algorithm "${String(name)}"`);
}

/**
 * Whose cache a shuffle goes in: Bob's corrector and Alice's responder each keep their own, so two ends in
 * one process (tests, the memory channel, `runPipeline`) do the same work as two separate machines and
 * never profit from each other's permutations; `shared` is for callers outside a protocol end.
 */
export type CacheOwner = 'alice' | 'bob' | 'shared';

/**
 * Spare permutation arrays (public data), by length: a fresh shuffle per frame otherwise allocates and
 * zeroes 8n bytes (permutation and inverse) per shuffled pass at each end, for the collector to reclaim.
 * Every array taken from here is overwritten whole before it is read.
 */
const spares = new Map<number, Uint32Array[]>();
const SPARES_PER_LENGTH = 24;

function takeArray(n: number): Uint32Array {
  return spares.get(n)?.pop() ?? new Uint32Array(n);
}

function giveArray(a: Uint32Array): void {
  let list = spares.get(a.length);
  if (!list) spares.set(a.length, (list = []));
  if (list.length < SPARES_PER_LENGTH) list.push(a);
}

/**
 * A public shuffle: `perm[i]` is the original index at shuffled position i, `inv` its inverse (built on
 * first use: Alice's responder never needs it).
 */
export class Shuffle {
  readonly perm: Uint32Array;
  #inv: Uint32Array | null = null;
  /** Not in a cache: its arrays may go back to the pool (`release`). */
  readonly #own: boolean;
  #released = false;

  constructor(perm: Uint32Array, own = false) {
    this.perm = perm;
    this.#own = own;
  }

  get inv(): Uint32Array {
    if (this.#released) throw new Error('Shuffle used after release');
    if (!this.#inv) {
      const perm = this.perm;
      const inv = this.#own ? takeArray(perm.length) : new Uint32Array(perm.length);
      for (let i = 0; i < perm.length; i++) inv[perm[i]!] = i;
      this.#inv = inv;
    }
    return this.#inv;
  }

  /**
   * Hands the arrays back for the next frame's shuffles (a no-op for a cached shuffle). The caller drops
   * every reference to this shuffle and to `perm` / `inv` first.
   */
  release(): void {
    if (!this.#own || this.#released) return;
    this.#released = true;
    giveArray(this.perm);
    if (this.#inv) giveArray(this.#inv);
    this.#inv = null;
  }
}

/**
 * Imported functions bound once: under the TypeScript loader every call of an imported name goes through
 * a module getter, which costs more than the function itself in these loops.
 */
const popcount = popcount32;

const cache = new Map<string, Shuffle>();
const CACHE_LIMIT = 48;

function remember<T>(m: Map<string, T>, id: string, v: T): T {
  if (m.size >= CACHE_LIMIT) m.delete(m.keys().next().value!);
  m.set(id, v);
  return v;
}

/** xoshiro128** (Blackman & Vigna 2018, as in common/rng.ts) with its state in a small array. */
function xoshiro(src: Rng): Int32Array {
  const st = Int32Array.of(src.nextUint32(), src.nextUint32(), src.nextUint32(), src.nextUint32());
  if ((st[0]! | st[1]! | st[2]! | st[3]!) === 0) st[3] = 1;
  return st;
}

function next(st: Int32Array): number {
  const b = st[1]!;
  const m = Math.imul(b, 5);
  const r = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
  const t = b << 9;
  st[2]! ^= st[0]!;
  st[3]! ^= b;
  st[1]! ^= st[2]!;
  st[0]! ^= st[3]!;
  st[2]! ^= t;
  st[3] = (st[3]! << 11) | (st[3]! >>> 21);
  return r;
}

/**
 * Fisher–Yates (Knuth TAOCP vol. 2, Algorithm 3.4.2 P) over `items` in place, from `st`. Lemire's
 * multiply-shift range reduction: bias ≤ n/2³², irrelevant for a public shuffle's quality.
 */
function shuffleInPlace(items: Uint32Array, st: Int32Array): void {
  // The generator's state in locals for the loop (≈ 1.5× faster than through the array in V8).
  let a = st[0]!;
  let b = st[1]!;
  let c = st[2]!;
  let d = st[3]!;
  for (let i = items.length - 1; i > 0; i--) {
    const m = Math.imul(b, 5);
    const r = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    const j = ((r * (i + 1)) / 4294967296) >>> 0;
    const v = items[i]!;
    items[i] = items[j]!;
    items[j] = v;
  }
  st[0] = a;
  st[1] = b;
  st[2] = c;
  st[3] = d;
}

/**
 * The two-block partition of a pass whose blocks are n/2 long (the improved schedule's passes 4–14): a
 * uniform k-subset for block 0, the rest for block 1, as two masks over the original positions. Drawn as
 * n random bits, then uniformly chosen members removed (or non-members added) until exactly k remain:
 * given its size, a random bit set is a uniform subset, and removing a uniform member of a uniform c-subset
 * leaves a uniform (c−1)-subset, so the result is a uniform k-subset. Costs n/32 draws and O(√n) fixes —
 * this is what makes a fresh shuffle per frame affordable, since most such passes never open a block.
 */
function partitionMasks(n: number, k: number, st: Int32Array): Uint32Array {
  const words = (n + 31) >>> 5;
  const masks = new Uint32Array(2 * words);
  let count = 0;
  for (let w = 0; w < words; w++) {
    const bits = w === words - 1 && n & 31 ? next(st) & ((1 << (n & 31)) - 1) : next(st);
    masks[w] = bits;
    count += popcount(bits);
  }
  while (count !== k) {
    const j = ((next(st) * n) / 4294967296) >>> 0;
    const set = (masks[j >>> 5]! >>> (j & 31)) & 1;
    if (set === (count > k ? 1 : 0)) {
      masks[j >>> 5]! ^= 1 << (j & 31);
      count += count > k ? -1 : 1;
    }
  }
  for (let w = 0; w < words; w++) masks[words + w] = ~masks[w]! >>> 0;
  if (n & 31) masks[2 * words - 1]! &= (1 << (n & 31)) - 1;
  return masks;
}

/** The positions whose bit is set in `mask` (words), ascending, into `out` from `at`; returns the end. */
function setPositions(mask: Uint32Array, out: Uint32Array, at: number): number {
  for (let w = 0; w < mask.length; w++) {
    let m = mask[w]!;
    while (m !== 0) {
      out[at++] = w * 32 + (31 - Math.clz32(m & -m));
      m &= m - 1;
    }
  }
  return at;
}

function streamOf(seed: number, what: string, n: number, pass: number, k: number): Int32Array {
  return xoshiro(createRng(`cascade-shuffle:${seed}`).stream(`${what}-${pass}:${n}:${k}`));
}

/** True when a pass of block size k over n bits has exactly two blocks (partition-first derivation). */
function isPartitionPass(n: number, k: number): boolean {
  return Math.ceil(n / k) === 2;
}

/**
 * The shuffle of pass `pass` (1-based; pass 1 → null, the identity) with block size k over n bits, for a
 * public seed: a uniform permutation with its inverse. Two-block passes derive it partition first (the
 * masks of `passBlockMasks`, given as `masks` when the caller has them, then each block's order by
 * Fisher–Yates), so a pass whose two blocks are even never needs it; a uniform subset with uniform orders
 * inside is exactly a uniform permutation cut in two. Other passes draw one Fisher–Yates permutation.
 * Cached per (n, seed, pass, k) for `shared` callers only (see the top of this file).
 */
export function passShuffle(
  n: number,
  seed: number,
  pass: number,
  k: number,
  end: CacheOwner = 'shared',
  masks: Uint32Array | null = null,
): Shuffle | null {
  if (pass <= 1) return null;
  const cached = end === 'shared';
  const id = cached ? `${end}:${n}:${seed}:${pass}:${k}` : '';
  const hit = cached ? cache.get(id) : undefined;
  if (hit) return hit;
  const perm = cached ? new Uint32Array(n) : takeArray(n);
  if (isPartitionPass(n, k)) {
    masks ??= passBlockMasks(n, seed, pass, k, end)!;
    const words = masks.length >>> 1;
    const mid = setPositions(masks.subarray(0, words), perm, 0);
    setPositions(masks.subarray(words), perm, mid);
    const st = streamOf(seed, 'order', n, pass, k);
    shuffleInPlace(perm.subarray(0, mid), st);
    shuffleInPlace(perm.subarray(mid), st);
  } else {
    for (let i = 0; i < n; i++) perm[i] = i;
    shuffleInPlace(perm, streamOf(seed, 'perm', n, pass, k));
  }
  return cached ? remember(cache, id, new Shuffle(perm)) : new Shuffle(perm, true);
}

/** Packs bits of `src` in shuffled order into `out`: out bit i = src bit perm[i]. */
export function gatherShuffled(src: Uint32Array, perm: Uint32Array, n: number, out: Uint32Array): void {
  let i = 0;
  for (let w = 0; i < n; w++) {
    const end = Math.min(i + 32, n);
    let acc = 0;
    for (let b = 0; i < end; i++, b++) {
      const j = perm[i]!;
      acc |= ((src[j >>> 5]! >>> (j & 31)) & 1) << b;
    }
    out[w] = acc;
  }
}

/**
 * Shuffled passes with at most this many blocks get precomputed block masks: the two-block passes, whose
 * masks come before (and usually instead of) the permutation. A pass with more blocks needs the
 * permutation for its masks anyway, and a gathered copy then gives the block parities cheaper.
 */
export const MASKED_BLOCKS_MAX = 2;
const maskCache = new Map<string, Uint32Array>();

/**
 * Block masks of a shuffled pass with few, large blocks: word w of block b's mask (at b·words + w) has
 * the bits of the original positions that land in block b. A block parity is then a masked word XOR over
 * the unshuffled key, so passes whose blocks are all even never build a shuffled copy. Null when the pass
 * is unshuffled or has more than MASKED_BLOCKS_MAX blocks.
 */
export function passBlockMasks(
  n: number,
  seed: number,
  pass: number,
  k: number,
  end: CacheOwner = 'shared',
): Uint32Array | null {
  const blocks = Math.ceil(n / k);
  if (pass <= 1 || blocks > MASKED_BLOCKS_MAX) return null;
  const cached = end === 'shared';
  const id = cached ? `${end}:${n}:${seed}:${pass}:${k}` : '';
  const hit = cached ? maskCache.get(id) : undefined;
  if (hit) return hit;
  const keep = (m: Uint32Array) => (cached ? remember(maskCache, id, m) : m);
  if (isPartitionPass(n, k)) return keep(partitionMasks(n, k, streamOf(seed, 'part', n, pass, k)));
  const sh = passShuffle(n, seed, pass, k, end)!;
  const words = (n + 31) >>> 5;
  const masks = new Uint32Array(blocks * words);
  const perm = sh.perm;
  for (let blk = 0, lo = 0; lo < n; blk++, lo += k) {
    const base = blk * words;
    for (let i = lo, hi = Math.min(n, lo + k); i < hi; i++) {
      const j = perm[i]!;
      masks[base + (j >>> 5)]! |= 1 << (j & 31);
    }
  }
  sh.release();
  return keep(masks);
}

/** Parities of every block through `passBlockMasks`, into `out` (one byte per block). */
export function maskedBlockParities(key: Uint32Array, masks: Uint32Array, out: Uint8Array): void {
  const words = key.length;
  for (let b = 0; b < out.length; b++) {
    let acc = 0;
    const base = b * words;
    for (let w = 0; w < words; w++) acc ^= key[w]! & masks[base + w]!;
    acc ^= acc >>> 16;
    acc ^= acc >>> 8;
    acc ^= acc >>> 4;
    out[b] = (0x6996 >>> (acc & 0xf)) & 1;
  }
}
