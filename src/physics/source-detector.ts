/**
 * Weak-coherent source and threshold detector: the analytic expectations of decoy-state BB84 in the forms of
 * GLLP (Gottesman, Lo, Lütkenhaus, Preskill, QIC 4, 325 (2004)), H.-K. Lo, X. Ma, K. Chen, PRL 94, 230504
 * (2005) and X. Ma, B. Qi, Y. Zhao, H.-K. Lo, PRA 72, 012326 (2005), Eqs. (1)–(8). A phase-randomised
 * coherent state of mean μ carries n photons with Poisson probability e^{−μ}μⁿ/n!.
 *
 * One yield convention, exact, used by every model in qkdnet: a gate clicks from background with probability
 * Y0, and otherwise from a photon, so
 *   Y_n = Y0 + (1 − Y0)·(1 − (1−η)ⁿ) = 1 − (1−Y0)(1−η)ⁿ,        e_n·Y_n = e0·Y0 + e_d·(1 − Y0)·(1 − (1−η)ⁿ),
 *   Q_μ = Σ_n P_μ(n)·Y_n = Y0 + (1 − Y0)(1 − e^{−ημ}),          E_μ·Q_μ = e0·Y0 + e_d·(1 − Y0)(1 − e^{−ημ}),
 * with η = η_Bob·η_channel the whole-system transmittance. Ma et al. write Y_n ≈ Y0 + η_n and Q_μ ≈ Y0 + 1 −
 * e^{−ημ}, dropping the Y0·η_n coincidence term; mixing the two forms lets a decoy lower bound exceed the exact
 * single-photon yield at high background, so qkdnet keeps the exact form everywhere (a property test checks
 * that no decoy bound beats its infinite-decoy counterpart). The link engine's sampled detections are
 * checked against these expectations.
 */
import { poissonPmf } from '../common/index.ts';

/** Background error rate e0: a dark or background count gives a random bit (Ma et al. 2005). */
export const E0_BACKGROUND = 0.5;

/** Probability that a weak coherent pulse of mean μ photons carries exactly n photons: e^{−μ}μⁿ/n!. */
export function photonNumberProbability(n: number, mu: number): number {
  return poissonPmf(n, mu);
}

/** n-photon yield Y_n = Y0 + (1 − Y0)(1 − (1 − η)ⁿ) (Ma et al. 2005 Eq. 4 without its approximation). */
export function yieldN(n: number, eta: number, y0: number): number {
  return y0 + (1 - y0) * detectedFraction(n, eta);
}

/** 1 − (1 − η)ⁿ computed as −expm1(n·log1p(−η)), exact to rounding even for η ~ 1e-20. */
function detectedFraction(n: number, eta: number): number {
  if (n === 0) return 0;
  if (eta >= 1) return 1;
  return -Math.expm1(n * Math.log1p(-eta));
}

/** Overall gain Q_μ = Y0 + (1 − Y0)(1 − e^{−ημ}): detection probability per pulse (Ma et al. 2005 Eq. 6, exact). */
export function gainQ(mu: number, eta: number, y0: number): number {
  return y0 - (1 - y0) * Math.expm1(-eta * mu);
}

/**
 * Overall QBER E_μ = [e0·Y0 + e_d·(1 − Y0)(1 − e^{−ημ})] / Q_μ (Ma et al. 2005 Eq. 7, exact), e0 = 1/2.
 * Returns 0 when nothing is detected.
 */
export function errorE(mu: number, eta: number, y0: number, ed: number): number {
  const q = gainQ(mu, eta, y0);
  return q > 0 ? (E0_BACKGROUND * y0 - ed * (1 - y0) * Math.expm1(-eta * mu)) / q : 0;
}

/** n-photon error rate e_n = [e0·Y0 + e_d·(1 − Y0)(1 − (1−η)ⁿ)] / Y_n (Ma et al. 2005 Eq. 5, exact). */
export function errorN(n: number, eta: number, y0: number, ed: number): number {
  const y = yieldN(n, eta, y0);
  return y > 0 ? (E0_BACKGROUND * y0 + ed * (1 - y0) * detectedFraction(n, eta)) / y : 0;
}

/** A threshold single-photon detector with the imperfections the key-rate models need (efficiency, dark counts, afterpulses, dead time). */
export interface DetectorModel {
  /** Detection efficiency (optics × detector), 0..1. */
  readonly efficiency: number;
  /** Dark/background count probability per gate Y0 (both detectors together). */
  readonly darkCountProbability: number;
  /** Probability a photon lands in the wrong detector (optical misalignment e_d). */
  readonly misalignmentError: number;
  /** Probability that a detection is followed by an afterpulse in the next gates. */
  readonly afterpulseProbability: number;
  /** Dead time after a detection, ns. */
  readonly deadTimeNs: number;
}

/** What a detector reports per pulse: click probability and QBER, after afterpulsing and dead time. */
export interface DetectorResponse {
  /** Detection probability per pulse sent. */
  readonly clickProbability: number;
  /** Error probability among detections. */
  readonly qber: number;
  /** Fraction of gates open (not blinded by dead time), 0..1. */
  readonly dutyCycle: number;
}

/**
 * Detector response to a weak coherent pulse of mean μ after channel transmittance ηch. Afterpulses add
 * p_ap·Q uncorrelated clicks with error 1/2 (Lim et al. 2014's model: R = (1 + p_ap)·D); dead time τ closes
 * the detector for τ after each click, so at click rate r = Q·f the open fraction is 1/(1 + r·τ)
 * (non-paralysable detector, e.g. Ma et al. 2005 Sec. VI).
 */
export function detectorResponse(
  det: DetectorModel,
  mu: number,
  channelTransmittance: number,
  repetitionRateHz: number,
): DetectorResponse {
  const eta = det.efficiency * channelTransmittance;
  const q0 = gainQ(mu, eta, det.darkCountProbability);
  const e0 = errorE(mu, eta, det.darkCountProbability, det.misalignmentError);
  const qAp = q0 * (1 + det.afterpulseProbability);
  const errAp = (e0 * q0 + E0_BACKGROUND * det.afterpulseProbability * q0) / qAp;
  const dutyCycle = 1 / (1 + qAp * repetitionRateHz * det.deadTimeNs * 1e-9);
  return { clickProbability: qAp * dutyCycle, qber: errAp, dutyCycle };
}
