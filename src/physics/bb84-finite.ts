/**
 * Expected finite-key rate of decoy-state BB84 with three intensities μ1 > μ2 + μ3, μ2 > μ3 ≥ 0, after
 * C. C.-W. Lim, M. Curty, N. Walenta, F. Xu, H. Zbinden, "Concise security bounds for practical decoy-state
 * quantum key distribution", PRA 89, 022307 (2014): the expected counts of a block are fed to the paper's
 * bounds, Eqs. (2)–(5) (lim2014.ts), and the key length ℓ of Eq. (1) is divided by the pulses sent, N.
 *
 * Channel model of the paper's Sec. IV (dedicated fiber) with its two misprints corrected (docs/physics.md):
 *   D_k = 1 − (1 − 2p_dc)·e^{−η_sys μ_k}, R_k = (1 + p_ap)·D_k,
 *   e_k = p_dc + e_mis·(1 − e^{−η_sys μ_k}) + p_ap·D_k/2      (η_sys, not η_ch),
 *   λ_EC = n_key·f_EC·h(e_obs)                                  (the printed formula omits n_key),
 * with p_dc = Y0/2 per detector. Keys come from the Z basis (probability p_Z each side), the X basis tests.
 *
 * The block is given either as pulses sent N or, as in the paper's Fig. 1, as the post-processing block size
 * n_X (sifted key-basis detections; then N = n_X / (p_Z²·Σ_k p_k R_k)). Secrecy is either a fixed ε_sec or,
 * as in the paper's Sec. IV, proportional to the key length, ε_sec = κ·ℓ (solved by fixed-point iteration).
 *
 * The free parameters (μ1, μ2, p_μ1, p_μ2, p_Z; μ3 is fixed by the hardware) are optimised globally: a
 * log-spaced grid that includes small probabilities and intensities, then Nelder–Mead from the best few grid
 * points. A parameter the caller pins is held fixed.
 */
import { binaryEntropy } from '../common/index.ts';
import { lim2014Bounds, lim2014KeyLength } from './lim2014.ts';
import { nelderMeadMax } from './optimize.ts';

/** Link and security settings of the finite-key model. */
export interface FiniteKeyChannel {
  /** System transmittance η_sys = η_Bob·η_ch. */
  readonly eta: number;
  /** Background count probability per gate, both detectors (Y0 = 2·p_dc). */
  readonly y0: number;
  readonly ed: number;
  readonly f: number;
  readonly afterpulse: number;
  /** Block size as pulses sent, N (ignored when `nX` is given). */
  readonly blockSize: number;
  /** Block size as the paper's post-processing block n_X: sifted key-basis detections. */
  readonly nX?: number;
  /** Secrecy parameter ε_sec (used when `epsSecPerBit` is absent or 0). */
  readonly epsSec: number;
  /** κ of the paper's Sec. IV: ε_sec = κ·ℓ (secrecy leakage per key bit); 0 or absent for a fixed ε_sec. */
  readonly epsSecPerBit?: number;
  /** Correctness parameter ε_cor. */
  readonly epsCor: number;
  /** Smallest settable decoy intensity μ2 (besides μ2 > μ3). */
  readonly muMin: number;
  /** The weakest intensity μ3 (0 = vacuum; the paper uses 2·10⁻⁴). */
  readonly mu3?: number;
}

/** Protocol settings: intensities, their probabilities and the key-basis probability. */
export interface FiniteKeySettings {
  readonly mu1: number;
  readonly mu2: number;
  readonly p1: number;
  readonly p2: number;
  readonly pZ: number;
}

/** Result of one evaluation: key length / N, the key-basis QBER, and N itself. */
export interface FiniteKeyPoint {
  readonly rate: number;
  readonly qber: number;
  /** Pulses sent in the block. */
  readonly pulses: number;
  /** ε_sec actually used (κ·ℓ when secrecy is per bit). */
  readonly epsSec: number;
}

/** Key length / N for given settings (0 when no key), and the QBER of the key basis. */
export function finiteKeyRate(ch: FiniteKeyChannel, s: FiniteKeySettings): FiniteKeyPoint {
  const mu3 = ch.mu3 ?? 0;
  const mu = [s.mu1, s.mu2, mu3] as const;
  const p = [s.p1, s.p2, 1 - s.p1 - s.p2] as const;
  const pdc = ch.y0 / 2;
  const detect = mu.map((m) => 1 - (1 - 2 * pdc) * Math.exp(-ch.eta * m));
  const r = detect.map((d) => (1 + ch.afterpulse) * d);
  const e = mu.map((m, k) => pdc - ch.ed * Math.expm1(-ch.eta * m) + (ch.afterpulse * detect[k]!) / 2);
  const pX = 1 - s.pZ;
  const keyPerPulse = s.pZ * s.pZ * (p[0] * r[0]! + p[1] * r[1]! + p[2] * r[2]!);
  const N = ch.nX !== undefined ? ch.nX / keyPerPulse : ch.blockSize;
  const eObs = (p[0] * e[0]! + p[1] * e[1]! + p[2] * e[2]!) / (p[0] * r[0]! + p[1] * r[1]! + p[2] * r[2]!);
  const fixedEps = ch.epsSec;
  if (!(keyPerPulse > 0) || !Number.isFinite(N)) return { rate: 0, qber: eObs, pulses: N, epsSec: fixedEps };
  const count = (basis: number, v: readonly number[]) =>
    [0, 1, 2].map((k) => N * p[k]! * basis * basis * v[k]!) as unknown as [number, number, number];
  const nKey = count(s.pZ, r);
  const nTest = count(pX, r);
  const mTest = count(pX, e);
  const nKeyTotal = nKey[0] + nKey[1] + nKey[2];
  const leak = nKeyTotal * ch.f * binaryEntropy(eObs);
  const lengthAt = (epsSec: number) =>
    lim2014KeyLength(lim2014Bounds({ mu, p, nKey, nTest, mTest }, epsSec), leak, epsSec, ch.epsCor);
  const kappa = ch.epsSecPerBit ?? 0;
  if (!(kappa > 0)) return { rate: lengthAt(fixedEps) / N, qber: eObs, pulses: N, epsSec: fixedEps };
  // ε_sec = κ·ℓ: ℓ grows with ε_sec only through log terms, so the fixed point is reached in a few steps from
  // the largest possible ε_sec (κ·n_key).
  let eps = Math.min(0.5, kappa * Math.max(1, nKeyTotal));
  let l = 0;
  for (let i = 0; i < 8; i++) {
    l = lengthAt(eps);
    if (l <= 0) return { rate: 0, qber: eObs, pulses: N, epsSec: eps };
    const next = Math.min(0.5, kappa * l);
    if (Math.abs(next - eps) <= 1e-9 * eps) break;
    eps = next;
  }
  // The last ℓ was computed at ε ≥ κ·ℓ (ε shrinks monotonically towards the fixed point); report the ℓ at
  // exactly ε = κ·ℓ, which is at most that.
  const lFinal = Math.min(l, lengthAt(Math.min(0.5, kappa * l)));
  return { rate: lFinal / N, qber: eObs, pulses: N, epsSec: kappa * lFinal };
}

/** Parameters a caller fixes instead of letting the optimiser choose them. */
export type FiniteKeyPins = Partial<FiniteKeySettings>;

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const logit = (p: number) => Math.log(p / (1 - p));
const NAMES = ['mu1', 'mu2', 'p1', 'p2', 'pZ'] as const;
const MU1_MAX = 1.5;

/** Lower limit on μ2: above μ3 and the hardware's smallest decoy. */
function mu2Floor(ch: FiniteKeyChannel): number {
  const mu3 = ch.mu3 ?? 0;
  return Math.max(ch.muMin, mu3 * 1.001 + 1e-9);
}

/**
 * Maps unconstrained coordinates to valid settings: μ1 ∈ (μ2floor + μ3, 1.5), μ2 ∈ (μ2floor, μ1 − μ3),
 * p1 ∈ (0, 1), p2 ∈ (0, 1 − p1), p_Z ∈ (0.01, 0.99).
 */
function decode(x: readonly number[], ch: FiniteKeyChannel): FiniteKeySettings {
  const mu3 = ch.mu3 ?? 0;
  const lo = mu2Floor(ch);
  const mu1 = lo + mu3 + (MU1_MAX - lo - mu3) * sigmoid(x[0]!);
  const mu2 = lo + (mu1 - mu3 - lo) * 0.999 * sigmoid(x[1]!);
  const p1 = 0.999 * sigmoid(x[2]!);
  const p2 = (1 - p1) * 0.999 * sigmoid(x[3]!);
  const pZ = 0.01 + 0.98 * sigmoid(x[4]!);
  return { mu1, mu2, p1, p2, pZ };
}

/** Inverse of `decode` for settings inside its ranges. */
function encode(s: FiniteKeySettings, ch: FiniteKeyChannel): number[] {
  const mu3 = ch.mu3 ?? 0;
  const lo = mu2Floor(ch);
  return [
    logit((s.mu1 - lo - mu3) / (MU1_MAX - lo - mu3)),
    logit((s.mu2 - lo) / ((s.mu1 - mu3 - lo) * 0.999)),
    logit(s.p1 / 0.999),
    logit(s.p2 / ((1 - s.p1) * 0.999)),
    logit((s.pZ - 0.01) / 0.98),
  ];
}

const logspace = (a: number, b: number, n: number) =>
  Array.from({ length: n }, (_, i) => a * Math.pow(b / a, i / (n - 1)));

/**
 * The optimiser's coarse grid per coordinate (μ2 and p2 as fractions of their ranges). Small blocks want a
 * rarely used key basis and signal (p_Z ≈ 0.2, p_μ1 ≈ 0.05 for n_X = 10⁴ near the maximum distance), big
 * blocks the opposite, so every coordinate spans its whole range.
 */
const GRID = {
  mu1: logspace(0.05, 1.0, 6),
  mu2frac: [0.05, 0.2, 0.4, 0.7],
  p1: [0.03, 0.1, 0.25, 0.5, 0.75, 0.92],
  p2frac: [0.1, 0.35, 0.65, 0.9],
  pZ: [0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.95, 0.98],
} as const;

/**
 * Optimised expected finite-key rate at one distance: the global maximum over the free parameters (those not
 * in `pins`), found by a grid then Nelder–Mead from the best three grid points.
 */
export function optimizeFiniteKey(
  ch: FiniteKeyChannel,
  pins: FiniteKeyPins = {},
): FiniteKeyPoint & { settings: FiniteKeySettings } {
  const mu3 = ch.mu3 ?? 0;
  const lo = mu2Floor(ch);
  const valid = (s: FiniteKeySettings) =>
    s.mu1 > s.mu2 + mu3 && s.mu2 > mu3 && s.mu2 >= lo && s.p1 > 0 && s.p2 > 0 && s.p1 + s.p2 < 1;
  const apply = (s: FiniteKeySettings): FiniteKeySettings => ({ ...s, ...pins });
  const value = (s: FiniteKeySettings) => (valid(s) ? finiteKeyRate(ch, s).rate : -1);
  // Grid over the free coordinates (a pinned coordinate takes its pinned value only).
  const candidates: { s: FiniteKeySettings; v: number }[] = [];
  for (const mu1 of pins.mu1 !== undefined ? [pins.mu1] : GRID.mu1) {
    if (!(mu1 > lo + mu3)) continue;
    for (const m2 of pins.mu2 !== undefined ? [Number.NaN] : GRID.mu2frac)
      for (const p1 of pins.p1 !== undefined ? [pins.p1] : GRID.p1)
        for (const p2f of pins.p2 !== undefined ? [Number.NaN] : GRID.p2frac)
          for (const pZ of pins.pZ !== undefined ? [pins.pZ] : GRID.pZ) {
            const mu2 = pins.mu2 ?? lo + (mu1 - mu3 - lo) * m2;
            const p2 = pins.p2 ?? (1 - p1) * p2f;
            const s = apply({ mu1, mu2, p1, p2, pZ });
            candidates.push({ s, v: value(s) });
          }
  }
  candidates.sort((a, b) => b.v - a.v);
  const fallback = apply({ mu1: 0.5, mu2: Math.max(lo * 1.5, 0.1), p1: 0.5, p2: 0.25, pZ: 0.8 });
  const top = candidates.filter((c) => c.v > 0).slice(0, 3);
  if (top.length === 0) {
    const s0 = candidates[0]?.s ?? fallback;
    return { ...finiteKeyRate(ch, s0), rate: 0, settings: s0 };
  }
  // Nelder–Mead on the free coordinates only.
  const free = NAMES.filter((n) => pins[n] === undefined);
  let best = top[0]!;
  for (const start of top) {
    if (free.length === 0) break;
    const full = encode(start.s, ch);
    const f = (y: readonly number[]) => {
      const x = [...full];
      free.forEach((n, i) => (x[NAMES.indexOf(n)] = y[i]!));
      return value(apply(decode(x, ch)));
    };
    const y0 = free.map((n) => full[NAMES.indexOf(n)]!);
    let r = nelderMeadMax(
      f,
      y0,
      y0.map(() => 0.6),
      500,
    );
    r = nelderMeadMax(
      f,
      r.x,
      y0.map(() => 0.15),
      300,
    );
    if (r.value > best.v) {
      const x = [...full];
      free.forEach((n, i) => (x[NAMES.indexOf(n)] = r.x[i]!));
      best = { s: apply(decode(x, ch)), v: r.value };
    }
  }
  const point = finiteKeyRate(ch, best.s);
  return { ...point, rate: Math.max(0, point.rate), settings: best.s };
}
