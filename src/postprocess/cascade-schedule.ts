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
 * permutation. Permutations are public, identical at both ends, and cached per (n, seed, pass) so that
 * consecutive frames reuse them (the calibration note measures the C++ reference the same way).
 */
import { createRng } from '../common/index.ts';
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

/** A public shuffle: `perm[i]` is the original index at shuffled position i, `inv` its inverse. */
export interface Shuffle {
  readonly perm: Uint32Array;
  readonly inv: Uint32Array;
}

const cache = new Map<string, Shuffle>();
const masterCache = new Map<string, Uint32Array>();
const CACHE_LIMIT = 48;

function remember<T>(m: Map<string, T>, id: string, v: T): T {
  if (m.size >= CACHE_LIMIT) m.delete(m.keys().next().value!);
  m.set(id, v);
  return v;
}

/** A seeded Fisher–Yates permutation of 0..size−1 (size a power of two). */
function masterPermutation(size: number, seed: number, pass: number): Uint32Array {
  const id = `${size}:${seed}:${pass}`;
  const hit = masterCache.get(id);
  if (hit) return hit;
  const rng = createRng(`cascade-shuffle:${seed}`).stream(`pass-${pass}:${size}`);
  const perm = new Uint32Array(size);
  for (let i = 0; i < size; i++) perm[i] = i;
  // Lemire's multiply-shift range reduction: bias ≤ size/2³², irrelevant for a public shuffle's quality.
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor((rng.nextUint32() * (i + 1)) / 4294967296);
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  return remember(masterCache, id, perm);
}

/**
 * The shuffle of pass `pass` (1-based; pass 1 → null, the identity) for n bits and a public seed: the
 * entries below n of a cached uniform permutation of the next power of two, in order — itself a uniform
 * permutation of 0..n−1 — so keys of any length between two powers of two share one generated master.
 */
export function passShuffle(n: number, seed: number, pass: number): Shuffle | null {
  if (pass <= 1) return null;
  const id = `${n}:${seed}:${pass}`;
  const hit = cache.get(id);
  if (hit) return hit;
  let size = 1;
  while (size < n) size *= 2;
  const master = masterPermutation(size, seed, pass);
  const perm = size === n ? master : new Uint32Array(n);
  if (size !== n) for (let i = 0, k = 0; k < n; i++) if (master[i]! < n) perm[k++] = master[i]!;
  const inv = new Uint32Array(n);
  for (let i = 0; i < n; i++) inv[perm[i]!] = i;
  return remember(cache, id, { perm, inv });
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

/** Shuffled passes with at most this many blocks get precomputed block masks. */
export const MASKED_BLOCKS_MAX = 32;
const maskCache = new Map<string, Uint32Array>();

/**
 * Block masks of a shuffled pass with few, large blocks: word w of block b's mask (at b·words + w) has
 * the bits of the original positions that land in block b. A block parity is then a masked word XOR over
 * the unshuffled key, so passes whose blocks are all even never build a shuffled copy. Null when the pass
 * is unshuffled or has more than MASKED_BLOCKS_MAX blocks.
 */
export function passBlockMasks(n: number, seed: number, pass: number, k: number): Uint32Array | null {
  const sh = passShuffle(n, seed, pass);
  const blocks = Math.ceil(n / k);
  if (!sh || blocks > MASKED_BLOCKS_MAX) return null;
  const id = `${n}:${seed}:${pass}:${k}`;
  const hit = maskCache.get(id);
  if (hit) return hit;
  const words = (n + 31) >>> 5;
  const masks = new Uint32Array(blocks * words);
  for (let i = 0; i < n; i++) {
    const j = sh.perm[i]!;
    masks[Math.floor(i / k) * words + (j >>> 5)]! |= 1 << (j & 31);
  }
  return remember(maskCache, id, masks);
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
