/**
 * Phase-matching twin-field QKD, asymptotic with infinite decoys: X. Ma, P. Zeng, H. Zhou, "Phase-matching
 * quantum key distribution", PRX 8, 031043 (2018); the twin-field idea is M. Lucamarini, Z. L. Yuan,
 * J. F. Dynes, A. J. Shields, Nature 557, 400 (2018). Alice and Bob each send a phase-randomised coherent state
 * of intensity μ/2 to Charlie, L/2 away, who interferes them on a beam splitter; a key bit is the common phase
 * and a detection is kept when exactly one detector clicks. The rate
 *   R = (2/M)·Q_μ·[1 − f·h(E_Z) − h(E_X)]
 * with M phase slices (sifting 2/M), and the phase-error bound from the single-photon component, which decoys
 * estimate: E_X ≤ q_1·e_1 + (1 − q_1), q_1 = μe^{−μ}Y_1/Q_μ (every other photon number counted as a full phase
 * error). Channel model per arm: η_a = η_det·10^{−(α·L/2 + L_extra/2)/10}; a fraction e_d of the light lands in
 * the wrong detector (phase drift/misalignment); dark counts p_d = Y0/2 per detector. Because a single photon
 * crosses only one arm, R ∝ √η and beats the repeaterless PLOB bound at long distance.
 */
import { binaryEntropy } from '../common/index.ts';

/** Inputs of the PM-QKD model at one distance. */
export interface TfChannel {
  /** Transmittance of one arm (Alice→Charlie) including Charlie's detector efficiency. */
  readonly etaArm: number;
  /** Dark count probability per detector per gate. */
  readonly darkPerDetector: number;
  /** Fraction of light in the wrong detector (phase mismatch), e_d. */
  readonly ed: number;
  readonly f: number;
  /** Phase slices M. */
  readonly phaseSlices: number;
}

/** PM-QKD rate and bit-error rate at total intensity μ. */
export function pmQkdRate(ch: TfChannel, mu: number): { rate: number; qber: number } {
  const pd = ch.darkPerDetector;
  const right = Math.exp(-ch.etaArm * mu * (1 - ch.ed));
  const wrong = Math.exp(-ch.etaArm * mu * ch.ed);
  const clickRightOnly = (1 - (1 - pd) * right) * (1 - pd) * wrong;
  const clickWrongOnly = (1 - (1 - pd) * wrong) * (1 - pd) * right;
  const q = clickRightOnly + clickWrongOnly;
  if (!(q > 0)) return { rate: 0, qber: 0 };
  const eZ = clickWrongOnly / q;
  const y1 = ch.etaArm * (1 - pd) + (1 - ch.etaArm) * 2 * pd * (1 - pd);
  const e1 = (ch.etaArm * ch.ed * (1 - pd) + (1 - ch.etaArm) * pd * (1 - pd)) / y1;
  const q1 = Math.min(1, (mu * Math.exp(-mu) * y1) / q);
  const eX = q1 * e1 + (1 - q1);
  if (eX >= 0.5) return { rate: 0, qber: eZ };
  const r = (2 / ch.phaseSlices) * q * (1 - ch.f * binaryEntropy(eZ) - binaryEntropy(eX));
  return { rate: Math.max(0, r), qber: eZ };
}
