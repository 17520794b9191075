/**
 * The measurement behind `qkdnet detect evaluate`: how often, how fast and at what false-alarm cost the
 * detectors catch an attack. Neyman–Pearson style: the false-alarm rate is measured on M attack-free
 * blocks; the detection probability on N attacked trials, each a fresh calibrated engine facing the attack
 * from its first block, counted as detected when a blocking alert (abort, quarantine) comes within
 * `detectWithinBlocks` blocks. Trials continue `afterDetectionBlocks` past the first alarm to check that
 * no attacked block's key reaches a store once detected (quarantine aborts them).
 *
 * The harness is pure: a `BlockSimulator` (the link engine's simulateBlock in the CLI, synthetic telemetry
 * in unit tests) supplies telemetry, and every random stream is derived from one seed.
 */
import type { AttackKind, Rng, TelemetrySample } from './deps.ts';
import { ATTACK_DEFAULTS, ATTACK_KINDS, createRng } from './deps.ts';
import { modelFromTelemetry, siftedPerPulse, type CalibratedModel } from './model.ts';
import { DetectionEngine } from './engine.ts';
import { trainAnomalyDetector, type AnomalyDetector } from './anomaly.ts';
import type { QuantumDetectorConfig } from './quantum-detectors.ts';

/**
 * Default strength per attack in `qkdnet detect evaluate`: the link engine's defaults, except
 * intercept-resend on 5% of pulses (the benchmark case; the engine's default intercepts every pulse).
 */
export const EVALUATE_DEFAULT_STRENGTH: Readonly<Record<AttackKind, number>> = {
  ...(Object.fromEntries(ATTACK_KINDS.map((k) => [k, ATTACK_DEFAULTS[k].param])) as Record<
    AttackKind,
    number
  >),
  'intercept-resend': 0.05,
};

/**
 * One simulated block: its telemetry and, for attacked blocks, the key its finite-key estimate would
 * distil and how many of those bits the attacker holds (src/qkd insecure-key.ts; absent: 0).
 */
export interface SimulatedBlock {
  readonly telemetry: TelemetrySample;
  readonly keyBits?: number;
  readonly insecureKeyBits?: number;
}

/** Produces one block; `attacked` selects the attack under evaluation. */
export type BlockSimulator = (
  block: { blockId: number; pulses: number; attacked: boolean },
  rng: Rng,
) => SimulatedBlock;

/** Options of an evaluation. */
export interface EvaluationOptions {
  readonly attack: string;
  readonly strength: number;
  readonly trials: number;
  readonly nullBlocks: number;
  readonly seed: number | string;
  /** Attack-free blocks pooled into the calibrated model (and the anomaly model's training). */
  readonly calibrationBlocks?: number;
  /** Sifted bits per block the block size is chosen for (default 10⁵). */
  readonly targetSiftedBits?: number;
  /** Pulses per block; default: sized from a pilot block for `targetSiftedBits`. */
  readonly pulses?: number;
  readonly detectWithinBlocks?: number;
  /** Trials that are not detected within this many blocks are counted as missed. */
  readonly maxBlocksPerTrial?: number;
  readonly afterDetectionBlocks?: number;
  readonly quantum?: Partial<QuantumDetectorConfig>;
  /** Called with (done, total) as blocks are simulated. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** The figures the CLI prints (snake_case: they are the JSON output). */
export interface EvaluationResult {
  readonly attack: string;
  readonly strength: number;
  readonly trials: number;
  readonly detection_probability: number;
  readonly mean_blocks_to_detect: number | null;
  readonly false_alarm_rate_per_block: number;
  readonly keys_from_attacked_blocks: number;
  readonly attacked_blocks_with_key_before_detection: number;
  /**
   * Final key bits distilled from attacked blocks that passed the detectors (before detection), summed over
   * the trials, by each block's finite-key estimate.
   */
  readonly attacked_key_bits: number;
  /**
   * Of those, bits the attacker holds: her information (the link engine's `eve_known_bits` plus partial
   * information) beyond what the finite-key estimate accounted for (src/qkd insecure-key.ts).
   */
  readonly insecure_key_bits: number;
  readonly null_blocks: number;
  readonly false_alarm_budget_per_block: number;
  readonly detect_within_blocks: number;
  readonly pulses_per_block: number;
  readonly sifted_bits_per_block: number;
  readonly calibration_blocks: number;
  readonly anomaly_detection_probability: number;
  readonly anomaly_false_alarm_rate_per_block: number;
  readonly alert_kinds: Readonly<Record<string, number>>;
  /**
   * Trials per attributed attack class at the block that detected the attack (src/detect/attribution.ts);
   * `none` counts trials not detected within `max_blocks_per_trial`.
   */
  readonly attributed_as: Readonly<Record<string, number>>;
  /** Fraction of the detected trials attributed to the injected attack (null when none was detected). */
  readonly attribution_accuracy: number | null;
  /** Trials in which each detector fired on the detecting block. */
  readonly detectors: Readonly<Record<string, number>>;
  /** False alarms on the attack-free blocks by attributed class (the null row of the confusion matrix). */
  readonly null_attributed_as: Readonly<Record<string, number>>;
  readonly seed: number | string;
}

/** Stored telemetry of an evaluation, for ROC curves over thresholds without re-simulating. */
export interface EvaluationData {
  readonly model: CalibratedModel;
  readonly anomaly: AnomalyDetector;
  readonly nullSamples: readonly TelemetrySample[];
  readonly trialSamples: readonly (readonly TelemetrySample[])[];
  /** Per trial and block: [key bits, insecure key bits] the block would give if it passed. */
  readonly trialKeys: readonly (readonly (readonly [number, number])[])[];
}

/**
 * What an evaluation learns from attack-free blocks alone — the block size, the calibrated model, the
 * anomaly model and the null blocks — reusable across attacks and strengths on the same link and seed.
 */
export interface EvaluationBaseline {
  readonly pulses: number;
  readonly calibrationBlocks: number;
  readonly model: CalibratedModel;
  readonly anomaly: AnomalyDetector;
  readonly nullSamples: readonly TelemetrySample[];
}

/**
 * Runs the evaluation; returns the result and the data (for `rocCurve`). With `baseline` (from an earlier
 * run on the same link, seed and sizes) the attack-free part is not simulated again.
 */
export function evaluateDetection(
  simulate: BlockSimulator,
  o: EvaluationOptions,
  baseline?: EvaluationBaseline,
): { result: EvaluationResult; data: EvaluationData; baseline: EvaluationBaseline } {
  const root = createRng(o.seed);
  const within = o.detectWithinBlocks ?? 3;
  const maxBlocks = Math.max(within, o.maxBlocksPerTrial ?? 10);
  const after = o.afterDetectionBlocks ?? 2;
  const base = baseline ?? makeBaseline(simulate, o, root);
  const { pulses, model, anomaly, nullSamples } = base;
  const cal = base.calibrationBlocks;
  const total = o.trials * (maxBlocks + after);
  let done = 0;
  const tick = () => o.onProgress?.(++done, total);
  const trialSamples: TelemetrySample[][] = [];
  const trialKeys: (readonly [number, number])[][] = [];
  for (let t = 0; t < o.trials; t++) {
    const rng = root.stream(`trial:${t}`);
    const samples: TelemetrySample[] = [];
    const keys: (readonly [number, number])[] = [];
    const engine = new DetectionEngine(o.quantum ? { quantum: o.quantum } : {});
    let detectedAt = -1;
    for (let b = 0; b < maxBlocks + after; b++) {
      if (detectedAt < 0 && b >= maxBlocks) break;
      if (detectedAt >= 0 && b > detectedAt + after) break;
      const block = simulate({ blockId: b, pulses, attacked: true }, rng);
      const s = block.telemetry;
      tick();
      samples.push(s);
      keys.push([block.keyBits ?? 0, block.insecureKeyBits ?? 0]);
      if (b === 0) engine.addLink(s.linkId, model);
      if (detectedAt < 0 && engine.observe(s).abortBlock) detectedAt = b;
    }
    trialSamples.push(samples);
    trialKeys.push(keys);
  }
  const scored = scoreRun(model, nullSamples, trialSamples, anomaly, within, o.quantum, trialKeys);
  const result: EvaluationResult = {
    attack: o.attack,
    strength: o.strength,
    trials: o.trials,
    detection_probability: scored.detectionProbability,
    mean_blocks_to_detect: scored.meanBlocksToDetect,
    false_alarm_rate_per_block: scored.falseAlarmRate,
    keys_from_attacked_blocks: scored.keysAfterDetection,
    attacked_blocks_with_key_before_detection: scored.keysBeforeDetection,
    attacked_key_bits: scored.keyBitsBeforeDetection,
    insecure_key_bits: scored.insecureBitsBeforeDetection,
    null_blocks: o.nullBlocks,
    false_alarm_budget_per_block: o.quantum?.falseAlarmPerBlock ?? 1e-3,
    detect_within_blocks: within,
    pulses_per_block: pulses,
    sifted_bits_per_block: Math.round(siftedPerPulse(model) * pulses),
    calibration_blocks: cal,
    anomaly_detection_probability: scored.anomalyDetectionProbability,
    anomaly_false_alarm_rate_per_block: anomaly.measuredFalseAlarmRate,
    alert_kinds: scored.alertKinds,
    attributed_as: scored.attributedAs,
    attribution_accuracy: attributionAccuracy(o.attack, scored.attributedAs),
    detectors: scored.detectors,
    null_attributed_as: scored.nullAttributedAs,
    seed: o.seed,
  };
  return { result, data: { model, anomaly, nullSamples, trialSamples, trialKeys }, baseline: base };
}

/** The attack-free part of an evaluation: pilot block, calibration, null blocks, anomaly model. */
function makeBaseline(simulate: BlockSimulator, o: EvaluationOptions, root: Rng): EvaluationBaseline {
  const cal = o.calibrationBlocks ?? 2000;
  const pulses = o.pulses ?? pilotPulses(simulate, root.stream('pilot'), o.targetSiftedBits ?? 1e5);
  const total = cal + o.nullBlocks;
  let done = 0;
  const tick = () => o.onProgress?.(++done, total);
  const calRng = root.stream('calibration');
  const calibration = Array.from({ length: cal }, (_, i) => {
    tick();
    return simulate({ blockId: i, pulses, attacked: false }, calRng).telemetry;
  });
  const model = modelFromTelemetry(calibration);
  const nullRng = root.stream('null');
  const nullSamples = Array.from({ length: o.nullBlocks }, (_, i) => {
    tick();
    return simulate({ blockId: cal + i, pulses, attacked: false }, nullRng).telemetry;
  });
  const anomaly = trainAnomalyDetector(model, calibration, nullSamples, root.stream('anomaly'), 1e-3);
  return { pulses, calibrationBlocks: cal, model, anomaly, nullSamples };
}

/** Pulses for `targetSifted` sifted bits, measured on a 10⁷-pulse attack-free pilot block. */
function pilotPulses(simulate: BlockSimulator, rng: Rng, targetSifted: number): number {
  const pilotPulses = 1e7;
  const s = simulate({ blockId: -1, pulses: pilotPulses, attacked: false }, rng).telemetry;
  let sifted = 0;
  for (const c of Object.values(s.counts ?? {})) sifted += c.Z.sifted + c.X.sifted;
  if (sifted === 0)
    throw new RangeError('the pilot block produced no sifted bits: the link is too lossy to evaluate');
  return Math.ceil((targetSifted / sifted) * pilotPulses);
}

interface Scored {
  detectionProbability: number;
  meanBlocksToDetect: number | null;
  falseAlarmRate: number;
  keysAfterDetection: number;
  keysBeforeDetection: number;
  keyBitsBeforeDetection: number;
  insecureBitsBeforeDetection: number;
  anomalyDetectionProbability: number;
  alertKinds: Record<string, number>;
  attributedAs: Record<string, number>;
  detectors: Record<string, number>;
  nullAttributedAs: Record<string, number>;
}

/** Fraction of detected trials attributed to `attack` (null when no trial was detected). */
export function attributionAccuracy(
  attack: string,
  attributedAs: Readonly<Record<string, number>>,
): number | null {
  let detected = 0;
  for (const [k, n] of Object.entries(attributedAs)) if (k !== 'none') detected += n;
  return detected > 0 ? (attributedAs[attack] ?? 0) / detected : null;
}

const bump = (r: Record<string, number>, k: string) => (r[k] = (r[k] ?? 0) + 1);

/** Replays stored telemetry through fresh engines at one detector configuration. */
export function scoreRun(
  model: CalibratedModel,
  nullSamples: readonly TelemetrySample[],
  trials: readonly (readonly TelemetrySample[])[],
  anomaly: AnomalyDetector | undefined,
  within: number,
  quantum: Partial<QuantumDetectorConfig> | undefined,
  trialKeys?: readonly (readonly (readonly [number, number])[])[],
): Scored {
  const opts = quantum ? { quantum } : {};
  const nullEngine = new DetectionEngine(opts);
  let falseAlarms = 0;
  const nullAttributedAs: Record<string, number> = {};
  for (const [i, s] of nullSamples.entries()) {
    if (i === 0) nullEngine.addLink(s.linkId, model);
    const v = nullEngine.observe(s);
    if (v.abortBlock) {
      falseAlarms++;
      bump(nullAttributedAs, v.attribution?.attack ?? 'unknown-anomaly');
      nullEngine.restoreLink(s.linkId, s.timeNs); // the operator finds nothing and restores the link
    }
  }
  let detected = 0;
  let everDetected = 0;
  let blocksSum = 0;
  let anomalyDetected = 0;
  let keysAfter = 0;
  let keysBefore = 0;
  let keyBits = 0;
  let insecureBits = 0;
  const kinds: Record<string, number> = {};
  const attributedAs: Record<string, number> = {};
  const detectors: Record<string, number> = {};
  for (const [t, samples] of trials.entries()) {
    const engine = new DetectionEngine(opts);
    let at = -1;
    let anomalyAt = -1;
    samples.forEach((s, b) => {
      if (b === 0) engine.addLink(s.linkId, model);
      const v = engine.observe(s);
      if (at < 0) for (const a of v.alerts) kinds[a.kind] = (kinds[a.kind] ?? 0) + 1;
      if (v.abortBlock && at < 0) {
        at = b;
        bump(attributedAs, v.attribution?.attack ?? 'unknown-anomaly');
        for (const d of new Set(
          v.attribution?.evidence.map((e) => e.detector) ?? v.alerts.map((a) => a.kind),
        ))
          bump(detectors, d);
      }
      if (!v.abortBlock) {
        if (at < 0) {
          keysBefore++;
          keyBits += trialKeys?.[t]?.[b]?.[0] ?? 0;
          insecureBits += trialKeys?.[t]?.[b]?.[1] ?? 0;
        } else keysAfter++;
      }
      if (anomalyAt < 0 && anomaly && anomaly.observe(s).length > 0) anomalyAt = b;
    });
    if (at < 0) bump(attributedAs, 'none');
    if (at >= 0 && at < within) detected++;
    if (at >= 0) {
      everDetected++;
      blocksSum += at + 1;
    }
    if (anomalyAt >= 0 && anomalyAt < within) anomalyDetected++;
  }
  const n = trials.length;
  return {
    detectionProbability: n > 0 ? detected / n : Number.NaN,
    meanBlocksToDetect: everDetected > 0 ? blocksSum / everDetected : null,
    falseAlarmRate: nullSamples.length > 0 ? falseAlarms / nullSamples.length : Number.NaN,
    keysAfterDetection: keysAfter,
    keysBeforeDetection: keysBefore,
    keyBitsBeforeDetection: keyBits,
    insecureBitsBeforeDetection: insecureBits,
    anomalyDetectionProbability: n > 0 ? anomalyDetected / n : Number.NaN,
    alertKinds: kinds,
    attributedAs,
    detectors,
    nullAttributedAs,
  };
}

/** One operating point of the ROC curve. */
export interface RocPoint {
  /** The false-alarm budget per block the detectors were set to. */
  readonly budget: number;
  readonly falseAlarmRate: number;
  readonly detectionProbability: number;
}

/** The false-alarm budgets a ROC curve sweeps by default. */
export const ROC_BUDGETS: readonly number[] = [1e-9, 1e-7, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3];

/**
 * The ROC curve over thresholds: the stored telemetry replayed with the false-alarm budget swept over
 * `budgets` (every threshold of every test moves with it), giving measured (false-alarm rate, detection
 * probability) pairs.
 */
export function rocCurve(
  data: EvaluationData,
  within: number,
  budgets: readonly number[] = ROC_BUDGETS,
  base: Partial<QuantumDetectorConfig> = {},
): RocPoint[] {
  return budgets.map((budget) => {
    const r = scoreRun(data.model, data.nullSamples, data.trialSamples, undefined, within, {
      ...base,
      falseAlarmPerBlock: budget,
    });
    return { budget, falseAlarmRate: r.falseAlarmRate, detectionProbability: r.detectionProbability };
  });
}

/** One detector's ROC curve: its own firing rate on attack-free blocks against its detection probability. */
export interface DetectorRoc {
  /** Alert kind of the detector (`qber-high`, `decoy-inconsistent`, …). */
  readonly detector: string;
  readonly points: readonly RocPoint[];
}

/**
 * ROC curves per detector: at each budget, a detector's false-alarm rate is the fraction of attack-free
 * blocks on which it fired, and its detection probability the fraction of trials in which it fired within
 * `within` blocks. Every block is examined (the link is restored after each blocking alert), so one
 * detector's alarm does not hide another's. Detectors that never fire on the trials are left out.
 */
export function detectorRocCurves(
  data: EvaluationData,
  within: number,
  budgets: readonly number[] = ROC_BUDGETS,
  base: Partial<QuantumDetectorConfig> = {},
): DetectorRoc[] {
  const perBudget = budgets.map((budget) => {
    const quantum = { ...base, falseAlarmPerBlock: budget };
    const fired = (samples: readonly TelemetrySample[], each: (kinds: Set<string>) => void) => {
      const engine = new DetectionEngine({ quantum });
      samples.forEach((s, i) => {
        if (i === 0) engine.addLink(s.linkId, data.model);
        const v = engine.observe(s);
        each(new Set(v.alerts.map((a) => a.kind)));
        if (v.abortBlock) engine.restoreLink(s.linkId, s.timeNs);
      });
    };
    const nullFired: Record<string, number> = {};
    fired(data.nullSamples, (kinds) => kinds.forEach((k) => bump(nullFired, k)));
    const trialFired: Record<string, number> = {};
    for (const samples of data.trialSamples) {
      const seen = new Set<string>();
      fired(samples.slice(0, within), (kinds) => kinds.forEach((k) => seen.add(k)));
      seen.forEach((k) => bump(trialFired, k));
    }
    return { budget, nullFired, trialFired };
  });
  const detectors = [...new Set(perBudget.flatMap((b) => Object.keys(b.trialFired)))].sort();
  return detectors.map((detector) => ({
    detector,
    points: perBudget.map((b) => ({
      budget: b.budget,
      falseAlarmRate: (b.nullFired[detector] ?? 0) / Math.max(1, data.nullSamples.length),
      detectionProbability: (b.trialFired[detector] ?? 0) / Math.max(1, data.trialSamples.length),
    })),
  }));
}
