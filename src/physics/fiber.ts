/**
 * Fiber channel: transmittance η_ch = 10^(−(α·L + L_extra)/10) for attenuation α (dB/km), length L (km)
 * and extra insertion loss L_extra (dB: connectors, splices, filters). Standard single-mode fiber at
 * 1550 nm has α ≈ 0.2 dB/km (ITU-T G.652); ultra-low-loss fiber ≈ 0.16 dB/km (G.654).
 */
import { dbToTransmittance } from '../common/index.ts';

export interface FiberChannel {
  readonly distanceKm: number;
  readonly attenuationDbPerKm: number;
  readonly extraLossDb: number;
}

/** Total loss of the fiber in dB: α·L + L_extra. */
export function fiberLossDb(ch: FiberChannel): number {
  if (ch.distanceKm < 0) throw new RangeError(`distanceKm must be ≥ 0, got ${ch.distanceKm}`);
  return ch.attenuationDbPerKm * ch.distanceKm + ch.extraLossDb;
}

/** Channel transmittance η_ch (0..1). */
export function fiberTransmittance(ch: FiberChannel): number {
  return dbToTransmittance(fiberLossDb(ch));
}
