/**
 * Sending-or-not-sending twin-field QKD, asymptotic with infinitely many decoys: X.-B. Wang, Z.-W. Yu,
 * X.-L. Hu, "Twin-field quantum key distribution with large misalignment error", PRA 98, 062323 (2018);
 * the twin-field idea is M. Lucamarini, Z. L. Yuan, J. F. Dynes, A. J. Shields, Nature 557, 400 (2018).
 * In a Z window Alice and Bob each send a phase-randomised coherent pulse of intensity μ with probability ε
 * (bit 1 for Alice, 0 for Bob) or nothing; Charlie, L/2 from each, reports which one detector clicked.
 * Untagged single-photon events (exactly one party sent exactly one photon) carry the key:
 *   R = 2ε(1−ε)·μe^{−μ}·s₁·[1 − h(e₁^ph)] − f·S_Z·h(E_Z),
 * with s₁ = η_a(1−p_d) + (1−η_a)·2p_d(1−p_d) the single-photon yield, e₁^ph = [η_a·e_d(1−p_d) +
 * (1−η_a)p_d(1−p_d)]/s₁ its phase-flip rate (X windows, misalignment e_d), and S_Z, E_Z the gain and bit-error
 * rate of Z windows: both silent (dark counts only) and both sending are the error events. When both send,
 * the relative phase is random and the exactly-one-click probability is averaged exactly over it:
 *   2(1−p_d)e^{−η_aμ}I₀(η_aμ) − 2(1−p_d)²e^{−2η_aμ}.
 * η_a = η_det·10^{−(α·L/2 + L_extra/2)/10} per arm, p_d = Y0/2 per detector. The X-window (decoy) fraction
 * vanishes asymptotically, so no basis-sifting factor. A single photon crosses only one arm, so R ∝ √η and the
 * protocol beats the repeaterless PLOB bound at long distance.
 */
import { binaryEntropy } from '../common/index.ts';

/** Inputs of the SNS model at one distance. */
export interface TfChannel {
  /** Transmittance of one arm (Alice→Charlie) including Charlie's detector efficiency. */
  readonly etaArm: number;
  /** Dark count probability per detector per gate. */
  readonly darkPerDetector: number;
  /** Misalignment (phase) error of X windows, e_d. */
  readonly ed: number;
  readonly f: number;
}

/** Modified Bessel function I₀(x) by its power series (|x| ≤ ~20 here). */
export function besselI0(x: number): number {
  const y = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 200 && term > 1e-17 * sum; k++) {
    term *= y / (k * k);
    sum += term;
  }
  return sum;
}

/** SNS rate at sending probability ε and intensity μ, and the Z-window bit-error rate. */
export function snsTfRate(ch: TfChannel, mu: number, eps: number): { rate: number; qber: number } {
  const pd = ch.darkPerDetector;
  const x = ch.etaArm * mu;
  const s00 = 2 * pd * (1 - pd);
  const half = Math.exp(-x / 2);
  const s10 = 2 * (1 - pd) * half * (1 - (1 - pd) * half);
  const s11 = 2 * (1 - pd) * Math.exp(-x) * besselI0(x) - 2 * (1 - pd) ** 2 * Math.exp(-2 * x);
  const sZ = (1 - eps) ** 2 * s00 + 2 * eps * (1 - eps) * s10 + eps * eps * s11;
  if (!(sZ > 0)) return { rate: 0, qber: 0 };
  const eZ = ((1 - eps) ** 2 * s00 + eps * eps * s11) / sZ;
  const s1 = ch.etaArm * (1 - pd) + (1 - ch.etaArm) * 2 * pd * (1 - pd);
  const e1 = (ch.etaArm * ch.ed * (1 - pd) + (1 - ch.etaArm) * pd * (1 - pd)) / s1;
  const n1 = 2 * eps * (1 - eps) * mu * Math.exp(-mu) * s1;
  const r = n1 * (1 - binaryEntropy(e1)) - ch.f * sZ * binaryEntropy(eZ);
  return { rate: Math.max(0, r), qber: eZ };
}
