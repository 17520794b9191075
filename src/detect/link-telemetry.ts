/**
 * Telemetry of a link block drawn at the level of counts from the link engine's own per-pulse law
 * (src/qkd `buildModel`: the weights of every detection "cell" — class k, Alice's basis a and bit x, Bob's
 * basis b and bit y, double click). Pulses are independent, so with no dead time and no afterpulses the
 * detections of a block are D ~ Binomial(N, P) and their cells Multinomial(D, w/P); the undetected pulses
 * per (k, a, b) are Multinomial(N − D, prior − detected). That is exactly the law `simulateBlock` samples
 * detection by detection (src/qkd/engine.ts says so), at ~10³ binomial draws per block instead of one
 * step per detection — what makes 10⁴ null blocks of 10⁵ sifted bits take seconds, not a quarter hour.
 * Links with dead time or afterpulses (which correlate detections) go through `simulateBlock` itself.
 * The counts are aggregated as the engine's `buildTelemetry` does; a test checks both agree.
 */
import {
  buildModel,
  sampleBinomial,
  sampleMultinomial,
  simulateBlock,
  CELL_FIELD,
  type BasisName,
  type ClassBasisCounts,
  type LinkBlockConfig,
  type Rng,
  type TelemetrySample,
} from './deps.ts';

// The link engine's packed cell layout (src/qkd/cells.ts), copied into locals for the hot loop.
const { K_MASK, A, X, B, Y, DOUBLE } = CELL_FIELD;

/** True when `sampleLinkTelemetry` draws counts directly (no dead time, no afterpulses). */
export function countLevelExact(cfg: LinkBlockConfig): boolean {
  const m = buildModel(cfg);
  return m.deadSlots === 0 && m.afterpulseProbability === 0;
}

/** One block's telemetry, with the law of `simulateBlock(cfg, rng).telemetry`. */
export function sampleLinkTelemetry(cfg: LinkBlockConfig, rng: Rng): TelemetrySample {
  return sampleLinkTelemetryWith(buildModel(cfg), cfg, rng);
}

/**
 * As `sampleLinkTelemetry`, with the engine's model built once by the caller (`buildModel(cfg)` depends on
 * everything in cfg but blockId, startNs and pulses, so it can be reused across the blocks of a run).
 */
export function sampleLinkTelemetryWith(
  model: ReturnType<typeof buildModel>,
  cfg: LinkBlockConfig,
  rng: Rng,
): TelemetrySample {
  if (model.deadSlots !== 0 || model.afterpulseProbability !== 0) return simulateBlock(cfg, rng).telemetry;
  const r = rng.stream(`block:${cfg.blockId}:telemetry`);
  const N = cfg.pulses;
  const P = model.detectProbability;
  const D = P > 0 ? sampleBinomial(N, Math.min(1, P), r) : 0;
  const cells = D > 0 ? sampleMultinomial(D, Array.from(model.weights), r) : [];
  const kab = model.priorKab.length;
  const sent = new Float64Array(kab);
  const classes = model.ctx.intensities;
  const counts: Record<string, Record<BasisName, ClassBasisCounts>> = {};
  for (const c of classes)
    counts[c.name] = {
      Z: { sent: 0, detected: 0, sifted: 0, errors: 0 },
      X: { sent: 0, detected: 0, sifted: 0, errors: 0 },
    };
  let doubleClicks = 0;
  let bobX = 0;
  for (let i = 0; i < cells.length; i++) {
    const n = cells[i]!;
    if (n === 0) continue;
    const f = model.fields[i]!;
    const k = f & K_MASK;
    const a = f & A ? 1 : 0;
    const b = f & B ? 1 : 0;
    sent[k * 4 + a * 2 + b]! += n;
    const cc = counts[classes[k]!.name]![a ? 'X' : 'Z'];
    cc.detected += n;
    if (a === b) {
      cc.sifted += n;
      if (Boolean(f & X) !== Boolean(f & Y)) cc.errors += n;
    }
    if (f & DOUBLE) doubleClicks += n;
    if (b) bobX += n;
  }
  const undetected = Array.from(model.priorKab, (p, i) => Math.max(0, p - model.detectedKab[i]!));
  const rest = sampleMultinomial(N - D, undetected, r);
  const gates = [0, 0];
  for (let i = 0; i < kab; i++) {
    sent[i]! += rest[i]!;
    gates[i & 1]! += sent[i]!;
  }
  classes.forEach((c, k) => {
    counts[c.name]!.Z.sent = sent[k * 4]! + sent[k * 4 + 1]!;
    counts[c.name]!.X.sent = sent[k * 4 + 2]! + sent[k * 4 + 3]!;
  });
  const durationS = N / model.ctx.repetitionRateHz;
  const qber = (basis: BasisName) => {
    let s = 0;
    let e = 0;
    for (const c of Object.values(counts)) {
      s += c[basis].sifted;
      e += c[basis].errors;
    }
    return s > 0 ? e / s : 0;
  };
  return {
    linkId: cfg.linkId,
    timeNs: (cfg.startNs ?? 0) + Math.round(durationS * 1e9),
    blockId: cfg.blockId,
    pulses: N,
    detections: D,
    doubleClicks,
    counts,
    qberZ: qber('Z'),
    qberX: qber('X'),
    detectionRateHz: durationS > 0 ? D / durationS : 0,
    detectionRateByBobBasis: {
      Z: gates[0]! > 0 ? (D - bobX) / gates[0]! : 0,
      X: gates[1]! > 0 ? bobX / gates[1]! : 0,
    },
    monitorPowerW: model.monitorPowerW,
    blockDurationS: durationS,
  };
}
