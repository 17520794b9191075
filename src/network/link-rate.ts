/**
 * Secret key rate of a QKD link in bit/s = (secret bits per pulse) × (repetition rate), from the physics
 * folder's key-rate models with a device preset, the scenario's parameter overrides and the link length.
 * A measured `rate_bps` in the scenario always wins over any model.
 *
 * Two rate models (`rate_model` in a scenario, `--rate-model` on the CLI):
 *  - `finite` (default for decoy-state BB84 links): the finite-key length of C. C.-W. Lim, M. Curty,
 *    N. Walenta, F. Xu, H. Zbinden, PRA 89, 022307 (2014), Eq. (1) with the bounds of Eqs. (2)–(5)
 *    (src/physics bb84-finite.ts), per pulse of a block of `event_pulses` pulses, at the settings the
 *    project's own link engine and post-processing use — intensities 0.5 / 0.1 / 0 chosen 70 / 20 / 10 %
 *    (src/qkd DEFAULT_INTENSITIES), the preset's basis bias, ε_sec = 10⁻¹⁰ and ε_cor = 10⁻¹⁵ (the
 *    pipeline's defaults) and the error-correction leak of our Cascade (f = CASCADE_F). So it is what
 *    `source: event-level` delivers on average, without simulating the blocks (a test holds the two within
 *    10%).
 *  - `asymptotic`: the infinite-key rate of the link's `model` (e.g. decoy-state BB84 of Lo, Ma & Chen,
 *    PRL 94, 230504 (2005), or CV-QKD GG02), with intensities optimised — an upper bound that no finite
 *    block reaches. Models without a finite-key form here (CV-QKD, twin-field, …) are asymptotic and named so.
 */
import { QkdnetError } from '../common/index.ts';
import {
  finiteKeyRate,
  findPreset,
  keyRate,
  PARAM_BY_NAME,
  systemTransmittance,
  type LinkParams,
} from '../physics/index.ts';
import { DEFAULT_INTENSITIES } from '../qkd/index.ts';

/** Where a link's rate came from. */
export type RateSource = 'measured' | 'physics-model';

/** What a link's rate means: finite-key, asymptotic, measured, or filled by event-level blocks. */
export type RateModel = 'finite' | 'asymptotic' | 'measured' | 'event-level';

/** The rate models a scenario or the CLI may ask for. */
export const RATE_MODELS = ['finite', 'asymptotic'] as const;

/** Secrecy and correctness of the post-processing pipeline (src/postprocess runPipeline defaults). */
export const PIPELINE_EPS_SEC = 1e-10;
export const PIPELINE_EPS_COR = 1e-15;
/**
 * Error-correction efficiency f of the pipeline's Cascade (leak ÷ n·h(QBER)) at the 3–4% QBER of metro
 * links: 1.05, the figure the pipeline's own estimate assumes (src/postprocess pipeline.ts). With it the
 * model is within 5% of event-level blocks on every metro-demo link (finite-vs-event-level slow test).
 */
export const CASCADE_F = 1.05;

/** The resolved rate of one link. */
export interface LinkRate {
  readonly rateBps: number;
  readonly source: RateSource;
  readonly model?: string;
  /** Modelled QBER of the key, when the model reports one. */
  readonly qber?: number;
}

/** Resolves link parameters: preset, then scenario defaults' params, then the link's own params. */
export function resolveLinkParams(
  presetName: string,
  overrides: readonly Readonly<Record<string, number>>[],
): LinkParams {
  const preset = findPreset(presetName);
  if (!preset)
    throw new QkdnetError(
      'UNKNOWN_PRESET',
      `Cannot resolve link parameters: no preset named "${presetName}"`,
    );
  const p: LinkParams = { ...preset.params };
  for (const o of overrides) {
    for (const [k, v] of Object.entries(o)) {
      const key = PARAM_BY_NAME.get(k);
      if (key === undefined)
        throw new QkdnetError('UNKNOWN_PARAMETER', `Cannot set link parameter "${k}": unknown name`);
      (p as unknown as Record<string, number>)[key] = v;
    }
  }
  return p;
}

/** Secret key rate of a link in bit/s from a physics model (asymptotic). */
export function modelLinkRate(model: string, params: LinkParams, distanceKm: number): LinkRate {
  const r = keyRate(model, params, distanceKm);
  return {
    rateBps: Math.max(0, r.ratePerPulse) * params.repetitionRateHz,
    source: 'physics-model',
    model,
    ...(r.qber !== undefined ? { qber: r.qber } : {}),
  };
}

/** True if `model` has the finite-key form above (decoy-state BB84, the link engine's protocol). */
export function hasFiniteForm(model: string | undefined): boolean {
  return model !== undefined && model.startsWith('bb84-decoy');
}

/**
 * Finite-key secret key rate in bit/s of a decoy-state BB84 link whose blocks hold `pulses` pulses, at the
 * link engine's settings (see the file header). 0 when the block is too small for any key.
 */
export function finiteLinkRateBps(params: LinkParams, distanceKm: number, pulses: number): number {
  const [signal, decoy, weakest] = DEFAULT_INTENSITIES;
  const r = finiteKeyRate(
    {
      eta: systemTransmittance(params, distanceKm),
      y0: params.darkCountProbability,
      ed: params.misalignmentError,
      f: CASCADE_F,
      afterpulse: params.afterpulseProbability,
      blockSize: pulses,
      epsSec: PIPELINE_EPS_SEC,
      epsCor: PIPELINE_EPS_COR,
      muMin: 0,
      mu3: weakest!.mu,
    },
    {
      mu1: signal!.mu,
      mu2: decoy!.mu,
      p1: signal!.probability,
      p2: decoy!.probability,
      pZ: params.basisBiasZ,
    },
  );
  return Math.max(0, r.rate) * params.repetitionRateHz;
}
