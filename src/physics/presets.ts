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
};

/** Looks a preset up by name; undefined if none. */
export function findPreset(name: string): Preset | undefined {
  return Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
}
