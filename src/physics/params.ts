/**
 * The parameters of a QKD link (source, channel, detector, post-processing) in one flat record, with the
 * snake_case names users type on the command line (`--set attenuation_db_per_km=0.2`) and see in JSON.
 * Every key-rate model and the link engine read this record; presets fill it.
 */

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
};

/** snake_case name → camelCase key. */
export const PARAM_BY_NAME: ReadonlyMap<string, keyof LinkParams> = new Map(
  (Object.keys(PARAM_SPECS) as (keyof LinkParams)[]).map((k) => [PARAM_SPECS[k].name, k]),
);

/** The record as snake_case JSON (for output). */
export function paramsToJson(p: LinkParams): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(PARAM_SPECS) as (keyof LinkParams)[]) out[PARAM_SPECS[k].name] = p[k];
  return out;
}
