/**
 * Secret key rate of a QKD link in bit/s = (secret bits per pulse) × (repetition rate), from the physics
 * folder's key-rate models (`keyRate(model, params, distanceKm)`, e.g. decoy-state BB84 of Lo, Ma & Chen,
 * PRL 94, 230504 (2005), or CV-QKD GG02) with a device preset, the scenario's parameter overrides and the
 * link length. A measured `rate_bps` in the scenario always wins over any model.
 */
import { QkdnetError } from '../common/index.ts';
import { findPreset, keyRate, PARAM_BY_NAME, type LinkParams } from '../physics/index.ts';

/** Where a link's rate came from. */
export type RateSource = 'measured' | 'physics-model';

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

/** Secret key rate of a link in bit/s from a physics model. */
export function modelLinkRate(model: string, params: LinkParams, distanceKm: number): LinkRate {
  const r = keyRate(model, params, distanceKm);
  return {
    rateBps: Math.max(0, r.ratePerPulse) * params.repetitionRateHz,
    source: 'physics-model',
    model,
    ...(r.qber !== undefined ? { qber: r.qber } : {}),
  };
}
