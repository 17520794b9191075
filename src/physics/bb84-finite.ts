/**
 * Expected finite-key rate of decoy-state BB84 with one signal and two decoy intensities (μ1 > μ2 > μ3 = 0,
 * vacuum), after C. C.-W. Lim, M. Curty, N. Walenta, F. Xu, H. Zbinden, PRA 89, 022307 (2014): the expected
 * counts of a block of N pulses are fed to the paper's bounds (lim2014.ts) and the key length ℓ (Eq. 6)
 * divided by N. Channel model of the paper's Sec. IV with its two misprints corrected (physics-pitfalls note):
 *   D_k = 1 − (1 − 2p_dc)·e^{−η_sys μ_k}, R_k = (1 + p_ap)·D_k,
 *   e_k = p_dc + e_mis·(1 − e^{−η_sys μ_k}) + p_ap·D_k/2      (η_sys, not η_ch),
 *   λ_EC = n_key·f·h(e_obs)                                     (the printed formula omits n_key),
 * with p_dc = Y0/2 per detector. Keys come from the Z basis (probability p_Z each side), the X basis tests.
 * The free parameters (μ1, μ2, p_μ1, p_μ2, p_Z) are optimised per distance with Nelder–Mead.
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
  /** Block size: pulses sent, N. */
  readonly blockSize: number;
  /** Secrecy parameter ε_sec (default 1e-9). */
  readonly epsSec: number;
  /** Correctness parameter ε_cor (default 1e-15). */
  readonly epsCor: number;
  /** Smallest decoy intensity μ2. */
  readonly muMin: number;
}

/** Protocol settings: intensities, their probabilities and the key-basis probability. */
export interface FiniteKeySettings {
  readonly mu1: number;
  readonly mu2: number;
  readonly p1: number;
  readonly p2: number;
  readonly pZ: number;
}

/** Key length / N for given settings (0 when no key), and the QBER of the key basis. */
export function finiteKeyRate(ch: FiniteKeyChannel, s: FiniteKeySettings): { rate: number; qber: number } {
  const mu = [s.mu1, s.mu2, 0] as const;
  const p = [s.p1, s.p2, 1 - s.p1 - s.p2] as const;
  const pdc = ch.y0 / 2;
  const detect = mu.map((m) => 1 - (1 - 2 * pdc) * Math.exp(-ch.eta * m));
  const r = detect.map((d) => (1 + ch.afterpulse) * d);
  const e = mu.map((m, k) => pdc - ch.ed * Math.expm1(-ch.eta * m) + (ch.afterpulse * detect[k]!) / 2);
  const pX = 1 - s.pZ;
  const N = ch.blockSize;
  const count = (basis: number, v: readonly number[]) =>
    [0, 1, 2].map((k) => N * p[k]! * basis * basis * v[k]!) as unknown as [number, number, number];
  const nKey = count(s.pZ, r);
  const nTest = count(pX, r);
  const mTest = count(pX, e);
  const nKeyTotal = nKey[0] + nKey[1] + nKey[2];
  const eObs = (p[0] * e[0]! + p[1] * e[1]! + p[2] * e[2]!) / (p[0] * r[0]! + p[1] * r[1]! + p[2] * r[2]!);
  if (!(nKeyTotal > 0)) return { rate: 0, qber: eObs };
  const bound = lim2014Bounds({ mu, p, nKey, nTest, mTest }, ch.epsSec);
  const leak = nKeyTotal * ch.f * binaryEntropy(eObs);
  const l = lim2014KeyLength(bound, leak, ch.epsSec, ch.epsCor);
  return { rate: l / N, qber: eObs };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const logit = (p: number) => Math.log(p / (1 - p));

/** Maps unconstrained coordinates to valid settings (μ1 ∈ (0,1.5), μ2 ∈ (muMin, μ1), probabilities in (0,1)). */
function decode(x: readonly number[], muMin: number): FiniteKeySettings {
  const mu1 = 1.5 * sigmoid(x[0]!);
  const mu2 = muMin + (mu1 - muMin) * 0.98 * sigmoid(x[1]!);
  const p1 = 0.98 * sigmoid(x[2]!);
  const p2 = (1 - p1) * 0.98 * sigmoid(x[3]!);
  const pZ = 0.01 + 0.98 * sigmoid(x[4]!);
  return { mu1, mu2, p1, p2, pZ };
}

/** Inverse of `decode` (settings inside the ranges decode produces). */
function encode(s: FiniteKeySettings, muMin: number): number[] {
  return [
    logit(s.mu1 / 1.5),
    logit((s.mu2 - muMin) / ((s.mu1 - muMin) * 0.98)),
    logit(s.p1 / 0.98),
    logit(s.p2 / ((1 - s.p1) * 0.98)),
    logit((s.pZ - 0.01) / 0.98),
  ];
}

/** Optimised expected finite-key rate at one distance. */
export function optimizeFiniteKey(ch: FiniteKeyChannel): {
  rate: number;
  qber: number;
  settings: FiniteKeySettings;
} {
  const f = (x: readonly number[]) => {
    const s = decode(x, ch.muMin);
    if (!(s.mu1 > s.mu2 && s.mu2 > 0)) return -1;
    return finiteKeyRate(ch, s).rate;
  };
  // Start Nelder–Mead from the best point of a coarse grid: far out the rate is 0 on most of the space,
  // where a simplex started at one fixed guess sees a flat landscape and stops.
  let x0 = [0, 0, 0, 0, 0];
  let v0 = -Infinity;
  for (const mu1 of [0.3, 0.5])
    for (const r2 of [0.15, 0.5])
      for (const p1 of [0.5, 0.8])
        for (const r3 of [0.3, 0.7])
          for (const pZ of [0.6, 0.9]) {
            const x = [
              logit(mu1 / 1.5),
              logit(r2 / 0.98),
              logit(p1 / 0.98),
              logit(r3 / 0.98),
              logit((pZ - 0.01) / 0.98),
            ];
            const v = f(x);
            if (v > v0) {
              v0 = v;
              x0 = x;
            }
          }
  if (!(v0 > 0)) {
    // Near the maximum distance the positive region is small: search a 4⁵ grid before giving up.
    for (const mu1 of [0.2, 0.35, 0.5, 0.7])
      for (const r2 of [0.1, 0.25, 0.4, 0.6])
        for (const p1 of [0.3, 0.5, 0.7, 0.9])
          for (const r3 of [0.2, 0.4, 0.6, 0.8])
            for (const pZ of [0.5, 0.7, 0.85, 0.95]) {
              const mu2 = Math.max(ch.muMin * 1.01, mu1 * r2);
              const x = encode({ mu1, mu2, p1, p2: (1 - p1) * r3, pZ }, ch.muMin);
              const v = f(x);
              if (v > v0) {
                v0 = v;
                x0 = x;
              }
            }
    const s0 = decode(x0, ch.muMin);
    if (!(v0 > 0)) return { rate: 0, qber: finiteKeyRate(ch, s0).qber, settings: s0 };
  }
  let best = nelderMeadMax(f, x0, [0.8, 0.8, 0.8, 0.8, 0.8], 600);
  best = nelderMeadMax(f, best.x, [0.3, 0.3, 0.3, 0.3, 0.3], 400);
  const settings = decode(best.x, ch.muMin);
  const { rate, qber } = finiteKeyRate(ch, settings);
  return { rate: Math.max(0, rate), qber, settings };
}
