/**
 * Asymptotic secret key rates of BB84 with the GLLP formula R = q·{−Q_μ·f·h(E_μ) + Q_1·[1 − h(e_1)]}
 * (Gottesman, Lo, Lütkenhaus, Preskill, QIC 4, 325 (2004)) and its decoy-state estimates:
 *  - single-photon source: every pulse is one photon (Q = Y_1, E = e_1);
 *  - GLLP without decoys: the worst case puts every multi-photon pulse in Eve's hands, Ω = 1 − P_multi/Q_μ,
 *    R = q·Q_μ·{−f·h(E_μ) + Ω·[1 − h(E_μ/Ω)]} (GLLP Eq. 8; Lo–Ma–Chen, PRL 94, 230504 (2005), Eq. 1);
 *  - infinite decoys: Y_1 and e_1 known exactly (Lo–Ma–Chen 2005);
 *  - vacuum + one weak decoy ν: Y_1 ≥ Y_1^L and e_1 ≤ e_1^U (X. Ma, B. Qi, Y. Zhao, H.-K. Lo, PRA 72, 012326
 *    (2005), Eqs. 34–37).
 * Conventions of Lo–Ma–Chen/Ma et al.: q = p_Z² + p_X² (1/2 for standard BB84), e0 = 1/2, η = η_Bob·η_ch.
 * Detector imperfections enter as extra background: afterpulses add p_ap·Q_μ clicks with error 1/2 and
 * dead time scales detections by the open-gate fraction (source-detector.ts). Rates are bits per pulse sent.
 */
import { binaryEntropy } from '../common/index.ts';
import { errorE, errorN, gainQ, yieldN, E0_BACKGROUND } from './source-detector.ts';

/** What the asymptotic BB84 models need from a link at one distance. */
export interface Bb84Channel {
  /** System transmittance η = η_Bob·η_ch. */
  readonly eta: number;
  /** Background count probability per gate Y0. */
  readonly y0: number;
  /** Misalignment error e_d. */
  readonly ed: number;
  /** Error-correction inefficiency f. */
  readonly f: number;
  /** Sifting factor q. */
  readonly q: number;
  /** Afterpulse probability (0 in the papers' examples). */
  readonly afterpulse: number;
  /** Detector dead time × repetition rate (0 in the papers' examples). */
  readonly deadTimeGates: number;
}

/** Rate and the QBER of the signal. */
export interface Bb84Rate {
  readonly rate: number;
  readonly qber: number;
}

/** Effective background and open-gate fraction including afterpulses and dead time at signal μ. */
function detectorTerms(ch: Bb84Channel, mu: number): { y0: number; duty: number } {
  const q = gainQ(mu, ch.eta, ch.y0);
  const y0 = ch.y0 + ch.afterpulse * q;
  const duty = 1 / (1 + q * (1 + ch.afterpulse) * ch.deadTimeGates);
  return { y0, duty };
}

/** Ideal single-photon source: R = q·Y_1·[1 − f·h(e_1) − h(e_1)], Y_1 = Y0 + η − Y0·η (source-detector.ts). */
export function bb84SinglePhotonRate(ch: Bb84Channel): Bb84Rate {
  const { y0, duty } = detectorTerms(ch, 1);
  const y1 = yieldN(1, ch.eta, y0);
  const e1 = errorN(1, ch.eta, y0, ch.ed);
  const r = ch.q * y1 * (1 - ch.f * binaryEntropy(e1) - binaryEntropy(e1)) * duty;
  return { rate: Math.max(0, r), qber: e1 };
}

/** GLLP without decoys at signal intensity μ. */
export function bb84GllpRate(ch: Bb84Channel, mu: number): Bb84Rate {
  const { y0, duty } = detectorTerms(ch, mu);
  const q = gainQ(mu, ch.eta, y0);
  const e = errorE(mu, ch.eta, y0, ch.ed);
  const pMulti = 1 - (1 + mu) * Math.exp(-mu);
  const omega = 1 - pMulti / q;
  if (!(omega > 0) || e / omega >= 0.5) return { rate: 0, qber: e };
  const r = ch.q * q * (-ch.f * binaryEntropy(e) + omega * (1 - binaryEntropy(e / omega))) * duty;
  return { rate: Math.max(0, r), qber: e };
}

/** Infinite-decoy rate at signal intensity μ (Y_1, e_1 exact). */
export function bb84DecoyInfiniteRate(ch: Bb84Channel, mu: number): Bb84Rate {
  const { y0, duty } = detectorTerms(ch, mu);
  const q = gainQ(mu, ch.eta, y0);
  const e = errorE(mu, ch.eta, y0, ch.ed);
  const y1 = yieldN(1, ch.eta, y0);
  const e1 = errorN(1, ch.eta, y0, ch.ed);
  const q1 = y1 * mu * Math.exp(-mu);
  const r = ch.q * (-q * ch.f * binaryEntropy(e) + q1 * (1 - binaryEntropy(e1))) * duty;
  return { rate: Math.max(0, r), qber: e };
}

/**
 * Vacuum + weak decoy (Ma et al. 2005 Eqs. 34–37) at signal μ and decoy ν < μ:
 * Y_1^L = μ/(μν − ν²)·[Q_ν e^ν − Q_μ e^μ ν²/μ² − (μ² − ν²)/μ²·Y0],
 * e_1^U = (E_ν Q_ν e^ν − e0·Y0)/(Y_1^L ν), Q_1^L = Y_1^L μ e^{−μ}.
 */
export function bb84VacuumWeakRate(ch: Bb84Channel, mu: number, nu: number): Bb84Rate {
  const { y0, duty } = detectorTerms(ch, mu);
  const qMu = gainQ(mu, ch.eta, y0);
  const eMu = errorE(mu, ch.eta, y0, ch.ed);
  if (!(nu > 0 && nu < mu)) return { rate: 0, qber: eMu };
  const qNu = gainQ(nu, ch.eta, y0);
  const eNu = errorE(nu, ch.eta, y0, ch.ed);
  const y1L =
    (mu / (mu * nu - nu * nu)) *
    (qNu * Math.exp(nu) -
      (qMu * Math.exp(mu) * nu * nu) / (mu * mu) -
      ((mu * mu - nu * nu) / (mu * mu)) * y0);
  if (!(y1L > 0)) return { rate: 0, qber: eMu };
  const e1U = Math.min(0.5, (eNu * qNu * Math.exp(nu) - E0_BACKGROUND * y0) / (y1L * nu));
  const q1L = y1L * mu * Math.exp(-mu);
  const r = ch.q * (-qMu * ch.f * binaryEntropy(eMu) + q1L * (1 - binaryEntropy(Math.max(0, e1U)))) * duty;
  return { rate: Math.max(0, r), qber: eMu };
}
