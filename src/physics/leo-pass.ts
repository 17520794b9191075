/**
 * Geometry of one pass of a low-Earth-orbit satellite over a ground station, and the downlink loss along it.
 * Circular orbit, spherical Earth, Earth rotation neglected during the few minutes of a pass (its effect on
 * the ground track is < 0.5°/min; Vallado, Fundamentals of Astrodynamics, 4th ed., §11). The satellite moves
 * on a great circle at angular rate ω = √(GM/(R+h)³); at closest approach the Earth-central angle to the
 * station is ψ_min, given by the maximum elevation; t seconds later cos ψ = cos ψ_min · cos(ωt) (right
 * spherical triangle). Elevation and range follow from ψ. Used by the network engineer for the Micius
 * scenario (Liao et al., Nature 549, 43 (2017): ~500 km altitude, passes of ~5 min above 10°), and the key
 * one pass yields (`passKeyBits`), compared with the 2017 pass's published final key.
 */
import { EARTH_RADIUS_KM, elevationFromRangeDeg, freeSpaceLossDb, type FreeSpaceLink } from './free-space.ts';
import { keyRate, type KeyRateOptions } from './models.ts';
import type { LinkParams } from './params.ts';

/** Earth's gravitational parameter GM, km³/s² (WGS-84). */
export const EARTH_GM_KM3_S2 = 398600.4418;

/** Options of `leoPass`. */
export interface LeoPassOptions {
  readonly altitudeKm: number;
  /** Elevation at closest approach, degrees (90 = overhead). */
  readonly maxElevationDeg: number;
  /** Lowest elevation with a usable link, degrees (default 10). */
  readonly minElevationDeg?: number;
  /** Sample spacing, s (default 1). */
  readonly timeStepS?: number;
  /** Optics of the downlink (default: the `micius` preset's values). */
  readonly link?: Omit<FreeSpaceLink, 'rangeKm' | 'elevationDeg'>;
  /** Loss outside the free-space budget, dB (default MICIUS_EXTRA_LOSS_DB with the default link, else 0). */
  readonly extraLossDb?: number;
}

/** One sample of a pass; time 0 is closest approach (negative before). */
export interface LeoPassSample {
  readonly timeS: number;
  readonly elevationDeg: number;
  readonly rangeKm: number;
  readonly lossDb: number;
}

/** Default downlink optics: Micius-like (Liao et al. 2017; see presets.ts for which values are stated). */
export const MICIUS_DOWNLINK: Omit<FreeSpaceLink, 'rangeKm' | 'elevationDeg'> = {
  wavelengthNm: 848.62,
  beamWaistM: 0.054,
  rxApertureM: 1.0,
  pointingJitterUrad: 0.5,
  zenithTransmittance: 0.8,
  turbulenceLossDbZenith: 3.8,
};

/** The `micius` preset's extra loss (receiver optics before η_Bob, polarisation compensation), dB. */
export const MICIUS_EXTRA_LOSS_DB = 2.2;

/**
 * The Xinglong pass Liao et al. 2017 analyse: key from 1,200 km slant range through closest approach at 645 km
 * and back (elevation ≈ 19.8° → 49.0° → 19.8° at 500 km altitude; 270 s by `leoPass`, the paper's 273 s).
 */
export const MICIUS_2017_PASS = {
  altitudeKm: 500,
  maxElevationDeg: elevationFromRangeDeg(645, 500),
  minElevationDeg: elevationFromRangeDeg(1200, 500),
} as const;

const DEG = Math.PI / 180;

/** Earth-central angle (rad) between station and sub-satellite point at elevation θ: ψ = acos(R cos θ/(R+h)) − θ. */
export function centralAngleRad(elevationDeg: number, altitudeKm: number): number {
  const e = elevationDeg * DEG;
  return Math.acos((EARTH_RADIUS_KM * Math.cos(e)) / (EARTH_RADIUS_KM + altitudeKm)) - e;
}

/** Elevation (deg) and slant range (km) for a central angle ψ (rad). */
export function lookAngles(psiRad: number, altitudeKm: number): { elevationDeg: number; rangeKm: number } {
  const R = EARTH_RADIUS_KM;
  const r = R + altitudeKm;
  const rangeKm = Math.sqrt(R * R + r * r - 2 * R * r * Math.cos(psiRad));
  const elevation = Math.atan2(r * Math.cos(psiRad) - R, r * Math.sin(psiRad));
  return { elevationDeg: elevation / DEG, rangeKm };
}

/** Orbital period of a circular orbit at `altitudeKm`, s: 2π√((R+h)³/GM). */
export function orbitalPeriodS(altitudeKm: number): number {
  return 2 * Math.PI * Math.sqrt((EARTH_RADIUS_KM + altitudeKm) ** 3 / EARTH_GM_KM3_S2);
}

/** Samples a pass from rise to set above `minElevationDeg`, symmetric about closest approach. */
export function leoPass(opts: LeoPassOptions): LeoPassSample[] {
  const { altitudeKm, maxElevationDeg } = opts;
  const minElevationDeg = opts.minElevationDeg ?? 10;
  const stepS = opts.timeStepS ?? 1;
  if (!(altitudeKm > 0)) throw new RangeError(`altitudeKm must be > 0, got ${altitudeKm}`);
  if (!(maxElevationDeg > 0 && maxElevationDeg <= 90))
    throw new RangeError(`maxElevationDeg must be in (0, 90], got ${maxElevationDeg}`);
  if (!(stepS > 0)) throw new RangeError(`timeStepS must be > 0, got ${stepS}`);
  if (maxElevationDeg < minElevationDeg) return [];
  const link = opts.link ?? MICIUS_DOWNLINK;
  const extra = opts.extraLossDb ?? (opts.link === undefined ? MICIUS_EXTRA_LOSS_DB : 0);
  const omega = (2 * Math.PI) / orbitalPeriodS(altitudeKm);
  const psiMin = centralAngleRad(maxElevationDeg, altitudeKm);
  const psiEdge = centralAngleRad(minElevationDeg, altitudeKm);
  const halfS = Math.acos(Math.min(1, Math.cos(psiEdge) / Math.cos(psiMin))) / omega;
  const n = Math.floor(halfS / stepS);
  const out: LeoPassSample[] = [];
  for (let i = -n; i <= n; i++) {
    const timeS = i * stepS;
    const psi = Math.acos(Math.cos(psiMin) * Math.cos(omega * timeS));
    const { elevationDeg, rangeKm } = lookAngles(psi, altitudeKm);
    const lossDb = freeSpaceLossDb({ ...link, rangeKm, elevationDeg }) + extra;
    out.push({ timeS, elevationDeg, rangeKm, lossDb });
  }
  return out;
}

/** Signal and decoy intensities of the 2017 experiment (with vacuum), as pinned LinkParams overrides. */
export const MICIUS_2017_INTENSITIES = { signalIntensity: 0.8, decoyIntensity: 0.1 } as const;

/**
 * Secret key of one pass, bits: Σ R(range)·f_rep·Δt over the samples (R from `keyRate` with the link's slant
 * range as distance, so `params` must be a free-space record whose optics match the pass's). For the finite-key
 * model pass `opts.blockSize` = the pulses of the whole pass: each sample is evaluated as if the pass were one
 * block at that sample's channel, an approximation of the single block the parties post-process.
 */
export function passKeyBits(
  model: string,
  params: LinkParams,
  samples: readonly LeoPassSample[],
  opts: KeyRateOptions = {},
): number {
  if (samples.length < 2) return 0;
  const dt = samples[1]!.timeS - samples[0]!.timeS;
  let bits = 0;
  for (const s of samples)
    bits += keyRate(model, params, s.rangeKm, opts).ratePerPulse * params.repetitionRateHz * dt;
  return bits;
}
