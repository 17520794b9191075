/**
 * Fundamental limits of repeaterless point-to-point QKD over a pure-loss channel of transmittance η:
 *  - PLOB: the secret-key capacity −log₂(1 − η) (S. Pirandola, R. Laurenza, C. Ottaviani, L. Banchi,
 *    Nat. Commun. 8, 15043 (2017), Eq. 19);
 *  - TGW: the earlier upper bound log₂((1 + η)/(1 − η)) (M. Takeoka, S. Guha, M. M. Wilde, Nat. Commun. 5,
 *    5235 (2014), Eq. 3).
 * η is the channel transmittance only (no detector efficiency). Computed with log1p so they keep their
 * digits at 1,000 km and beyond (physics-pitfalls note). Bits per channel use (per pulse).
 */

/** PLOB bound −log₂(1 − η), bits per use. */
export function plobBound(eta: number): number {
  if (!(eta >= 0 && eta <= 1)) throw new RangeError(`transmittance must be in [0, 1], got ${eta}`);
  return eta === 0 ? 0 : -Math.log1p(-eta) / Math.LN2;
}

/** TGW bound log₂((1 + η)/(1 − η)) = [ln(1+η) − ln(1−η)]/ln 2, bits per use. */
export function tgwBound(eta: number): number {
  if (!(eta >= 0 && eta <= 1)) throw new RangeError(`transmittance must be in [0, 1], got ${eta}`);
  return (Math.log1p(eta) - Math.log1p(-eta)) / Math.LN2;
}
