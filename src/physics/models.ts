/**
 * The registry of key-rate models and bounds, and the two calls the rest of qkdnet uses:
 * `keyRate(model, params, distanceKm)` (bits per pulse, intensities optimised per distance) and
 * `maxDistanceKm(model, params)`. Each model reads the link from one LinkParams record (channel.ts gives its
 * transmittance) and cites its paper in MODELS. Results are memoised per params object, so a network that
 * evaluates thousands of links with a few shared records pays the optimisation once per (model, distance);
 * treat a LinkParams record as immutable after passing it here.
 */
import { QkdnetError, dbToTransmittance } from '../common/index.ts';
import { channelLossDb, channelTransmittance, systemTransmittance } from './channel.ts';
import { param, type LinkParams } from './params.ts';
import {
  bb84DecoyInfiniteRate,
  bb84GllpRate,
  bb84SinglePhotonRate,
  bb84VacuumWeakRate,
  type Bb84Channel,
} from './bb84-asymptotic.ts';
import { optimizeFiniteKey } from './bb84-finite.ts';
import { snsTfRate } from './tf-qkd.ts';
import { pmRate } from './pm-qkd-ma2018.ts';
import { mdiRate } from './mdi-qkd-lo2012.ts';
import { gg02Rate } from './cv-gg02.ts';
import { plobBound, tgwBound } from './bounds.ts';
import { maximizeScan } from './optimize.ts';

/** One entry of the registry. */
export interface ModelInfo {
  readonly name: string;
  readonly title: string;
  readonly source: string;
  readonly kind: 'protocol' | 'bound';
  /** True for point-to-point protocols that the PLOB bound limits. */
  readonly repeaterless: boolean;
}

/** Result of `keyRate`: bits per pulse and, where the model has them, QBER and optimal intensities. */
export interface KeyRateResult {
  readonly ratePerPulse: number;
  readonly qber?: number;
  readonly mu?: number;
  readonly nu?: number;
  /** CV-QKD: the modulation variance V_A used (optimised or pinned). */
  readonly modulationVariance?: number;
  /** bb84-decoy-finite: every setting used, the pulses N of the block and the ε_sec it was computed at. */
  readonly finite?: {
    readonly mu1: number;
    readonly mu2: number;
    readonly mu3: number;
    readonly p1: number;
    readonly p2: number;
    readonly pZ: number;
    readonly pulses: number;
    readonly epsSec: number;
  };
}

/**
 * Options of `keyRate`. For `bb84-decoy-finite`: the block as pulses sent (`blockSize`, default 1e10) or as the
 * post-processing block size n_X of Lim et al. 2014 (`nX`, sifted key-basis detections; wins over blockSize).
 * `pinned` names parameters the caller set explicitly: a pinned optimisable parameter (basis_bias_z for the
 * finite-key model; signal_intensity, decoy_intensity and cv_modulation_variance are pinned whenever set) is
 * held at its value instead of re-optimised.
 */
export interface KeyRateOptions {
  readonly blockSize?: number;
  readonly nX?: number;
  readonly pinned?: readonly (keyof LinkParams)[];
}

const m = (
  name: string,
  title: string,
  source: string,
  kind: 'protocol' | 'bound' = 'protocol',
  repeaterless = true,
): ModelInfo => ({ name, title, source, kind, repeaterless });

/** Every model and bound, by name. */
export const MODELS: Readonly<Record<string, ModelInfo>> = {
  'bb84-single-photon': m(
    'bb84-single-photon',
    'BB84 with an ideal single-photon source',
    'P. W. Shor, J. Preskill, PRL 85, 441 (2000); GLLP, QIC 4, 325 (2004)',
  ),
  'bb84-gllp': m(
    'bb84-gllp',
    'BB84 with weak coherent pulses, no decoy (GLLP)',
    'D. Gottesman, H.-K. Lo, N. Lütkenhaus, J. Preskill, QIC 4, 325 (2004)',
  ),
  'bb84-decoy-infinite': m(
    'bb84-decoy-infinite',
    'Decoy-state BB84, infinitely many decoys',
    'H.-K. Lo, X. Ma, K. Chen, PRL 94, 230504 (2005)',
  ),
  'bb84-decoy-vacuum-weak': m(
    'bb84-decoy-vacuum-weak',
    'Decoy-state BB84, vacuum + one weak decoy',
    'X. Ma, B. Qi, Y. Zhao, H.-K. Lo, PRA 72, 012326 (2005)',
  ),
  'bb84-decoy-finite': m(
    'bb84-decoy-finite',
    'Decoy-state BB84, finite key (3 intensities)',
    'C. C.-W. Lim, M. Curty, N. Walenta, F. Xu, H. Zbinden, PRA 89, 022307 (2014)',
  ),
  'tf-qkd': m(
    'tf-qkd',
    'Twin-field QKD, sending-or-not-sending, asymptotic (nu = sending probability)',
    'X.-B. Wang, Z.-W. Yu, X.-L. Hu, PRA 98, 062323 (2018); M. Lucamarini et al., Nature 557, 400 (2018)',
    'protocol',
    false,
  ),
  'pm-qkd': m(
    'pm-qkd',
    'Phase-matching QKD with phase post-compensation (M slices), asymptotic, infinite decoys',
    'X. Ma, P. Zeng, H. Zhou, PRX 8, 031043 (2018)',
    'protocol',
    false,
  ),
  'mdi-qkd': m(
    'mdi-qkd',
    'Measurement-device-independent QKD, decoy states (infinite), asymptotic',
    'H.-K. Lo, M. Curty, B. Qi, PRL 108, 130503 (2012); X. Ma, M. Razavi, PRA 86, 062319 (2012)',
  ),
  'cv-qkd-gg02': m(
    'cv-qkd-gg02',
    'CV-QKD, Gaussian-modulated coherent states, homodyne, reverse reconciliation',
    'F. Grosshans, P. Grangier, PRL 88, 057902 (2002); J. Lodewyck et al., PRA 76, 042305 (2007)',
  ),
  plob: m(
    'plob',
    'PLOB bound −log₂(1−η) (repeaterless capacity)',
    'S. Pirandola, R. Laurenza, C. Ottaviani, L. Banchi, Nat. Commun. 8, 15043 (2017)',
    'bound',
  ),
  tgw: m(
    'tgw',
    'TGW bound log₂((1+η)/(1−η))',
    'M. Takeoka, S. Guha, M. M. Wilde, Nat. Commun. 5, 5235 (2014)',
    'bound',
  ),
};

/** Looks a model up; throws QkdnetError UNKNOWN_MODEL naming the known ones. */
export function getModel(name: string): ModelInfo {
  if (!Object.hasOwn(MODELS, name)) {
    throw new QkdnetError(
      'UNKNOWN_MODEL',
      `Unknown model "${name}"; known: ${Object.keys(MODELS).join(', ')}`,
    );
  }
  return MODELS[name]!;
}

function bb84Channel(p: LinkParams, distanceKm: number): Bb84Channel {
  const pz = p.basisBiasZ;
  return {
    eta: systemTransmittance(p, distanceKm),
    y0: p.darkCountProbability,
    ed: p.misalignmentError,
    f: p.errorCorrectionEfficiency,
    q: pz * pz + (1 - pz) * (1 - pz),
    afterpulse: p.afterpulseProbability,
    deadTimeGates: p.deadTimeNs * 1e-9 * p.repetitionRateHz,
  };
}

const MU_LO = 1e-4;
const MU_HI = 1.5;

/** Maximises over an intensity unless the parameter pins it (NaN = not pinned). */
function scanUnlessPinned(
  pinnedValue: number,
  f: (x: number) => number,
  lo: number,
  hi: number,
  ...rest: [number?, number?, boolean?]
): { x: number; value: number } {
  if (!Number.isNaN(pinnedValue)) return { x: pinnedValue, value: Math.max(0, f(pinnedValue)) };
  return maximizeScan(f, lo, hi, ...rest);
}

function compute(
  model: string,
  p: LinkParams,
  distanceKm: number,
  blockSize: number,
  opts: KeyRateOptions,
): KeyRateResult {
  const muPin = param(p, 'signalIntensity');
  const nuPin = param(p, 'decoyIntensity');
  switch (model) {
    case 'plob':
      return { ratePerPulse: plobBound(channelTransmittance(p, distanceKm)) };
    case 'tgw':
      return { ratePerPulse: tgwBound(channelTransmittance(p, distanceKm)) };
    case 'bb84-single-photon': {
      const r = bb84SinglePhotonRate(bb84Channel(p, distanceKm));
      return { ratePerPulse: r.rate, qber: r.qber };
    }
    case 'bb84-gllp':
    case 'bb84-decoy-infinite': {
      const ch = bb84Channel(p, distanceKm);
      const fn = model === 'bb84-gllp' ? bb84GllpRate : bb84DecoyInfiniteRate;
      const best = scanUnlessPinned(muPin, (mu) => fn(ch, mu).rate, MU_LO, MU_HI);
      return { ratePerPulse: best.value, qber: fn(ch, best.x).qber, mu: best.x };
    }
    case 'bb84-decoy-vacuum-weak': {
      const ch = bb84Channel(p, distanceKm);
      const nuMin = Math.max(1e-4, param(p, 'decoyIntensityMin'));
      const bestNu = (mu: number) =>
        mu <= nuMin * 1.01 && Number.isNaN(nuPin)
          ? { x: nuMin, value: 0 }
          : scanUnlessPinned(
              nuPin,
              (nu) => bb84VacuumWeakRate(ch, mu, nu).rate,
              nuMin,
              mu * 0.99,
              8,
              1e-4,
              false,
            );
      const best = scanUnlessPinned(muPin, (mu) => bestNu(mu).value, MU_LO, MU_HI, 16, 1e-4);
      const nu = bestNu(best.x).x;
      return { ratePerPulse: best.value, qber: bb84VacuumWeakRate(ch, best.x, nu).qber, mu: best.x, nu };
    }
    case 'bb84-decoy-finite': {
      const mu3 = param(p, 'decoyIntensityWeakest');
      const r = optimizeFiniteKey(
        {
          eta: systemTransmittance(p, distanceKm),
          y0: p.darkCountProbability,
          ed: p.misalignmentError,
          f: p.errorCorrectionEfficiency,
          afterpulse: p.afterpulseProbability,
          blockSize,
          ...(opts.nX !== undefined ? { nX: opts.nX } : {}),
          epsSec: param(p, 'finiteEpsSec'),
          epsSecPerBit: param(p, 'finiteEpsSecPerBit'),
          epsCor: param(p, 'finiteEpsCor'),
          muMin: Math.max(mu3 > 0 ? 0 : 1e-4, param(p, 'decoyIntensityMin')),
          mu3,
        },
        {
          ...(Number.isNaN(muPin) ? {} : { mu1: muPin }),
          ...(Number.isNaN(nuPin) ? {} : { mu2: nuPin }),
          ...(opts.pinned?.includes('basisBiasZ') ? { pZ: p.basisBiasZ } : {}),
        },
      );
      return {
        ratePerPulse: r.rate,
        qber: r.qber,
        mu: r.settings.mu1,
        nu: r.settings.mu2,
        finite: { ...r.settings, mu3, pulses: r.pulses, epsSec: r.epsSec },
      };
    }
    case 'tf-qkd': {
      // Charlie sits halfway: each arm carries half the channel loss (fiber or free space).
      const armLossDb = channelLossDb(p, distanceKm) / 2;
      const ch = {
        etaArm: p.detectorEfficiency * dbToTransmittance(armLossDb),
        darkPerDetector: p.darkCountProbability / 2,
        ed: p.misalignmentError,
        f: p.errorCorrectionEfficiency,
      };
      const bestEps = (mu: number) => maximizeScan((eps) => snsTfRate(ch, mu, eps).rate, 1e-6, 0.5, 14, 1e-4);
      const best = scanUnlessPinned(muPin, (mu) => bestEps(mu).value, 0.01, 1.2, 12, 1e-4);
      const eps = bestEps(best.x).x;
      return { ratePerPulse: best.value, qber: snsTfRate(ch, best.x, eps).qber, mu: best.x, nu: eps };
    }
    case 'pm-qkd':
    case 'mdi-qkd': {
      // Charlie sits halfway: each arm carries half the channel loss and meets his detectors.
      const etaArm = p.detectorEfficiency * dbToTransmittance(channelLossDb(p, distanceKm) / 2);
      const pd = p.darkCountProbability / 2;
      const rate =
        model === 'pm-qkd'
          ? (mu: number) =>
              pmRate(
                {
                  etaArm,
                  darkPerDetector: pd,
                  ed: p.misalignmentError,
                  f: p.errorCorrectionEfficiency,
                  slices: param(p, 'pmPhaseSlices'),
                },
                mu,
              )
          : (mu: number) =>
              mdiRate(
                {
                  etaA: etaArm,
                  etaB: etaArm,
                  darkPerDetector: pd,
                  ed: p.misalignmentError,
                  f: p.errorCorrectionEfficiency,
                  pZ: p.basisBiasZ,
                },
                mu,
              );
      const best = scanUnlessPinned(muPin, (mu) => rate(mu).rate, 1e-3, 2, 16, 1e-4);
      return { ratePerPulse: best.value, qber: rate(best.x).qber, mu: best.x };
    }
    case 'cv-qkd-gg02': {
      const base = {
        transmittance: channelTransmittance(p, distanceKm),
        excessNoise: param(p, 'cvExcessNoise'),
        detectorEfficiency: param(p, 'cvDetectorEfficiency'),
        electronicNoise: param(p, 'cvElectronicNoise'),
        beta: param(p, 'cvReconciliationEfficiency'),
      };
      const best = scanUnlessPinned(
        param(p, 'cvModulationVariance'),
        (va) => gg02Rate({ ...base, modulationVariance: va }),
        0.5,
        200,
      );
      return { ratePerPulse: best.value, modulationVariance: best.x };
    }
    default:
      throw new QkdnetError(
        'UNKNOWN_MODEL',
        `Unknown model "${model}"; known: ${Object.keys(MODELS).join(', ')}`,
      );
  }
}

const CACHE = new WeakMap<LinkParams, Map<string, KeyRateResult>>();
const CACHE_LIMIT = 100_000;

/**
 * Secret key rate of `model` over `distanceKm` (fiber length, or slant range for a free-space record), bits per
 * pulse sent, with the model's intensities optimised. Throws QkdnetError UNKNOWN_MODEL and RangeError for a
 * negative distance or a block size below 1e3 pulses (the CLI accepts 1e6..1e10).
 */
export function keyRate(
  model: string,
  params: LinkParams,
  distanceKm: number,
  opts: KeyRateOptions = {},
): KeyRateResult {
  getModel(model);
  if (!(distanceKm >= 0) || !Number.isFinite(distanceKm))
    throw new RangeError(`distance must be a finite number ≥ 0 km, got ${distanceKm}`);
  const blockSize = opts.blockSize ?? 1e10;
  if (!(blockSize >= 1e3) || !Number.isFinite(blockSize))
    throw new RangeError(`blockSize must be ≥ 1e3 pulses, got ${blockSize}`);
  if (opts.nX !== undefined && !(opts.nX >= 1e2 && Number.isFinite(opts.nX)))
    throw new RangeError(`nX must be ≥ 1e2 sifted key bits, got ${opts.nX}`);
  let cache = CACHE.get(params);
  if (cache === undefined) {
    cache = new Map();
    CACHE.set(params, cache);
  }
  const finiteKey =
    model === 'bb84-decoy-finite'
      ? `${opts.nX !== undefined ? `nX${opts.nX}` : blockSize}|${opts.pinned?.includes('basisBiasZ') ? 'pz' : ''}`
      : '0';
  const key = `${model}|${distanceKm}|${finiteKey}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const r = compute(model, params, distanceKm, blockSize, opts);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, r);
  return r;
}

/**
 * Largest distance (km) with a positive key rate, to 0.01 km; Infinity for the bounds (positive at every
 * distance) and 0 when no key is possible even at 0 km. Rates fall with distance, so bisection applies.
 */
export function maxDistanceKm(model: string, params: LinkParams, opts: KeyRateOptions = {}): number {
  const info = getModel(model);
  if (info.kind === 'bound') return Infinity;
  const positive = (d: number) => keyRate(model, params, d, opts).ratePerPulse > 0;
  if (!positive(0)) return 0;
  let lo = 0;
  let hi = 50;
  while (positive(hi)) {
    lo = hi;
    hi *= 2;
    // Past 1,000 dB every transmittance is below 1e-100: a model still positive there has no maximum
    // (e.g. GG02 with excess noise referred to the channel input, whose optimal rate scales as T).
    if (channelLossDb(params, hi) > 1000) return Infinity;
  }
  while (hi - lo > 0.01) {
    const mid = (lo + hi) / 2;
    if (positive(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}
