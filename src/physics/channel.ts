/**
 * The channel of a LinkParams record at a given distance: a fiber (attenuation × length + extra loss) or,
 * when `fs_beam_waist_m` > 0, a free-space/satellite downlink whose distance is the slant range (diffraction,
 * atmosphere at the elevation implied by the altitude, pointing jitter, plus extra loss). Every key-rate model
 * and the PLOB/TGW bounds take their transmittance from here, so one preset drives both kinds of link.
 */
import { dbToTransmittance } from '../common/index.ts';
import { fiberLossDb } from './fiber.ts';
import { freeSpaceLossDb, elevationFromRangeDeg } from './free-space.ts';
import { param, type LinkParams } from './params.ts';

/** True when the record describes a free-space link (fs_beam_waist_m > 0). */
export function isFreeSpace(p: LinkParams): boolean {
  return param(p, 'fsBeamWaistM') > 0;
}

/** Channel loss in dB at `distanceKm` (fiber length, or slant range for free space). Excludes η_Bob. */
export function channelLossDb(p: LinkParams, distanceKm: number): number {
  if (!(distanceKm >= 0)) throw new RangeError(`distanceKm must be ≥ 0, got ${distanceKm}`);
  if (!isFreeSpace(p)) {
    return fiberLossDb({
      distanceKm,
      attenuationDbPerKm: p.attenuationDbPerKm,
      extraLossDb: p.extraLossDb,
    });
  }
  const altitudeKm = param(p, 'fsAltitudeKm');
  return (
    freeSpaceLossDb({
      rangeKm: distanceKm,
      elevationDeg: elevationFromRangeDeg(distanceKm, altitudeKm),
      wavelengthNm: p.wavelengthNm,
      beamWaistM: param(p, 'fsBeamWaistM'),
      rxApertureM: param(p, 'fsRxApertureM'),
      pointingJitterUrad: param(p, 'fsPointingJitterUrad'),
      zenithTransmittance: param(p, 'fsZenithTransmittance'),
      turbulenceLossDbZenith: param(p, 'fsTurbulenceLossDb'),
    }) + p.extraLossDb
  );
}

/** Channel transmittance η_ch (0..1), the quantity the PLOB and TGW bounds use. */
export function channelTransmittance(p: LinkParams, distanceKm: number): number {
  return dbToTransmittance(channelLossDb(p, distanceKm));
}

/** Whole-system transmittance η = η_Bob · η_ch used by the BB84 models. */
export function systemTransmittance(p: LinkParams, distanceKm: number): number {
  return p.detectorEfficiency * channelTransmittance(p, distanceKm);
}
