/**
 * A block drawn at the level of counts from the engine's own per-pulse law (model.ts: the weights of every
 * detection "cell" — class k, Alice's basis a and bit x, Bob's basis b and bit y, double click, Eve knows).
 * Pulses are independent, so with no dead time and no afterpulses the detections of a block are
 * D ~ Binomial(N, P) and their cells Multinomial(D, w/P); the undetected pulses per (k, a, b) are
 * Multinomial(N − D, prior − detected). That is exactly the law `simulateBlock` samples detection by
 * detection, at ~10³ binomial draws per block instead of one step per detection — what lets the detectors
 * be evaluated on 10⁴ blocks of 10⁵ sifted bits in seconds. Links with dead time or afterpulses (which
 * correlate detections) go through `simulateBlock` itself. Telemetry is assembled by `telemetryFromCounts`,
 * the aggregation `simulateBlock` uses; Eve's information is counted as `buildEve` counts it (Z-sifted
 * detections she knows, plus the partial information per unknown bit). src/qkd/count-sampler.test.ts
 * checks both against the engine.
 */
import { sampleBinomial, sampleMultinomial, type Rng, type TelemetrySample } from '../common/index.ts';
import { simulateBlock } from './engine.ts';
import { FIELD } from './cells.ts';
import { buildModel, type BlockModel } from './model.ts';
import { sentByClassBasis, tally } from './sift.ts';
import { telemetryFromCounts, withCountermeasureReadings, type BlockCounts } from './telemetry.ts';
import type { LinkBlockConfig } from './types.ts';

const { K_MASK, A, X, B, Y, DOUBLE, KNOWN } = FIELD;

/** What a count-level block yields: the public telemetry and, kept apart, Eve's information. */
export interface CountBlock {
  readonly telemetry: TelemetrySample;
  /** The counts the telemetry was assembled from (for the finite-key estimate, insecure-key.ts). */
  readonly counts: BlockCounts;
  /** Z-basis sifted bits Eve knows with certainty (`EveKnowledge.knownKeyBits`). */
  readonly eveKnownBits: number;
  /** Eve's information about the Z-basis sifted key, bits (`EveKnowledge.informationBits`). */
  readonly eveInformationBits: number;
}

/** True when `sampleBlockCounts` draws counts directly (no dead time, no afterpulses). */
export function countLevelExact(cfg: LinkBlockConfig): boolean {
  const m = buildModel(cfg);
  return m.deadSlots === 0 && m.afterpulseProbability === 0;
}

/**
 * One block with the law of `simulateBlock(cfg, rng)` (its telemetry and Eve's counts). `model` is
 * `buildModel(cfg)`, which depends on everything in cfg but blockId, startNs and pulses, so a caller may
 * build it once per run. The stream is `rng.stream('block:<id>:telemetry')`. `exact` draws the block with
 * `simulateBlock` (detection by detection) whatever the link.
 */
export function sampleBlockCounts(
  cfg: LinkBlockConfig,
  rng: Rng,
  model: BlockModel = buildModel(cfg),
  opts: { readonly exact?: boolean } = {},
): CountBlock {
  if (opts.exact || model.deadSlots !== 0 || model.afterpulseProbability !== 0) {
    const b = simulateBlock(cfg, rng);
    const t = tally(b.raw);
    return {
      telemetry: b.telemetry,
      counts: {
        sent: sentByClassBasis(b.raw),
        tally: t,
        detections: b.raw.count,
        doubleClicks: b.telemetry.doubleClicks ?? 0,
        bobX: b.raw.bobBasis.popcount(),
      },
      eveKnownBits: b.eve.knownKeyBits,
      eveInformationBits: b.eve.informationBits,
    };
  }
  const r = rng.stream(`block:${cfg.blockId}:telemetry`);
  const N = cfg.pulses;
  const P = model.detectProbability;
  const D = P > 0 ? sampleBinomial(N, Math.min(1, P), r) : 0;
  const cells = D > 0 ? sampleMultinomial(D, Array.from(model.weights), r) : [];
  const kab = model.priorKab.length;
  const sent = new Float64Array(kab);
  const detected = new Float64Array(kab);
  const errors = new Float64Array(kab);
  let doubleClicks = 0;
  let bobX = 0;
  let zSifted = 0;
  let known = 0;
  for (let i = 0; i < cells.length; i++) {
    const n = cells[i]!;
    if (n === 0) continue;
    const f = model.fields[i]!;
    const a = f & A ? 1 : 0;
    const b = f & B ? 1 : 0;
    const j = (f & K_MASK) * 4 + a * 2 + b;
    detected[j]! += n;
    sent[j]! += n;
    if (Boolean(f & X) !== Boolean(f & Y)) errors[j]! += n;
    if (f & DOUBLE) doubleClicks += n;
    if (b) bobX += n;
    if (a === 0 && b === 0) {
      zSifted += n;
      if (f & KNOWN) known += n;
    }
  }
  const undetected = Array.from(model.priorKab, (p, i) => Math.max(0, p - model.detectedKab[i]!));
  const rest = sampleMultinomial(N - D, undetected, r);
  for (let i = 0; i < kab; i++) sent[i]! += rest[i]!;
  const counts = { sent, tally: { detected, errors }, detections: D, doubleClicks, bobX };
  return {
    telemetry: withCountermeasureReadings(cfg, telemetryFromCounts(cfg, model, counts), rng),
    counts,
    eveKnownBits: known,
    eveInformationBits: known + (zSifted - known) * model.infoPerUnknownBit,
  };
}
