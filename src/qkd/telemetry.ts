/**
 * What a block shows the outside world: the telemetry sample Alice and Bob can compute from their public
 * discussion (contract TelemetrySample in src/common/contracts.ts), and — kept apart — what Eve knows.
 * Telemetry time is the end of the block: startNs + N / R in integer nanoseconds.
 */
import { BitArray, NS_PER_S, popcount32, type Rng, type TelemetrySample } from '../common/index.ts';
import type { BlockModel } from './model.ts';
import { countsFromTally, sentByClassBasis, tally, type Tally } from './sift.ts';
import type { CountsByClass, EveKnowledge, LinkBlockConfig, LinkRawRecord } from './types.ts';
import { hasWatchdog, watchdogReading } from './bright-light-watchdog.ts';
import { gateEdgeDetections, hasDetectorRandomisation } from './detector-randomisation.ts';

/** Sifted error rate of one basis over all classes (0 when nothing was sifted). */
function qberOf(counts: CountsByClass, basis: 'Z' | 'X'): number {
  let sifted = 0;
  let errors = 0;
  for (const c of Object.values(counts)) {
    sifted += c[basis].sifted;
    errors += c[basis].errors;
  }
  return sifted > 0 ? errors / sifted : 0;
}

/** The block's telemetry sample. */
export function buildTelemetry(
  cfg: LinkBlockConfig,
  model: BlockModel,
  raw: LinkRawRecord,
  tallied: Tally = tally(raw),
): TelemetrySample {
  return telemetryFromCounts(cfg, model, {
    sent: sentByClassBasis(raw),
    tally: tallied,
    detections: raw.count,
    doubleClicks: raw.doubleClick.popcount(),
    bobX: raw.bobBasis.popcount(),
  });
}

/** What a block's telemetry is computed from, however the block was sampled. */
export interface BlockCounts {
  /** Pulses per (k, a, b) at k·4 + a·2 + b. */
  readonly sent: Float64Array;
  /** Detections and errors per (k, a, b). */
  readonly tally: Tally;
  readonly detections: number;
  readonly doubleClicks: number;
  /** Detections in Bob's X basis. */
  readonly bobX: number;
}

/**
 * The telemetry sample of a block from its counts — the one aggregation behind both `simulateBlock`
 * (detection by detection) and `sampleBlockCounts` (count level, count-sampler.ts).
 */
export function telemetryFromCounts(
  cfg: LinkBlockConfig,
  model: BlockModel,
  c: BlockCounts,
): TelemetrySample {
  const counts = countsFromTally(model.ctx.intensities, c.sent, c.tally);
  const durationS = cfg.pulses / model.ctx.repetitionRateHz;
  const gates = [0, 0];
  for (let i = 0; i < c.sent.length; i++) gates[i & 1]! += c.sent[i]!;
  return {
    linkId: cfg.linkId,
    timeNs: (cfg.startNs ?? 0) + Math.round(durationS * NS_PER_S),
    blockId: cfg.blockId,
    pulses: cfg.pulses,
    detections: c.detections,
    doubleClicks: c.doubleClicks,
    counts,
    qberZ: qberOf(counts, 'Z'),
    qberX: qberOf(counts, 'X'),
    detectionRateHz: durationS > 0 ? c.detections / durationS : 0,
    detectionRateByBobBasis: {
      Z: gates[0]! > 0 ? (c.detections - c.bobX) / gates[0]! : 0,
      X: gates[1]! > 0 ? c.bobX / gates[1]! : 0,
    },
    monitorPowerW: model.monitorPowerW,
    blockDurationS: durationS,
  };
}

/**
 * Adds the readings of the countermeasures the link has (bright-light watchdog, gate-timing monitor) to a
 * block's telemetry, drawn from `rng.stream('block:<id>:countermeasures')` — a stream of its own, so a link
 * without them samples exactly what it sampled before.
 */
export function withCountermeasureReadings(
  cfg: LinkBlockConfig,
  telemetry: TelemetrySample,
  rng: Rng,
): TelemetrySample {
  const watchdog = hasWatchdog(cfg);
  const gate = hasDetectorRandomisation(cfg);
  if (!watchdog && !gate) return telemetry;
  const r = rng.stream(`block:${cfg.blockId}:countermeasures`);
  const w = watchdog ? watchdogReading(cfg, r) : undefined;
  return {
    ...telemetry,
    ...(w ? { watchdogWindows: w.windows, watchdogTrips: w.trips } : {}),
    ...(gate ? { gateEdgeDetections: gateEdgeDetections(cfg, telemetry.detections ?? 0, r) } : {}),
  };
}

/** Eve's knowledge: the certain-knowledge mask, its count over Z-sifted bits, and her information. */
export function buildEve(
  cfg: LinkBlockConfig,
  model: BlockModel,
  raw: LinkRawRecord,
  known: BitArray,
): EveKnowledge {
  const pc = popcount32; // a local binding: imported ones may be getters under tsx
  let knownKeyBits = 0;
  let zSifted = 0;
  const a = raw.aliceBasis.words;
  const b = raw.bobBasis.words;
  const k = known.words;
  for (let w = 0; w < a.length; w++) {
    // Z-sifted: both bases 0. Bits past `count` are zero in every array, so mask them out via `valid`.
    const valid = w === a.length - 1 && raw.count % 32 !== 0 ? (1 << (raw.count % 32)) - 1 : 0xffffffff;
    const z = ~(a[w]! | b[w]!) & valid;
    zSifted += pc(z);
    knownKeyBits += pc(z & k[w]!);
  }
  return {
    attack: cfg.attack ?? null,
    knownMask: known,
    knownKeyBits,
    informationBits: knownKeyBits + (zSifted - knownKeyBits) * model.infoPerUnknownBit,
    details: { ...model.details, monitorPowerW: model.monitorPowerW },
  };
}
