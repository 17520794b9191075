/**
 * Satellite pass windows: a low-Earth-orbit link (e.g. Micius, 500 km) sees a ground station only for a
 * few minutes per pass, at night, roughly once a day per station (Liao et al., Nature 549, 43 (2017):
 * passes of ~5 min, key generated for ~273 s). A pass schedule is periodic: windows
 * [first + i·period, first + i·period + duration) for i = 0, 1, …; key is generated only inside them.
 */

/** A periodic pass schedule in seconds. */
export interface PassSchedule {
  readonly firstS: number;
  readonly periodS: number;
  readonly durationS: number;
}

/** True if time `tS` lies inside a pass. */
export function inPass(p: PassSchedule, tS: number): boolean {
  if (tS < p.firstS) return false;
  return (tS - p.firstS) % p.periodS < p.durationS;
}

/**
 * Seconds of pass time inside [fromS, toS]; with `weight`, each pass k's seconds count `weight(k)` times
 * (its key factor: geometry and cloud, variation.ts).
 */
export function passOverlapS(
  p: PassSchedule,
  fromS: number,
  toS: number,
  weight?: (k: number) => number,
): number {
  if (toS <= fromS) return 0;
  let total = 0;
  const k0 = Math.max(0, Math.floor((fromS - p.firstS) / p.periodS));
  for (let k = k0; ; k++) {
    const start = p.firstS + k * p.periodS;
    if (start >= toS) break;
    const end = start + p.durationS;
    const s = Math.max(0, Math.min(end, toS) - Math.max(start, fromS));
    if (s > 0) total += weight ? s * weight(k) : s;
  }
  return total;
}
