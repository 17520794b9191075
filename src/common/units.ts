/**
 * Units and conversions. Names carry units (`distanceKm`, `lossDb`, `rateHz`); simulation time is integer
 * nanoseconds in a `number` (exact up to 2^53 ns ≈ 104 days). See docs/units.md.
 */

export const NS_PER_S = 1_000_000_000;
export const NS_PER_MS = 1_000_000;
export const SPEED_OF_LIGHT_M_PER_S = 299_792_458;
export const PLANCK_J_S = 6.62607015e-34;

/** Transmittance (0..1) of a loss in dB: 10^(−dB/10). */
export function dbToTransmittance(lossDb: number): number {
  return Math.pow(10, -lossDb / 10);
}

/** Loss in dB of a transmittance: −10·log₁₀(η). */
export function transmittanceToDb(eta: number): number {
  return -10 * Math.log10(eta);
}

/** Seconds to integer nanoseconds. */
export function secondsToNs(s: number): number {
  return Math.round(s * NS_PER_S);
}

/** Parses a duration such as `90s`, `15m`, `24h`, `2d`, `500ms` into seconds. */
export function parseDurationS(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!m) throw new RangeError(`Cannot read duration "${text}": expected a number with ms, s, m, h or d`);
  const v = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = unit === 'ms' ? 1e-3 : unit === 's' ? 1 : unit === 'm' ? 60 : unit === 'h' ? 3600 : 86400;
  return v * factor;
}
