/**
 * `npm run bench -- detect [blocks]`: the cost of threat detection per block of 10⁵ sifted bits.
 *
 *  1. Detectors: `QuantumDetectors.observe` (all 47 tests + CUSUM/SPRT) on stored attack-free telemetry,
 *     against a baseline that computes every exact binomial tail without the normal-approximation gate
 *     (binomial-test.ts) — same tests, same answers, measured side by side on the same blocks.
 *  2. Telemetry: count-level sampling of the link engine's law (link-telemetry.ts) against the engine's
 *     detection-by-detection `simulateBlock` — the baseline it replaces in `qkdnet detect evaluate`.
 *  3. The whole `detect evaluate` run at its defaults (intercept-resend 5%, 100 trials, 10⁴ null blocks).
 * Inputs are built outside the timed regions. Sanity checks: both samplers give mean detections within 5%;
 * the evaluation still detects every trial. Alarm counts of both detector paths are reported (the baseline
 * runs only the per-class tests, at the same per-test level). Writes bench/results/detect.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createRng } from '../src/common/index.ts';
import { PRESETS } from '../src/physics/index.ts';
import { buildModel, sampleBlockCounts, simulateBlock } from '../src/qkd/index.ts';
import {
  binomialLowerTail,
  binomialUpperTail,
  evaluateDetection,
  modelFromTelemetry,
  linkBlockSimulator,
  QuantumDetectors,
  type CalibratedModel,
} from '../src/detect/index.ts';
import type { TelemetrySample } from '../src/common/index.ts';

const blocks = Number(process.argv[2] ?? 2000);
if (!Number.isInteger(blocks) || blocks < 100)
  throw new RangeError(`blocks must be an integer ≥ 100, got ${process.argv[2]}`);
const base = { params: PRESETS.gys!.params, distanceKm: 25, linkId: 'alice-bob' };
const pulses = 40_441_623; // ≈ 10⁵ sifted bits at 25 km (qkdnet detect evaluate sizes blocks the same way)
const model = buildModel({ ...base, blockId: 0, pulses });
const gen = (i: number) =>
  sampleBlockCounts({ ...base, blockId: i, pulses }, createRng(`b${i}`), model).telemetry;
const calibrated = modelFromTelemetry(Array.from({ length: 2000 }, (_, i) => gen(i))); // as detect evaluate
const samples = Array.from({ length: blocks }, (_, i) => gen(2000 + i));

/** Baseline: every test's exact tails, no gate. Returns the number of blocks with an alarm. */
function naiveDetect(m: CalibratedModel, ss: readonly TelemetrySample[], alpha: number): number {
  let alarms = 0;
  for (const s of ss) {
    let alarm = false;
    for (const c of m.classes)
      for (const b of ['Z', 'X'] as const) {
        const k = s.counts![c.name]![b];
        for (const [o, n, p] of [
          [k.errors, k.sifted, c.errorProb[b]],
          [k.detected, k.sent, c.detectProb[b]],
          [k.sifted, k.detected, c.siftProb[b]],
        ] as const)
          if (binomialUpperTail(o, n, p) <= alpha || binomialLowerTail(o, n, p) <= alpha) alarm = true;
      }
    if (alarm) alarms++;
  }
  return alarms;
}

function time<T>(f: () => T): { ms: number; value: T } {
  const t = performance.now();
  const value = f();
  return { ms: performance.now() - t, value };
}

const det = new QuantumDetectors(calibrated);
const ours = time(() => samples.reduce((a, s) => a + (det.observe(s).length > 0 ? 1 : 0), 0));
const naive = time(() => naiveDetect(calibrated, samples, det.perTestAlpha));
const eng = 20;
const engine = time(() =>
  Array.from(
    { length: eng },
    (_, i) => simulateBlock({ ...base, blockId: i, pulses }, createRng(`e${i}`)).telemetry,
  ),
);
const counts = time(() =>
  Array.from(
    { length: eng * 10 },
    (_, i) => sampleBlockCounts({ ...base, blockId: i, pulses }, createRng(`c${i}`), model).telemetry,
  ),
);
const meanDet = (ts: readonly TelemetrySample[]) => ts.reduce((a, t) => a + t.detections!, 0) / ts.length;
if (Math.abs(meanDet(engine.value) / meanDet(counts.value) - 1) > 0.05)
  throw new Error('sanity: the two samplers disagree on mean detections');
const full = time(() =>
  evaluateDetection(linkBlockSimulator({ ...base, attack: { kind: 'intercept-resend', param: 0.05 } }), {
    attack: 'intercept-resend',
    strength: 0.05,
    trials: 100,
    nullBlocks: 10_000,
    seed: 1,
  }),
);
if (full.value.result.detection_probability < 0.99) throw new Error('sanity: evaluation lost its detections');

const perBlock = (ms: number, n: number) => +((ms * 1000) / n).toFixed(1);
const result = {
  benchmark: 'detect',
  what: 'threat detection per block of ~1e5 sifted bits (GYS preset, 25 km)',
  blocks,
  detectors: {
    ours_us_per_block: perBlock(ours.ms, blocks),
    baseline_exact_tails_us_per_block: perBlock(naive.ms, blocks),
    speedup: +(naive.ms / ours.ms).toFixed(1),
    alarms_ours: ours.value,
    alarms_baseline: naive.value,
    tests_per_block: det.testCount,
  },
  telemetry: {
    count_level_us_per_block: perBlock(counts.ms, eng * 10),
    engine_simulateBlock_us_per_block: perBlock(engine.ms, eng),
    speedup: +(engine.ms / eng / (counts.ms / (eng * 10))).toFixed(1),
  },
  evaluate_default_run: {
    seconds: +(full.ms / 1000).toFixed(2),
    null_blocks: 10_000,
    trials: 100,
    calibration_blocks: full.value.result.calibration_blocks,
    target: 'a default run (10^4 null blocks) in well under a minute',
    met: full.ms < 60_000,
  },
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, os: `${os.platform()} ${os.release()}` },
  node: process.version,
  commit: execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim(),
  date: new Date().toISOString(),
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/detect.json', `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
