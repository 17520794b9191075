/**
 * Decoy-state measurement-device-independent QKD, asymptotic: H.-K. Lo, M. Curty, B. Qi, "Measurement-device-
 * independent quantum key distribution", PRL 108, 130503 (2012), key rate Eq. (1)
 *   R = Q₁₁^Z·[1 − h(e₁₁^X)] − f·Q_μμ^Z·h(E_μμ^Z),
 * with the gains and error rates of a polarisation-encoded implementation and a linear-optics Bell-state
 * measurement (two threshold detectors per output port pair, dark count p_d each) from X. Ma, M. Razavi,
 * PRA 86, 062319 (2012), as used by F. Xu, M. Curty, B. Qi, H.-K. Lo, NJP 15, 113007 (2013), Appendix B.
 * Alice and Bob each send a phase-randomised weak coherent pulse of intensity μ to Charlie halfway; η_a, η_b
 * are the arm transmittances including Charlie's detector efficiency.
 *
 * Infinitely many decoys: the single-photon-pair yield and its phase error are known exactly,
 *   Y₁₁ = (1−p_d)²[η_aη_b/2 + (2η_a + 2η_b − 3η_aη_b)p_d + 4(1−η_a)(1−η_b)p_d²],
 *   e₁₁Y₁₁ = Y₁₁/2 − (1/2 − e_d)(1−p_d)²η_aη_b/2,   Q₁₁ = μ_aμ_b e^{−μ_a−μ_b}Y₁₁.
 * Z-basis gain and error (Ma & Razavi): Q^Z = Q_C + Q_E, E^Z Q^Z = e_d Q_C + (1 − e_d)Q_E with
 *   Q_C = 2(1−p_d)²e^{−μ'/2}[1 − (1−p_d)e^{−η_aμ_a/2}][1 − (1−p_d)e^{−η_bμ_b/2}],
 *   Q_E = 2p_d(1−p_d)²e^{−μ'/2}[I₀(2x) − (1−p_d)e^{−μ'/2}],  μ' = η_aμ_a + η_bμ_b,  x = √(η_aμ_aη_bμ_b)/2.
 * With ideal detectors (p_d = 0) Y₁₁ = η_aη_b/2: a linear-optics Bell measurement identifies two of the four
 * Bell states. Both photons must arrive, so R ∝ η_aη_b = η and MDI-QKD stays below the PLOB bound; its gain is
 * that detector side channels are removed, and because Charlie sits halfway each arm's dark counts meet only
 * half the loss, which the paper's abstract says doubles the secure distance of conventional lasers.
 * Basis sifting: only Z–Z pairs give key, so the rate is multiplied by p_Z² (the paper's asymptotic Eq. (1)
 * has p_Z → 1).
 */
import { binaryEntropy } from '../common/index.ts';
import { besselI0 } from './tf-qkd.ts';

/** The channel of one MDI-QKD link at one distance. */
export interface MdiChannel {
  /** Alice→Charlie transmittance including Charlie's detector efficiency. */
  readonly etaA: number;
  /** Bob→Charlie transmittance including Charlie's detector efficiency. */
  readonly etaB: number;
  /** Dark count probability per detector per pulse, p_d. */
  readonly darkPerDetector: number;
  /** Misalignment error e_d. */
  readonly ed: number;
  /** Error-correction inefficiency f. */
  readonly f: number;
  /** Probability of the Z (key) basis at each sender. */
  readonly pZ: number;
}

/** 1 − (1−p)e^{−z}, accurate for small z and p. */
function clickProbability(z: number, p: number): number {
  return -Math.expm1(-z) + p * Math.exp(-z);
}

/** The Z-basis gain and QBER at intensities μ_a, μ_b (Ma & Razavi 2012, polarisation encoding). */
export function mdiGainZ(ch: MdiChannel, muA: number, muB: number): { gain: number; qber: number } {
  const pd = ch.darkPerDetector;
  const a = ch.etaA * muA;
  const b = ch.etaB * muB;
  const half = Math.exp(-(a + b) / 2);
  const qc = 2 * (1 - pd) ** 2 * half * clickProbability(a / 2, pd) * clickProbability(b / 2, pd);
  // I₀(2x) − (1−p_d)e^{−μ'/2} as (I₀(2x) − 1) + (1 − e^{−μ'/2}) + p_d e^{−μ'/2}, exact near zero loss too.
  const twoX = Math.sqrt(a * b);
  const qe = 2 * pd * (1 - pd) ** 2 * half * (besselI0(twoX) - 1 - Math.expm1(-(a + b) / 2) + pd * half);
  const gain = qc + qe;
  return { gain, qber: gain > 0 ? (ch.ed * qc + (1 - ch.ed) * qe) / gain : 0 };
}

/** Single-photon-pair yield Y₁₁ and its phase-error rate e₁₁ (exact with infinitely many decoys). */
export function mdiSinglePair(ch: MdiChannel): { y11: number; e11: number } {
  const { etaA: ea, etaB: eb, darkPerDetector: pd } = ch;
  const signal = (ea * eb) / 2;
  const y11 =
    (1 - pd) ** 2 * (signal + (2 * ea + 2 * eb - 3 * ea * eb) * pd + 4 * (1 - ea) * (1 - eb) * pd * pd);
  if (!(y11 > 0)) return { y11: 0, e11: 0.5 };
  const e11 = 0.5 - ((0.5 - ch.ed) * (1 - pd) ** 2 * signal) / y11;
  return { y11, e11 };
}

/** MDI-QKD secret key per pulse pair at signal intensity μ (both senders), infinitely many decoys. */
export function mdiRate(ch: MdiChannel, mu: number): { rate: number; qber: number } {
  const { gain, qber } = mdiGainZ(ch, mu, mu);
  const { y11, e11 } = mdiSinglePair(ch);
  const q11 = mu * mu * Math.exp(-2 * mu) * y11;
  const r = ch.pZ * ch.pZ * (q11 * (1 - binaryEntropy(e11)) - ch.f * gain * binaryEntropy(qber));
  return { rate: Math.max(0, r), qber };
}
