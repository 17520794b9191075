/**
 * Maximisers used to optimise source intensities per distance: a log-spaced scan followed by golden-section
 * refinement (robust when the rate is zero on part of the interval, where plain golden section stalls), and
 * Nelder–Mead for the several parameters of the finite-key model (Nelder & Mead, Comput. J. 7, 308 (1965)).
 * Pure and deterministic.
 */
import { maximize1d } from '../common/index.ts';

/**
 * Maximises f on [lo, hi] (lo > 0): scans `points` log-spaced values (12× finer once more when none is
 * positive, unless `retry` is false), then refines around the best with golden section. Returns the argmax and value; value 0 when f is
 * never positive.
 */
export function maximizeScan(
  f: (x: number) => number,
  lo: number,
  hi: number,
  points = 24,
  tol = 1e-5,
  retry = true,
): { x: number; value: number } {
  const r = Math.pow(hi / lo, 1 / (points - 1));
  let bestI = 0;
  let bestV = -Infinity;
  for (let i = 0; i < points; i++) {
    const v = f(lo * Math.pow(r, i));
    if (v > bestV) {
      bestV = v;
      bestI = i;
    }
  }
  if (!(bestV > 0)) {
    // Near a model's maximum distance the positive window can fall between scan points: look again, finer.
    if (retry) return maximizeScan(f, lo, hi, points * 12, tol, false);
    return { x: lo * Math.pow(r, bestI), value: Math.max(0, bestV) };
  }
  const a = lo * Math.pow(r, Math.max(0, bestI - 1));
  const b = lo * Math.pow(r, Math.min(points - 1, bestI + 1));
  const refined = maximize1d(f, a, b, tol, 80);
  return refined.value >= bestV ? refined : { x: lo * Math.pow(r, bestI), value: bestV };
}

/** Nelder–Mead maximisation of f over R^d from x0 with initial step sizes `step`. */
export function nelderMeadMax(
  f: (x: readonly number[]) => number,
  x0: readonly number[],
  step: readonly number[],
  maxIter = 400,
  tol = 1e-10,
): { x: number[]; value: number } {
  const d = x0.length;
  let simplex: { x: number[]; v: number }[] = [{ x: [...x0], v: f(x0) }];
  for (let i = 0; i < d; i++) {
    const x = [...x0];
    x[i]! += step[i]!;
    simplex.push({ x, v: f(x) });
  }
  const comb = (a: readonly number[], b: readonly number[], t: number) =>
    a.map((ai, i) => ai + t * (b[i]! - ai));
  for (let it = 0; it < maxIter; it++) {
    simplex.sort((p, q) => q.v - p.v);
    const best = simplex[0]!;
    const worst = simplex[d]!;
    if (Math.abs(best.v - worst.v) <= tol * (Math.abs(best.v) + 1e-300) && it > 2 * d) break;
    const centroid = new Array<number>(d).fill(0);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) centroid[j]! += simplex[i]!.x[j]! / d;
    const xr = comb(centroid, worst.x, -1);
    const vr = f(xr);
    if (vr > best.v) {
      const xe = comb(centroid, worst.x, -2);
      const ve = f(xe);
      simplex[d] = ve > vr ? { x: xe, v: ve } : { x: xr, v: vr };
    } else if (vr > simplex[d - 1]!.v) {
      simplex[d] = { x: xr, v: vr };
    } else {
      const xc = comb(centroid, worst.x, 0.5);
      const vc = f(xc);
      if (vc > worst.v) simplex[d] = { x: xc, v: vc };
      else {
        simplex = simplex.map((p, i) => (i === 0 ? p : { x: comb(best.x, p.x, 0.5), v: NaN }));
        for (const p of simplex) if (Number.isNaN(p.v)) p.v = f(p.x);
      }
    }
  }
  simplex.sort((p, q) => q.v - p.v);
  return { x: simplex[0]!.x, value: simplex[0]!.v };
}
