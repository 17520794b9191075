/**
 * The parameters of a QKD link (source, channel, detector, post-processing) in one flat record, with the
 * snake_case names users type on the command line (`--set attenuation_db_per_km=0.2`) and see in JSON.
 * Every key-rate model and the link engine read this record; presets fill it. Keys added after the first
 * release are optional (free-space, CV-QKD, TF-QKD settings) and read through `param()`, which falls back
 * to PARAM_DEFAULTS, so records written before them stay valid.
 */
import { QkdnetError } from '../common/index.ts';

export interface LinkParams {
  /** Fiber attenuation α, dB/km. */
  attenuationDbPerKm: number;
  /** Extra insertion loss (connectors, Bob's optics not in η_Bob), dB. */
  extraLossDb: number;
  /** Bob's total detection efficiency η_Bob (optics × detector), 0..1. */
  detectorEfficiency: number;
  /** Background/dark count probability per gate Y₀ (both detectors together), 0..1. */
  darkCountProbability: number;
  /** Optical misalignment error e_d: probability a photon hits the wrong detector, 0..0.5. */
  misalignmentError: number;
  /** Error-correction inefficiency f ≥ 1 (leak = f·h(Q) per bit). */
  errorCorrectionEfficiency: number;
  /** Afterpulse probability per detection, 0..1. */
  afterpulseProbability: number;
  /** Detector dead time, ns. */
  deadTimeNs: number;
  /** Source repetition rate, Hz. */
  repetitionRateHz: number;
  /** Wavelength, nm. */
  wavelengthNm: number;
  /** Probability Alice and Bob choose the Z (key) basis; 0.5 is original BB84. */
  basisBiasZ: number;
  /** Smallest decoy intensity the modulator can set (vacuum + weak decoy, finite key), photons/pulse. */
  decoyIntensityMin?: number;
  /** The weakest of the three finite-key intensities, μ3 (0 = vacuum), photons/pulse. */
  decoyIntensityWeakest?: number;
  /** Signal intensity μ (μ1) pinned instead of optimised; NaN (default) = optimised per distance. */
  signalIntensity?: number;
  /** Decoy intensity ν (μ2) pinned instead of optimised; NaN (default) = optimised per distance. */
  decoyIntensity?: number;
  /** Finite key: secrecy parameter ε_sec when fixed. */
  finiteEpsSec?: number;
  /** Finite key: κ, secrecy leakage per key bit (ε_sec = κ·ℓ, Lim et al. 2014 Sec. IV); 0 = fixed ε_sec. */
  finiteEpsSecPerBit?: number;
  /** Finite key: correctness parameter ε_cor. */
  finiteEpsCor?: number;
  /** CV-QKD: Alice's modulation variance V_A pinned (shot-noise units); NaN (default) = optimised. */
  cvModulationVariance?: number;
  /** CV-QKD: excess noise ξ at the channel input, shot-noise units. */
  cvExcessNoise?: number;
  /** CV-QKD: homodyne detector efficiency η_hom, 0..1 (trusted). */
  cvDetectorEfficiency?: number;
  /** CV-QKD: electronic noise of the homodyne detector v_el, shot-noise units (trusted). */
  cvElectronicNoise?: number;
  /** CV-QKD: reconciliation efficiency β, 0..1. */
  cvReconciliationEfficiency?: number;
  /** PM-QKD: number of phase slices M of the phase post-compensation (Ma, Zeng, Zhou 2018). */
  pmPhaseSlices?: number;
  /** Free-space link when > 0: transmitter beam waist w0, m (distance is then the slant range). */
  fsBeamWaistM?: number;
  /** Free space: receiver telescope aperture diameter, m. */
  fsRxApertureM?: number;
  /** Free space: RMS pointing jitter per axis, µrad. */
  fsPointingJitterUrad?: number;
  /** Free space: atmospheric transmittance at zenith, 0..1. */
  fsZenithTransmittance?: number;
  /** Free space: receiver coupling loss from turbulence at zenith, dB, scaled by the air mass. */
  fsTurbulenceLossDb?: number;
  /** Free space: satellite altitude, km (gives the elevation for a slant range). */
  fsAltitudeKm?: number;
  /** 1: a bright-light watchdog at Bob's detectors (src/qkd/bright-light-watchdog.ts); 0: none. */
  brightLightWatchdog?: number;
  /** 1: random detector-bit mapping and gate-timing monitor at Bob (src/qkd/detector-randomisation.ts). */
  detectorRandomisation?: number;
}

/** Every optional parameter with the value used when a preset does not set it. */
export const PARAM_DEFAULTS: Readonly<Required<Pick<LinkParams, OptionalKey>>> = {
  decoyIntensityMin: 0.01,
  decoyIntensityWeakest: 0,
  signalIntensity: Number.NaN,
  decoyIntensity: Number.NaN,
  finiteEpsSec: 1e-9,
  finiteEpsSecPerBit: 0,
  finiteEpsCor: 1e-15,
  cvModulationVariance: Number.NaN,
  cvExcessNoise: 0.005,
  cvDetectorEfficiency: 0.606,
  cvElectronicNoise: 0.041,
  cvReconciliationEfficiency: 0.898,
  pmPhaseSlices: 16,
  fsBeamWaistM: 0,
  fsRxApertureM: 1,
  fsPointingJitterUrad: 0,
  fsZenithTransmittance: 1,
  fsTurbulenceLossDb: 0,
  fsAltitudeKm: 500,
  brightLightWatchdog: 0,
  detectorRandomisation: 0,
};

/** The keys of LinkParams that are optional (and have a default in PARAM_DEFAULTS). */
export type OptionalKey = {
  [K in keyof LinkParams]-?: undefined extends LinkParams[K] ? K : never;
}[keyof LinkParams];

/** Reads a parameter, falling back to PARAM_DEFAULTS for optional keys. */
export function param<K extends keyof LinkParams>(p: LinkParams, key: K): number {
  const v = p[key];
  if (v !== undefined) return v;
  return (PARAM_DEFAULTS as Record<string, number>)[key]!;
}

/** The CLI/JSON name, unit, range and meaning of each parameter. */
export const PARAM_SPECS: Readonly<
  Record<keyof LinkParams, { name: string; unit: string; min: number; max: number; doc: string }>
> = {
  attenuationDbPerKm: {
    name: 'attenuation_db_per_km',
    unit: 'dB/km',
    min: 0,
    max: 10,
    doc: 'fiber attenuation α',
  },
  extraLossDb: { name: 'extra_loss_db', unit: 'dB', min: 0, max: 200, doc: 'extra insertion loss' },
  detectorEfficiency: {
    name: 'detector_efficiency',
    unit: '1',
    min: 1e-9,
    max: 1,
    doc: "Bob's detection efficiency η_Bob",
  },
  darkCountProbability: {
    name: 'dark_count_probability',
    unit: 'per gate',
    min: 0,
    max: 1,
    doc: 'background count probability Y0',
  },
  misalignmentError: {
    name: 'misalignment_error',
    unit: '1',
    min: 0,
    max: 0.5,
    doc: 'optical misalignment e_d',
  },
  errorCorrectionEfficiency: {
    name: 'error_correction_efficiency',
    unit: '1',
    min: 1,
    max: 10,
    doc: 'error-correction inefficiency f',
  },
  afterpulseProbability: {
    name: 'afterpulse_probability',
    unit: '1',
    min: 0,
    max: 1,
    doc: 'afterpulse probability',
  },
  deadTimeNs: { name: 'dead_time_ns', unit: 'ns', min: 0, max: 1e9, doc: 'detector dead time' },
  repetitionRateHz: {
    name: 'repetition_rate_hz',
    unit: 'Hz',
    min: 1,
    max: 1e12,
    doc: 'source repetition rate',
  },
  wavelengthNm: { name: 'wavelength_nm', unit: 'nm', min: 100, max: 10000, doc: 'wavelength' },
  basisBiasZ: {
    name: 'basis_bias_z',
    unit: '1',
    min: 0.01,
    max: 0.99,
    doc: 'probability of the Z (key) basis',
  },
  decoyIntensityMin: {
    name: 'decoy_intensity_min',
    unit: 'photons',
    min: 0,
    max: 0.5,
    doc: 'smallest non-vacuum decoy intensity (vacuum+weak, finite key)',
  },
  decoyIntensityWeakest: {
    name: 'decoy_intensity_weakest',
    unit: 'photons',
    min: 0,
    max: 0.1,
    doc: 'weakest finite-key intensity μ3 (0 = vacuum; Lim et al. 2014 use 2e-4)',
  },
  signalIntensity: {
    name: 'signal_intensity',
    unit: 'photons',
    min: 1e-4,
    max: 2,
    doc: 'signal intensity μ pinned (unset: optimised per distance)',
  },
  decoyIntensity: {
    name: 'decoy_intensity',
    unit: 'photons',
    min: 1e-5,
    max: 1,
    doc: 'decoy intensity ν pinned (unset: optimised per distance)',
  },
  finiteEpsSec: {
    name: 'eps_sec',
    unit: '',
    min: 1e-30,
    max: 0.1,
    doc: 'finite key: secrecy parameter ε_sec (used when eps_sec_per_bit = 0)',
  },
  finiteEpsSecPerBit: {
    name: 'eps_sec_per_bit',
    unit: '',
    min: 0,
    max: 1e-3,
    doc: 'finite key: κ with ε_sec = κ·ℓ (Lim et al. 2014 Sec. IV); 0 = fixed eps_sec',
  },
  finiteEpsCor: {
    name: 'eps_cor',
    unit: '',
    min: 1e-30,
    max: 0.1,
    doc: 'finite key: correctness parameter ε_cor',
  },
  cvModulationVariance: {
    name: 'cv_modulation_variance',
    unit: 'SNU',
    min: 0.01,
    max: 1000,
    doc: 'CV-QKD: modulation variance V_A pinned (unset: optimised per distance)',
  },
  cvExcessNoise: {
    name: 'cv_excess_noise',
    unit: 'SNU',
    min: 0,
    max: 1,
    doc: 'CV-QKD excess noise ξ (channel input)',
  },
  cvDetectorEfficiency: {
    name: 'cv_detector_efficiency',
    unit: '1',
    min: 1e-3,
    max: 1,
    doc: 'CV-QKD homodyne efficiency η',
  },
  cvElectronicNoise: {
    name: 'cv_electronic_noise',
    unit: 'SNU',
    min: 0,
    max: 10,
    doc: 'CV-QKD electronic noise v_el',
  },
  cvReconciliationEfficiency: {
    name: 'cv_reconciliation_efficiency',
    unit: '1',
    min: 0.01,
    max: 1,
    doc: 'CV-QKD reconciliation efficiency β',
  },
  pmPhaseSlices: {
    name: 'phase_slices',
    unit: '1',
    min: 2,
    max: 1024,
    doc: 'PM-QKD: phase slices M of the phase post-compensation (kept rounds 2/M)',
  },
  fsBeamWaistM: {
    name: 'fs_beam_waist_m',
    unit: 'm',
    min: 0,
    max: 10,
    doc: 'free-space beam waist w0 (0 = fiber link)',
  },
  fsRxApertureM: {
    name: 'fs_rx_aperture_m',
    unit: 'm',
    min: 1e-3,
    max: 50,
    doc: 'free-space receiver aperture diameter',
  },
  fsPointingJitterUrad: {
    name: 'fs_pointing_jitter_urad',
    unit: 'µrad',
    min: 0,
    max: 1000,
    doc: 'free-space RMS pointing jitter per axis',
  },
  fsZenithTransmittance: {
    name: 'fs_zenith_transmittance',
    unit: '1',
    min: 1e-6,
    max: 1,
    doc: 'atmospheric transmittance at zenith',
  },
  fsTurbulenceLossDb: {
    name: 'fs_turbulence_loss_db',
    unit: 'dB',
    min: 0,
    max: 30,
    doc: 'free-space receiver coupling loss from turbulence at zenith (× air mass)',
  },
  fsAltitudeKm: {
    name: 'fs_altitude_km',
    unit: 'km',
    min: 0,
    max: 40000,
    doc: 'satellite altitude (elevation from slant range)',
  },
  brightLightWatchdog: {
    name: 'bright_light_watchdog',
    unit: '0/1',
    min: 0,
    max: 1,
    doc: "countermeasure: bright-light watchdog at Bob's detectors (against blinding)",
  },
  detectorRandomisation: {
    name: 'detector_randomisation',
    unit: '0/1',
    min: 0,
    max: 1,
    doc: 'countermeasure: random detector-bit mapping and gate-timing monitor (against time-shift)',
  },
};

/** snake_case name → camelCase key. */
export const PARAM_BY_NAME: ReadonlyMap<string, keyof LinkParams> = new Map(
  (Object.keys(PARAM_SPECS) as (keyof LinkParams)[]).map((k) => [PARAM_SPECS[k].name, k]),
);

/** The record as snake_case JSON (for output); optional keys appear with their effective value. */
export function paramsToJson(p: LinkParams): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(PARAM_SPECS) as (keyof LinkParams)[]) {
    const v = param(p, k);
    // NaN marks a parameter the models optimise (not pinned): left out rather than printed as null.
    if (!Number.isNaN(v)) out[PARAM_SPECS[k].name] = v;
  }
  return out;
}

/**
 * Applies `snake_case_name → value` overrides to a copy of `base`, checking each name and range.
 * Throws QkdnetError UNKNOWN_PARAMETER for a name no model knows, RangeError for a value out of range.
 */
export function withOverrides(base: LinkParams, overrides: Readonly<Record<string, number>>): LinkParams {
  const out: LinkParams = { ...base };
  for (const [name, value] of Object.entries(overrides)) {
    const key = PARAM_BY_NAME.get(name);
    if (key === undefined) {
      throw new QkdnetError(
        'UNKNOWN_PARAMETER',
        `Unknown parameter "${name}"; known: ${[...PARAM_BY_NAME.keys()].join(', ')}`,
      );
    }
    const spec = PARAM_SPECS[key];
    if (!Number.isFinite(value) || value < spec.min || value > spec.max) {
      throw new RangeError(`Parameter ${name} = ${value} is outside ${spec.min}..${spec.max} ${spec.unit}`);
    }
    out[key] = value;
  }
  return out;
}
