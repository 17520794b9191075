/**
 * Secret key rate of a QKD link in bit/s = (secret bits per pulse) × (repetition rate). The per-pulse
 * rate comes from the physics folder's `keyRate(model, params, distanceKm)` when that model exists; until
 * then (and for models it does not know) a local asymptotic decoy-state BB84 rate is used: GLLP with
 * infinitely many decoys, H.-K. Lo, X. Ma, K. Chen, PRL 94, 230504 (2005), Eqs. (1)–(4) and X. Ma et al.,
 * PRA 72, 012326 (2005), Eqs. (8)–(12). This fallback is temporary and is reported as `rateSource`.
 * A measured `rate_bps` in the scenario always wins over any model.
 */
import { binaryEntropy, maximize1d, QkdnetError } from '../common/index.ts';
import * as physics from '../physics/index.ts';
import type { LinkParams } from '../physics/index.ts';

/** Where a link's rate came from. */
export type RateSource = 'measured' | 'physics-model' | 'fallback-gllp';

/** The resolved rate of one link. */
export interface LinkRate {
  readonly rateBps: number;
  readonly source: RateSource;
  readonly model?: string;
  /** Modelled QBER of the key (E_μ at the optimal μ), when a model gave the rate. */
  readonly qber?: number;
}

/** Asymptotic decoy-state BB84 (GLLP, infinite decoys) key bits per pulse at the optimal μ. */
export function gllpDecoyRatePerPulse(p: LinkParams, distanceKm: number): number {
  return gllpDecoy(p, distanceKm).ratePerPulse;
}

/** GLLP decoy rate per pulse, the optimal signal intensity μ and the QBER E_μ there. */
export function gllpDecoy(
  p: LinkParams,
  distanceKm: number,
): { ratePerPulse: number; mu: number; qber: number } {
  const etaCh = 10 ** (-(p.attenuationDbPerKm * distanceKm + p.extraLossDb) / 10);
  const eta = etaCh * p.detectorEfficiency;
  const y0 = p.darkCountProbability;
  const q = p.basisBiasZ ** 2 + (1 - p.basisBiasZ) ** 2; // sifting factor (1/2 for BB84)
  const rate = (mu: number): number => {
    const qMu = y0 + 1 - Math.exp(-eta * mu); // Lo-Ma-Chen Eq. (2): gain
    const eMu = (0.5 * y0 + p.misalignmentError * (1 - Math.exp(-eta * mu))) / qMu; // Eq. (2): QBER
    const y1 = y0 + eta; // single-photon yield
    const e1 = (0.5 * y0 + p.misalignmentError * eta) / y1; // single-photon error rate
    const q1 = y1 * mu * Math.exp(-mu);
    const r =
      q *
      (-qMu * p.errorCorrectionEfficiency * binaryEntropy(eMu) + q1 * (1 - binaryEntropy(Math.min(0.5, e1))));
    return Number.isFinite(r) ? r : 0;
  };
  const best = maximize1d(rate, 1e-4, 1.5);
  const qMu = y0 + 1 - Math.exp(-eta * best.x);
  const qber = (0.5 * y0 + p.misalignmentError * (1 - Math.exp(-eta * best.x))) / qMu;
  return { ratePerPulse: Math.max(0, best.value), mu: best.x, qber };
}

interface PhysicsModelApi {
  keyRate?: (
    model: string,
    params: LinkParams,
    distanceKm: number,
    opts?: object,
  ) => { ratePerPulse: number };
  MODELS?: Readonly<Record<string, unknown>> | readonly { name: string }[];
}

function physicsHasModel(api: PhysicsModelApi, model: string): boolean {
  const m = api.MODELS;
  if (m === undefined || typeof api.keyRate !== 'function') return false;
  if (Array.isArray(m)) return m.some((x: { name: string }) => x.name === model);
  return Object.hasOwn(m, model);
}

/** Resolves link parameters: preset, then scenario defaults' params, then the link's own params. */
export function resolveLinkParams(
  presetName: string,
  overrides: readonly Readonly<Record<string, number>>[],
): LinkParams {
  const preset = physics.findPreset(presetName);
  if (!preset)
    throw new QkdnetError(
      'UNKNOWN_PRESET',
      `Cannot resolve link parameters: no preset named "${presetName}"`,
    );
  const p: LinkParams = { ...preset.params };
  for (const o of overrides) {
    for (const [k, v] of Object.entries(o)) {
      const key = physics.PARAM_BY_NAME.get(k) ?? (Object.hasOwn(p, k) ? (k as keyof LinkParams) : undefined);
      if (key === undefined)
        throw new QkdnetError('UNKNOWN_PARAMETER', `Cannot set link parameter "${k}": unknown name`);
      p[key] = v;
    }
  }
  return p;
}

/** Secret key rate of a link in bit/s from a model (physics when available, else the GLLP fallback). */
export function modelLinkRate(model: string, params: LinkParams, distanceKm: number): LinkRate {
  const api = physics as unknown as PhysicsModelApi;
  if (physicsHasModel(api, model)) {
    const { ratePerPulse } = api.keyRate!(model, params, distanceKm);
    const qber = gllpDecoy(params, distanceKm).qber; // the physics model reports rates only
    return {
      rateBps: Math.max(0, ratePerPulse) * params.repetitionRateHz,
      source: 'physics-model',
      model,
      qber,
    };
  }
  return {
    rateBps: gllpDecoyRatePerPulse(params, distanceKm) * params.repetitionRateHz,
    source: 'fallback-gllp',
    model: 'bb84-decoy',
  };
}
