/**
 * Isolation forest: F. T. Liu, K. M. Ting, Z.-H. Zhou, "Isolation Forest", ICDM 2008. Anomalies are
 * isolated by fewer random axis-parallel splits than normal points. Each of `trees` trees is grown on a
 * subsample of ψ points (default 256) to height ⌈log₂ψ⌉; the score of x is s = 2^{−E[h(x)]/c(ψ)} with
 * c(n) = 2H(n−1) − 2(n−1)/n the average path length of an unsuccessful BST search (H = harmonic number,
 * H(i) ≈ ln i + γ), and h(x) the path length plus c(size) at an external node (Algorithm 3). s → 1 for
 * anomalies, ≤ 0.5 for normal points. Seeded: the same Rng gives the same forest.
 */
import type { Rng } from './deps.ts';

type Node =
  | { readonly leaf: true; readonly size: number }
  | {
      readonly leaf: false;
      readonly feature: number;
      readonly split: number;
      readonly left: Node;
      readonly right: Node;
    };

const EULER_GAMMA = 0.5772156649015329;

/** c(n): average path length of an unsuccessful search in a BST of n points (Liu et al. eq. 1). */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

/** A trained isolation forest over fixed-length feature vectors. */
export class IsolationForest {
  readonly #trees: Node[];
  readonly #psi: number;
  readonly dimensions: number;

  private constructor(trees: Node[], psi: number, dimensions: number) {
    this.#trees = trees;
    this.#psi = psi;
    this.dimensions = dimensions;
  }

  /** Trains on `data` (rows of equal length) with `trees` trees on subsamples of `subsample` rows. */
  static train(
    data: readonly (readonly number[])[],
    rng: Rng,
    trees = 100,
    subsample = 256,
  ): IsolationForest {
    if (data.length < 2)
      throw new RangeError(`an isolation forest needs ≥ 2 training rows, got ${data.length}`);
    const dims = data[0]!.length;
    if (data.some((r) => r.length !== dims)) throw new RangeError('training rows differ in length');
    const psi = Math.min(subsample, data.length);
    const heightLimit = Math.ceil(Math.log2(psi));
    const out: Node[] = [];
    for (let t = 0; t < trees; t++) {
      const idx = Array.from({ length: data.length }, (_, i) => i);
      for (let i = 0; i < psi; i++) {
        const j = i + rng.nextInt(idx.length - i); // partial Fisher–Yates: a sample without replacement
        [idx[i], idx[j]] = [idx[j]!, idx[i]!];
      }
      out.push(
        grow(
          idx.slice(0, psi).map((i) => data[i]!),
          0,
          heightLimit,
          rng,
        ),
      );
    }
    return new IsolationForest(out, psi, dims);
  }

  /** Anomaly score in (0, 1]; higher is more anomalous. */
  score(x: readonly number[]): number {
    if (x.length !== this.dimensions)
      throw new RangeError(`expected ${this.dimensions} features, got ${x.length}`);
    let sum = 0;
    for (const t of this.#trees) sum += pathLength(t, x, 0);
    return 2 ** (-(sum / this.#trees.length) / averagePathLength(this.#psi));
  }
}

function grow(rows: readonly (readonly number[])[], depth: number, limit: number, rng: Rng): Node {
  if (depth >= limit || rows.length <= 1) return { leaf: true, size: rows.length };
  const dims = rows[0]!.length;
  // pick a feature that is not constant in this node (Algorithm 2 picks at random; constant ones cannot split)
  const order = Array.from({ length: dims }, (_, i) => i);
  for (let i = 0; i < dims; i++) {
    const j = i + rng.nextInt(dims - i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (const f of order) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const r of rows) {
      lo = Math.min(lo, r[f]!);
      hi = Math.max(hi, r[f]!);
    }
    if (!(hi > lo)) continue;
    const split = lo + rng.nextFloat() * (hi - lo);
    const left = rows.filter((r) => r[f]! < split);
    const right = rows.filter((r) => r[f]! >= split);
    return {
      leaf: false,
      feature: f,
      split,
      left: grow(left, depth + 1, limit, rng),
      right: grow(right, depth + 1, limit, rng),
    };
  }
  return { leaf: true, size: rows.length };
}

function pathLength(node: Node, x: readonly number[], depth: number): number {
  let n = node;
  let d = depth;
  while (!n.leaf) {
    n = x[n.feature]! < n.split ? n.left : n.right;
    d++;
  }
  return d + averagePathLength(n.size);
}
