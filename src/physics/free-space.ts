/**
 * Free-space and satellite-downlink channel: Gaussian-beam diffraction onto a finite receiver aperture
 * (Siegman, Lasers, 1986, ch. 17: w(L) = w0·√(1 + (L/z_R)²), z_R = π·w0²/λ; power through a centred circular
 * aperture of radius a: 1 − e^{−2a²/w²}), Gaussian pointing jitter averaged over a Rayleigh-distributed beam
 * offset (small-aperture limit, e.g. Bourgoin et al., NJP 15, 023006 (2013), Sec. 3), atmospheric extinction
 * T_zenith^{AM(θ)} with the Kasten–Young air mass (F. Kasten, A. T. Young, Appl. Opt. 28, 4735 (1989)), and
 * sky-background counts per gate from the sky radiance (day versus night; Er-Long Miao et al., NJP 7, 215
 * (2005)). Turbulence beam wander on a downlink is small (the beam crosses the atmosphere last) and is
 * folded into the pointing jitter; what turbulence does cost a downlink is at the receiver, where the seeing-
 * broadened, wandering spot overfills the detector's field of view. That coupling loss grows with the air mass
 * (the Fried parameter shrinks as (sec ζ)^{−3/5}); we model it as L_turb·AM(θ) dB, L_turb fitted per system
 * (the `micius` preset fits it to the rise of loss with range Liao et al., Nature 549, 43 (2017) report).
 * Units: metres and radians inside, km/µrad/nm at the interface.
 */
import { PLANCK_J_S, SPEED_OF_LIGHT_M_PER_S, transmittanceToDb } from '../common/index.ts';

/** Mean Earth radius, km (IUGG). */
export const EARTH_RADIUS_KM = 6371.0;

/** Beam radius (1/e² intensity) after `rangeM` metres: w0·√(1 + (L/z_R)²), z_R = π·w0²/λ. */
export function gaussianBeamRadiusM(beamWaistM: number, wavelengthNm: number, rangeM: number): number {
  const zR = (Math.PI * beamWaistM * beamWaistM) / (wavelengthNm * 1e-9);
  return beamWaistM * Math.sqrt(1 + (rangeM / zR) ** 2);
}

/** Fraction of a centred Gaussian beam of radius w collected by an aperture of diameter D: 1 − e^{−2a²/w²}. */
export function apertureCollection(beamRadiusM: number, apertureDiameterM: number): number {
  const a = apertureDiameterM / 2;
  return -Math.expm1((-2 * a * a) / (beamRadiusM * beamRadiusM));
}

/**
 * Mean pointing transmittance for RMS jitter σ (rad, per axis) at range L: the beam centre misses by
 * r ~ Rayleigh(σL), and E[e^{−2r²/w²}] = w² / (w² + 4σ²L²) (small aperture a ≪ w).
 */
export function pointingTransmittance(beamRadiusM: number, jitterRad: number, rangeM: number): number {
  const s = jitterRad * rangeM;
  return (beamRadiusM * beamRadiusM) / (beamRadiusM * beamRadiusM + 4 * s * s);
}

/** Relative air mass at elevation θ (degrees), Kasten & Young (1989): 1/(sin θ + 0.50572(θ + 6.07995)^−1.6364). */
export function airMass(elevationDeg: number): number {
  const h = Math.max(0, elevationDeg);
  return 1 / (Math.sin((h * Math.PI) / 180) + 0.50572 * Math.pow(h + 6.07995, -1.6364));
}

/** Atmospheric transmittance at elevation θ: T_zenith^{AM(θ)}. */
export function atmosphericTransmittance(zenithTransmittance: number, elevationDeg: number): number {
  return Math.pow(zenithTransmittance, airMass(elevationDeg));
}

/**
 * Elevation (degrees) of a satellite at `altitudeKm` seen at slant range ρ: the vertical component of the
 * line of sight is ρ·sin θ = ((R+h)² − R² − ρ²)/(2R); θ = atan2(ρ sin θ, √(ρ² − (ρ sin θ)²)), well conditioned
 * near the zenith too.
 */
export function elevationFromRangeDeg(rangeKm: number, altitudeKm: number): number {
  if (rangeKm <= altitudeKm) return 90;
  const R = EARTH_RADIUS_KM;
  const up = (altitudeKm * (2 * R + altitudeKm) - rangeKm * rangeKm) / (2 * R);
  const clamped = Math.max(-rangeKm, Math.min(rangeKm, up));
  const across = Math.sqrt((rangeKm - clamped) * (rangeKm + clamped));
  return (Math.atan2(clamped, across) * 180) / Math.PI;
}

/** Slant range (km) to a satellite at `altitudeKm` seen at elevation θ: ρ = √(R²sin²θ + 2Rh + h²) − R sin θ. */
export function slantRangeKm(elevationDeg: number, altitudeKm: number): number {
  const R = EARTH_RADIUS_KM;
  const s = Math.sin((elevationDeg * Math.PI) / 180);
  return Math.sqrt(R * R * s * s + 2 * R * altitudeKm + altitudeKm * altitudeKm) - R * s;
}

/** A free-space downlink at one instant. */
export interface FreeSpaceLink {
  readonly rangeKm: number;
  readonly elevationDeg: number;
  readonly wavelengthNm: number;
  /** Transmitter beam waist w0, m (far-field half-angle divergence λ/(π·w0)). */
  readonly beamWaistM: number;
  /** Receiver aperture diameter, m. */
  readonly rxApertureM: number;
  /** RMS pointing jitter per axis, µrad. */
  readonly pointingJitterUrad: number;
  /** Atmospheric transmittance at zenith (≈ 0.8 at 850 nm, clear sky; Bourgoin et al. 2013 Fig. 3). */
  readonly zenithTransmittance: number;
  /** Receiver coupling loss from turbulence (seeing) at zenith, dB; scaled by the air mass (default 0). */
  readonly turbulenceLossDbZenith?: number;
}

/** The loss terms of a downlink, each as a transmittance 0..1. */
export interface FreeSpaceBudget {
  readonly diffraction: number;
  readonly pointing: number;
  readonly atmosphere: number;
  readonly turbulence: number;
  readonly total: number;
}

/** Link budget of a downlink: diffraction × pointing × atmosphere × turbulence coupling (receiver optics are η_Bob). */
export function freeSpaceBudget(link: FreeSpaceLink): FreeSpaceBudget {
  const rangeM = link.rangeKm * 1000;
  const w = gaussianBeamRadiusM(link.beamWaistM, link.wavelengthNm, rangeM);
  const diffraction = apertureCollection(w, link.rxApertureM);
  const pointing = pointingTransmittance(w, link.pointingJitterUrad * 1e-6, rangeM);
  const atmosphere = atmosphericTransmittance(link.zenithTransmittance, link.elevationDeg);
  const turbulence = Math.pow(10, -((link.turbulenceLossDbZenith ?? 0) * airMass(link.elevationDeg)) / 10);
  return {
    diffraction,
    pointing,
    atmosphere,
    turbulence,
    total: diffraction * pointing * atmosphere * turbulence,
  };
}

/** Total downlink loss in dB. */
export function freeSpaceLossDb(link: FreeSpaceLink): number {
  return transmittanceToDb(freeSpaceBudget(link).total);
}

/**
 * Typical sky spectral radiance at ~850 nm, W·m⁻²·sr⁻¹·nm⁻¹: clear daytime sky away from the sun ≈ 1e-2 and
 * moonless night ≈ 1e-8 (orders of magnitude from Miao et al., NJP 7, 215 (2005); full moon is ~100× night).
 */
export const SKY_RADIANCE = { day: 1e-2, fullMoon: 1e-6, night: 1e-8 } as const;

/** A receiver looking at the sky. */
export interface BackgroundReceiver {
  /** Sky spectral radiance, W·m⁻²·sr⁻¹·nm⁻¹ (see SKY_RADIANCE). */
  readonly skyRadiance: number;
  /** Full field of view, µrad. */
  readonly fieldOfViewUrad: number;
  readonly rxApertureM: number;
  /** Spectral filter width, nm. */
  readonly filterNm: number;
  /** Detection gate (time window), ns. */
  readonly gateNs: number;
  /** Receiver optics × detector efficiency. */
  readonly efficiency: number;
  readonly wavelengthNm: number;
}

/**
 * Background counts per gate: N = L·Ω·A·Δλ·Δt·η / (hc/λ), with Ω = π(θ/2)² for a full field of view θ and
 * A = π(D/2)². Add it to the dark-count probability Y0 of the link.
 */
export function backgroundCountsPerGate(r: BackgroundReceiver): number {
  const omega = Math.PI * (r.fieldOfViewUrad * 1e-6 * 0.5) ** 2;
  const area = Math.PI * (r.rxApertureM / 2) ** 2;
  const photonJ = (PLANCK_J_S * SPEED_OF_LIGHT_M_PER_S) / (r.wavelengthNm * 1e-9);
  const powerW = r.skyRadiance * omega * area * r.filterNm;
  return (powerW * r.gateNs * 1e-9 * r.efficiency) / photonJ;
}
