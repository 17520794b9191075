/**
 * Phase-matching QKD, asymptotic with infinitely many decoys: X. Ma, P. Zeng, H. Zhou, "Phase-matching quantum
 * key distribution", PRX 8, 031043 (2018), key rate Eq. (4)
 *   R = (2/M)·Q_μ·[1 − f·h(E_μ^Z) − h(E_μ^X)].
 * Alice and Bob each send a coherent pulse of intensity μ/2 whose phase is a random φ plus the key bit κπ; Charlie,
 * halfway, interferes them and announces which detector clicked. Without phase locking (phase post-compensation)
 * both announce the slice of [0, 2π) their random phase fell in (M slices) and keep a round when the slices match
 * or are opposite (probability 2/M), so the phase difference left is δ = φ_a − φ_b, triangular on ±2π/M.
 *
 * Gain and bit error (our own evaluation of the paper's setting, exact for threshold detectors): the pulses arrive
 * with total mean photon number ημ (η = arm transmittance × detector efficiency); a fraction
 * s(δ) = e_d + (1 − 2e_d)·sin²(δ/2) of it leaves through the wrong port (misalignment e_d), so
 *   Q_μ = 1 − (1−p_d)²e^{−ημ},
 *   E_μ^Z·Q_μ = ⟨[1 − (1−p_d)e^{−ημs}]·(1−p_d)e^{−ημ(1−s)} + ½·(double clicks)⟩_δ   (double clicks: random bit).
 * Phase error (the paper's photon-number argument, Appendix A: odd photon numbers keep the phase, even ones flip
 * it): E_μ^X ≤ Σ_{k odd} q_k e_k^Z + Σ_{k even} q_k (1 − e_k^Z), with q_k = P_μ(k)·Y_k/Q_μ, yields
 * Y_k = 1 − (1−p_d)²(1−η)^k and k-photon bit errors e_k^Z of the same detector model; with infinitely many decoys
 * Alice and Bob know each Y_k and e_k^Z. The photon-number tail past the sum is counted as all error.
 * A single photon crosses one arm only, so R ∝ √η: PM-QKD beats the repeaterless PLOB bound at long distance.
 */
import { binaryEntropy, poissonPmf } from '../common/index.ts';

/** The channel of one PM-QKD link at one distance. */
export interface PmChannel {
  /** Transmittance of one arm (Alice→Charlie) including Charlie's detector efficiency. */
  readonly etaArm: number;
  /** Dark count probability per detector per pulse. */
  readonly darkPerDetector: number;
  /** Misalignment error e_d (phase drift and interference visibility). */
  readonly ed: number;
  readonly f: number;
  /** Number of phase slices M (even, ≥ 2). */
  readonly slices: number;
}

const NODES = 32;
const K_MAX = 40;

/** Wrong-port fraction s(δ) at the midpoints of the triangular δ density on [0, 2π/M], with their weights. */
function phaseNodes(ch: PmChannel): { s: number; w: number }[] {
  const a = (2 * Math.PI) / ch.slices;
  const out: { s: number; w: number }[] = [];
  for (let i = 0; i < NODES; i++) {
    const d = ((i + 0.5) / NODES) * a;
    const w = (2 / a) * (1 - d / a) * (a / NODES);
    out.push({ s: ch.ed + (1 - 2 * ch.ed) * Math.sin(d / 2) ** 2, w });
  }
  return out;
}

/** P(only the wrong port) + ½P(both) when the wrong port sees no-click probability nw and the right one nr. */
function errorEvents(nw: number, nr: number, none: number): number {
  const wrongOnly = nr - none;
  const rightOnly = nw - none;
  const both = 1 - none - wrongOnly - rightOnly;
  return wrongOnly + both / 2;
}

/** Gain Q_μ and bit-error rate E_μ^Z at total intensity μ. */
export function pmGain(ch: PmChannel, mu: number): { gain: number; qber: number } {
  const pd = ch.darkPerDetector;
  const x = ch.etaArm * mu;
  const none = (1 - pd) ** 2 * Math.exp(-x);
  const gain = -Math.expm1(-x) * (1 - pd) ** 2 + (1 - (1 - pd) ** 2);
  let err = 0;
  for (const { s, w } of phaseNodes(ch)) {
    err += w * errorEvents((1 - pd) * Math.exp(-x * s), (1 - pd) * Math.exp(-x * (1 - s)), none);
  }
  return { gain, qber: gain > 0 ? err / gain : 0 };
}

/** Yield Y_k and bit error e_k^Z of a k-photon component (photons split independently at Charlie). */
export function pmPhotonComponent(ch: PmChannel, k: number): { yield: number; error: number } {
  const pd = ch.darkPerDetector;
  const eta = ch.etaArm;
  const none = (1 - pd) ** 2 * Math.pow(1 - eta, k);
  const y = 1 - none;
  if (!(y > 0)) return { yield: 0, error: 0.5 };
  let err = 0;
  for (const { s, w } of phaseNodes(ch)) {
    err +=
      w * errorEvents((1 - pd) * Math.pow(1 - eta * s, k), (1 - pd) * Math.pow(1 - eta * (1 - s), k), none);
  }
  return { yield: y, error: Math.min(0.5, err / y) };
}

/** Phase-error bound E_μ^X from the photon-number components (infinitely many decoys). */
export function pmPhaseError(ch: PmChannel, mu: number, gain: number): number {
  let covered = 0;
  let ex = 0;
  for (let k = 0; k <= K_MAX; k++) {
    const pk = poissonPmf(k, mu);
    if (pk < 1e-20 && k > mu) break;
    const c = pmPhotonComponent(ch, k);
    const q = (pk * c.yield) / gain;
    covered += q;
    ex += k % 2 === 1 ? q * c.error : q * (1 - c.error);
  }
  return Math.min(0.5, ex + Math.max(0, 1 - covered));
}

/** PM-QKD secret key per pulse at total intensity μ. */
export function pmRate(ch: PmChannel, mu: number): { rate: number; qber: number } {
  const { gain, qber } = pmGain(ch, mu);
  if (!(gain > 0)) return { rate: 0, qber: 0 };
  const ex = pmPhaseError(ch, mu, gain);
  const r = (2 / ch.slices) * gain * (1 - ch.f * binaryEntropy(qber) - binaryEntropy(ex));
  return { rate: Math.max(0, r), qber };
}
