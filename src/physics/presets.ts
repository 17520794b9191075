/**
 * Parameter presets from the literature, stored as data with their source. Add a preset by adding an entry;
 * every value not taken from the source is marked as an assumption in `notes`.
 */
import type { LinkParams } from './params.ts';

export interface Preset {
  readonly name: string;
  readonly title: string;
  readonly source: string;
  readonly notes: string;
  readonly params: LinkParams;
}

/** Defaults for parameters a paper does not state (documented per preset). */
const NEUTRAL = {
  extraLossDb: 0,
  afterpulseProbability: 0,
  deadTimeNs: 0,
  wavelengthNm: 1550,
  basisBiasZ: 0.5,
} as const;

export const PRESETS: Readonly<Record<string, Preset>> = {
  gys: {
    name: 'gys',
    title: 'GYS 122 km experiment (Gobby, Yuan, Shields 2004)',
    source:
      'C. Gobby, Z. L. Yuan, A. J. Shields, Appl. Phys. Lett. 84, 3762 (2004); parameters as used by H.-K. Lo, X. Ma, K. Chen, PRL 94, 230504 (2005) and X. Ma, B. Qi, Y. Zhao, H.-K. Lo, PRA 72, 012326 (2005), Table I',
    notes:
      'α = 0.21 dB/km, η_Bob = 4.5%, Y0 = 1.7e-6, e_d = 3.3%, f = 1.22, 2 MHz; q = 1/2 sifting (basis_bias_z = 0.5).',
    params: {
      ...NEUTRAL,
      attenuationDbPerKm: 0.21,
      detectorEfficiency: 0.045,
      darkCountProbability: 1.7e-6,
      misalignmentError: 0.033,
      errorCorrectionEfficiency: 1.22,
      repetitionRateHz: 2e6,
    },
  },
  metro: {
    name: 'metro',
    title: 'Modern metro link, GHz-clocked decoy BB84 with InGaAs APDs (Toshiba Cambridge, 2018)',
    source:
      'Z. L. Yuan, A. Plews, R. Takahashi, K. Doi, W. Tam, A. W. Sharpe, A. R. Dixon, E. Lavelle, J. F. Dynes, A. Murakami, M. Kujiraoka, M. Lucamarini, Y. Tanizawa, H. Sato, A. J. Shields, "10-Mb/s quantum key distribution", J. Lightwave Technol. 36, 3427 (2018)',
    notes:
      '1 GHz clock, self-differencing InGaAs APDs, efficient BB84 with biased bases, standard fiber. Values are representative of the system class the paper describes and were not checked line by line against its tables (assumptions: η_Bob = 30%, Y0 = 2e-5 per gate for both detectors, e_d = 1.5%, afterpulse 4%, f = 1.1, basis_bias_z = 0.9, α = 0.2 dB/km, 2 dB of connector/splice loss). Countermeasure: a bright-light watchdog at Bob (bright_light_watchdog = 1; photocurrent monitoring of the self-differencing APDs as Z. L. Yuan, J. F. Dynes, A. J. Shields, Nat. Photon. 4, 800 (2010) describe for this detector class — an assumption about the system, modelled in src/qkd/bright-light-watchdog.ts).',
    params: {
      ...NEUTRAL,
      attenuationDbPerKm: 0.2,
      extraLossDb: 2,
      detectorEfficiency: 0.3,
      darkCountProbability: 2e-5,
      misalignmentError: 0.015,
      errorCorrectionEfficiency: 1.1,
      afterpulseProbability: 0.04,
      repetitionRateHz: 1e9,
      basisBiasZ: 0.9,
      brightLightWatchdog: 1,
    },
  },
  lim2014: {
    name: 'lim2014',
    title: 'Lim et al. 2014 finite-key evaluation (dedicated fiber, Fig. 1)',
    source:
      'C. C.-W. Lim, M. Curty, N. Walenta, F. Xu, H. Zbinden, "Concise security bounds for practical decoy-state quantum key distribution", PRA 89, 022307 (2014), Sec. IV and Fig. 1',
    notes:
      'Stated in the paper: η_Bob = 10%, p_dc = 6e-7 per detector (Y0 = 1.2e-6 for both), p_ap = 4e-2, α = 0.2 dB/km, e_mis = 5e-3, f_EC = 1.16, μ3 = 2e-4, ε_cor = 1e-15, ε_sec = κ·ℓ with κ = 1e-15; block sizes are post-processing blocks n_X = 10^4…10^9 (`--n-x`). Rates are per pulse, so the clock is an assumption: 1 GHz. Use with --model bb84-decoy-finite --n-x N.',
    params: {
      ...NEUTRAL,
      attenuationDbPerKm: 0.2,
      detectorEfficiency: 0.1,
      darkCountProbability: 1.2e-6,
      misalignmentError: 0.005,
      errorCorrectionEfficiency: 1.16,
      afterpulseProbability: 0.04,
      repetitionRateHz: 1e9,
      decoyIntensityMin: 0,
      decoyIntensityWeakest: 2e-4,
      finiteEpsSecPerBit: 1e-15,
      finiteEpsCor: 1e-15,
    },
  },
  tf2018: {
    name: 'tf2018',
    title: 'Twin-field family with realistic devices (phase-slice TF-QKD setting of Lucamarini et al. 2018)',
    source:
      'M. Lucamarini, Z. L. Yuan, J. F. Dynes, A. J. Shields, "Overcoming the rate–distance limit of quantum key distribution without quantum repeaters", Nature 557, 400 (2018), Fig. 1a: with realistic parameters TF-QKD surpasses the repeaterless bound after 340 km of standard fibre',
    notes:
      'Device values are assumptions typical of the twin-field literature (the paper’s own table was not read here): η_d = 30%, p_d = 1e-8 per detector (dark_count_probability = 2e-8 for both), e_d = 3%, f = 1.15, α = 0.2 dB/km, M = 16 phase slices, 1 GHz. Use with --model tf-qkd,pm-qkd,plob: both beat PLOB beyond ≈ 280–330 km.',
    params: {
      ...NEUTRAL,
      attenuationDbPerKm: 0.2,
      detectorEfficiency: 0.3,
      darkCountProbability: 2e-8,
      misalignmentError: 0.03,
      errorCorrectionEfficiency: 1.15,
      repetitionRateHz: 1e9,
      pmPhaseSlices: 16,
    },
  },
  pm2018: {
    name: 'pm2018',
    title: 'Phase-matching QKD simulation parameters (Ma, Zeng, Zhou 2018)',
    source:
      'X. Ma, P. Zeng, H. Zhou, "Phase-matching quantum key distribution", PRX 8, 031043 (2018), simulation section (Fig. 3)',
    notes:
      'η_d = 14.5%, p_d = 8e-8 per detector (dark_count_probability = 1.6e-7 for both), e_d = 1.5%, f = 1.15, M = 16, α = 0.2 dB/km: the values secondary summaries give for the paper’s simulation; the paper’s table itself could not be read here, so treat them as assumptions. Rates are per pulse; 1 GHz assumed.',
    params: {
      ...NEUTRAL,
      attenuationDbPerKm: 0.2,
      detectorEfficiency: 0.145,
      darkCountProbability: 1.6e-7,
      misalignmentError: 0.015,
      errorCorrectionEfficiency: 1.15,
      repetitionRateHz: 1e9,
      pmPhaseSlices: 16,
    },
  },
  mdi2012: {
    name: 'mdi2012',
    title: 'Decoy-state MDI-QKD with "seriously flawed" detectors (Lo, Curty, Qi 2012)',
    source:
      'H.-K. Lo, M. Curty, B. Qi, "Measurement-device-independent quantum key distribution", PRL 108, 130503 (2012), Fig. 3 and abstract ("secure over say 200 km even with seriously flawed detectors")',
    notes:
      'η_d = 14.5%, Y0 = 6.02e-6 (both detectors of a pair; p_d = 3.01e-6 each), e_d = 1.5%, f = 1.16, α = 0.2 dB/km: the detector class of the free-space experiment of R. Ursin et al., Nat. Phys. 3, 481 (2007) as used in MDI-QKD simulations; these values were not read from the PRL here, so treat them as assumptions. basis_bias_z = 0.5 gives the sifting factor 1/4; the paper’s asymptotic Eq. (1) has none (p_Z → 1). 1 GHz assumed.',
    params: {
      ...NEUTRAL,
      attenuationDbPerKm: 0.2,
      detectorEfficiency: 0.145,
      darkCountProbability: 6.02e-6,
      misalignmentError: 0.015,
      errorCorrectionEfficiency: 1.16,
      repetitionRateHz: 1e9,
    },
  },
  micius: {
    name: 'micius',
    title: 'Micius satellite-to-ground decoy BB84 downlink (distance = slant range)',
    source:
      'S.-K. Liao et al., "Satellite-to-ground quantum key distribution", Nature 549, 43 (2017): ~500 km orbit, decoy-state BB84 at ~850 nm and 100 MHz, ~10 µrad beam divergence, 1 m receiving telescope (Xinglong); the Xinglong pass of Fig. 3: 645–1,200 km, loss rising ≈ 13 dB from 22 dB, 300,939 final key bits in 273 s',
    notes:
      'Stated in the paper: altitude ≈ 500 km, wavelength ≈ 850 nm (848.62 nm), 100 MHz, divergence ≈ 10 µrad (full angle; beam waist w0 = λ/(π·5 µrad) = 54 mm), 1 m receiver. Fitted to the paper’s pass: turbulence coupling loss 3.8 dB at zenith (× air mass) so the loss rises 13 dB from 645 to 1,200 km, 2.2 dB of receiver loss so it is 22 dB at 645 km, and η_Bob = 10% so the finite-key model (one block per pass) with the experiment’s signal/decoy intensities 0.8/0.1 and vacuum (MICIUS_2017_INTENSITIES: the settings public simulations of this experiment use, not read from the paper here) gives the published ≈ 300 kbit per pass; the preset itself leaves the intensities free (optimised). Assumptions: pointing jitter 0.5 µrad RMS, zenith transmittance 0.8 (clear night at 850 nm), Y0 = 1e-6 per gate (night background + dark), e_d = 1%, f = 1.16. Use `--distance` as slant range (≥ 500 km).',
    params: {
      ...NEUTRAL,
      attenuationDbPerKm: 0,
      extraLossDb: 2.2,
      wavelengthNm: 848.62,
      detectorEfficiency: 0.1,
      darkCountProbability: 1e-6,
      misalignmentError: 0.01,
      errorCorrectionEfficiency: 1.16,
      repetitionRateHz: 1e8,
      fsBeamWaistM: 0.054,
      fsRxApertureM: 1.0,
      fsPointingJitterUrad: 0.5,
      fsZenithTransmittance: 0.8,
      fsTurbulenceLossDb: 3.8,
      fsAltitudeKm: 500,
    },
  },
};

/** Looks a preset up by name; undefined if none. */
export function findPreset(name: string): Preset | undefined {
  return Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
}
