/**
 * Continuous-variable QKD with Gaussian-modulated coherent states and homodyne detection (GG02: F. Grosshans,
 * P. Grangier, PRL 88, 057902 (2002)), reverse reconciliation, secure against collective attacks, with the
 * detector's inefficiency η and electronic noise v_el trusted. Formulas of J. Lodewyck et al., PRA 76, 042305
 * (2007), Sec. II (also F. Laudenbach et al., Adv. Quantum Technol. 1, 1800011 (2018), Sec. 4):
 *   K = β·I_AB − χ_BE, V = V_A + 1 (shot-noise units),
 *   χ_line = 1/T − 1 + ξ, χ_hom = (1 + v_el)/η − 1, χ_tot = χ_line + χ_hom/T,
 *   I_AB = ½·log₂[(V + χ_tot)/(1 + χ_tot)],
 *   χ_BE = G(λ₁) + G(λ₂) − G(λ₃) − G(λ₄), G(λ) = g((λ−1)/2), g(x) = (x+1)log₂(x+1) − x·log₂x,
 *   λ₁,₂² = ½[A ± √(A² − 4B)], A = V²(1 − 2T) + 2T + T²(V + χ_line)², B = T²(Vχ_line + 1)²,
 *   λ₃,₄² = ½[C ± √(C² − 4D)], C = [V√B + T(V + χ_line) + Aχ_hom]/[T(V + χ_tot)],
 *   D = √B·(V + √B·χ_hom)/[T(V + χ_tot)], λ₅ = 1.
 * T is the channel transmittance and ξ the excess noise at the channel input. Bits per symbol (pulse).
 */

/** g(x) = (x+1)·log₂(x+1) − x·log₂(x): von Neumann entropy of a thermal state of mean photon number x. */
export function thermalEntropy(x: number): number {
  if (!(x > 0)) return 0;
  return ((x + 1) * Math.log1p(x) - x * Math.log(x)) / Math.LN2;
}

/** Entropy contribution of a symplectic eigenvalue λ ≥ 1: g((λ − 1)/2). */
export function symplecticEntropy(lambda: number): number {
  return thermalEntropy((lambda - 1) / 2);
}

/** Inputs of the GG02 rate. */
export interface Gg02Params {
  /** Channel transmittance T. */
  readonly transmittance: number;
  /** Modulation variance V_A, shot-noise units. */
  readonly modulationVariance: number;
  /** Excess noise ξ at the channel input, SNU. */
  readonly excessNoise: number;
  /** Homodyne efficiency η (trusted). */
  readonly detectorEfficiency: number;
  /** Electronic noise v_el, SNU (trusted). */
  readonly electronicNoise: number;
  /** Reconciliation efficiency β. */
  readonly beta: number;
}

/** Mutual information I_AB and Holevo bound χ_BE of GG02 (reverse reconciliation), bits per symbol. */
export function gg02Information(p: Gg02Params): { iAB: number; chiBE: number } {
  const T = p.transmittance;
  const V = p.modulationVariance + 1;
  const chiLine = 1 / T - 1 + p.excessNoise;
  const chiHom = (1 + p.electronicNoise) / p.detectorEfficiency - 1;
  const chiTot = chiLine + chiHom / T;
  const iAB = 0.5 * Math.log2((V + chiTot) / (1 + chiTot));
  const A = V * V * (1 - 2 * T) + 2 * T + T * T * (V + chiLine) ** 2;
  const B = T * T * (V * chiLine + 1) ** 2;
  const sqrtB = Math.sqrt(B);
  const disc12 = Math.sqrt(Math.max(0, A * A - 4 * B));
  const l1 = Math.sqrt(Math.max(1, 0.5 * (A + disc12)));
  const l2 = Math.sqrt(Math.max(1, 0.5 * (A - disc12)));
  const denom = T * (V + chiTot);
  const C = (V * sqrtB + T * (V + chiLine) + A * chiHom) / denom;
  const D = (sqrtB * (V + sqrtB * chiHom)) / denom;
  const disc34 = Math.sqrt(Math.max(0, C * C - 4 * D));
  const l3 = Math.sqrt(Math.max(1, 0.5 * (C + disc34)));
  const l4 = Math.sqrt(Math.max(1, 0.5 * (C - disc34)));
  const chiBE = symplecticEntropy(l1) + symplecticEntropy(l2) - symplecticEntropy(l3) - symplecticEntropy(l4);
  return { iAB, chiBE };
}

/** GG02 secret key rate K = β·I_AB − χ_BE (bits per symbol, 0 when negative). */
export function gg02Rate(p: Gg02Params): number {
  if (!(p.transmittance > 0)) return 0;
  const { iAB, chiBE } = gg02Information(p);
  const k = p.beta * iAB - chiBE;
  return k > 0 ? k : 0;
}
