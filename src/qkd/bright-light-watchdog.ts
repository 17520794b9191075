/**
 * A bright-light watchdog at Bob's detectors — the countermeasure against detector blinding, written as a
 * model of a device, not a claim about any product.
 *
 * Blinding (L. Lydersen, C. Wiechers, C. Wittmann, D. Elser, J. Skaar, V. Makarov, "Hacking commercial
 * quantum cryptography systems by tailored bright illumination", Nature Photonics 4, 686, 2010) holds Bob's
 * avalanche photodiodes in linear mode with continuous bright light. That light is what a watchdog sees:
 * a monitor photodiode behind a tap at Bob's input, or the APD photocurrent itself (Z. L. Yuan, J. F. Dynes,
 * A. J. Shields, "Avoiding the blinding attack in QKD", Nature Photonics 4, 800, 2010; the blinding monitor of
 * J. Yin et al., Nature 582, 501, 2020, Extended Data Fig. 5, samples the photocurrent through a resistor with
 * a 250 kHz ADC). Lydersen et al.'s reply (Nature Photonics 4, 801, 2010) is the limit of the idea: light
 * kept below the monitor's threshold, or pulses shorter than its sampling window, can still control some
 * detectors — so the watchdog is modelled with a threshold and a noise floor, not as a perfect alarm.
 *
 * Model (assumptions, docs/detection.md "Countermeasures"):
 *  - the watchdog reads the power at Bob's input through a tap of WATCHDOG_TAP in windows of
 *    WATCHDOG_WINDOW_S (the 250 kHz ADC above), with Gaussian noise of WATCHDOG_NOISE_W rms per window;
 *  - a window trips when its reading exceeds the dark mean by WATCHDOG_THRESHOLD_SIGMA noise sds, so an
 *    attack-free window trips with probability Q(6) ≈ 9.9·10⁻¹⁰ (WATCHDOG_FALSE_TRIP);
 *  - Eve blinds a fraction f of the block in one stretch of f·T with BLINDING_POWER_W at Bob's input
 *    (assumption: 10 µW, a hundredth of the 1 mW continuous laser reported for the 2010 hack). Every window
 *    the stretch covers trips; a stretch shorter than one window trips it when its share of the window's
 *    energy still exceeds the threshold.
 * The block's telemetry carries the windows and the trips; the detection engine tests the trips against
 * Binomial(windows, WATCHDOG_FALSE_TRIP) (alert `bright-light`).
 */
import { sampleBinomial, type Rng } from '../common/index.ts';
import type { LinkBlockConfig } from './types.ts';

/** Fraction of the light at Bob's input sent to the watchdog photodiode (assumption: 1%). */
export const WATCHDOG_TAP = 0.01;
/** Sampling window, s (a 250 kHz ADC, as in Yin et al. 2020). */
export const WATCHDOG_WINDOW_S = 4e-6;
/** Noise of one window's reading, W rms (assumption: an InGaAs photodiode at ~1 pW NEP over the window). */
export const WATCHDOG_NOISE_W = 1e-12;
/** Threshold above the dark mean, in noise sds. */
export const WATCHDOG_THRESHOLD_SIGMA = 6;
/** P(an attack-free window trips) = Q(6), the Gaussian upper tail at 6 sd. */
export const WATCHDOG_FALSE_TRIP = 9.865876450377e-10;
/** Continuous blinding power at Bob's input while Eve blinds, W (assumption, see above). */
export const BLINDING_POWER_W = 1e-5;

/** True when the link has the watchdog. */
export function hasWatchdog(cfg: LinkBlockConfig): boolean {
  return (cfg.params.brightLightWatchdog ?? 0) >= 0.5;
}

/** The watchdog's reading of one block: its windows and how many tripped. */
export function watchdogReading(cfg: LinkBlockConfig, rng: Rng): { windows: number; trips: number } {
  const durationS = cfg.pulses / cfg.params.repetitionRateHz;
  const windows = Math.max(1, Math.ceil(durationS / WATCHDOG_WINDOW_S));
  let trips = sampleBinomial(windows, WATCHDOG_FALSE_TRIP, rng);
  const f = cfg.attack?.kind === 'blinding' ? cfg.attack.param : 0;
  if (f > 0) {
    const litS = f * durationS;
    const threshold = WATCHDOG_THRESHOLD_SIGMA * WATCHDOG_NOISE_W;
    const peak = WATCHDOG_TAP * BLINDING_POWER_W * Math.min(1, litS / WATCHDOG_WINDOW_S);
    if (peak > threshold) trips = Math.min(windows, trips + Math.max(1, Math.ceil(litS / WATCHDOG_WINDOW_S)));
  }
  return { windows, trips };
}
