/**
 * Cloud cover over an optical ground station: a satellite pass gives key only through a clear sky. Each pass
 * is clear with the station's fraction of usable nights, independently of the others (no day-to-day
 * persistence of weather: a simplification that narrows multi-day spreads).
 *
 * The figure: J.-C. Zhang, L. Ge, X.-M. Lu, Z.-H. Cao, X. Chen, Y.-N. Mao, X.-J. Jiang, "Astronomical
 * observing conditions at Xinglong Observatory from 2007 to 2014", PASP 127, 1292 (2015): 63% of nights a
 * year are spectroscopic (usable through thin cloud) and 32% photometric (fully clear). Xinglong is the
 * ground station of Micius's 2017 QKD passes (Liao et al., Nature 549, 43 (2017)). We use the 63%: a QKD
 * downlink tolerates the thin cloud a spectroscopic night allows about as well as a spectrograph does, and
 * no worse — a choice, stated. No published night-cloud statistic was found for the other stations of the
 * shipped scenarios (Nanshan, Graz); they use the same figure unless a link sets `clear_sky`.
 */
import type { Rng } from '../common/index.ts';

/** Fraction of usable (spectroscopic) nights a year at Xinglong, Zhang et al. 2015. */
export const XINGLONG_CLEAR_NIGHT_FRACTION = 0.63;

/** True if a pass is clear, with probability `clearFraction`. */
export function clearPass(rng: Rng, clearFraction: number): boolean {
  return rng.nextFloat() < clearFraction;
}
