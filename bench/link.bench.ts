/**
 * `npm run bench -- link [reps]`: the link engine (src/qkd simulateBlock) on the GYS preset.
 *
 * 1. Target: 10¹⁰ pulses at 50 km in ≤ 1 s on one core — wall and CPU time of `simulateBlock`,
 *    best and median of `reps` runs; pulses/s and detections/s; sifting + estimation timed apart.
 * 2. Cost follows detections: 10¹⁰ pulses at 50…200 km; ns per detection stays flat while ns per pulse
 *    falls with the detections.
 * 3. Baseline, side by side in the same run: a naive loop that visits every pulse (one uniform per pulse
 *    against the same per-pulse detection probability, then the same alias draw for detected pulses — the
 *    cheapest possible per-pulse simulator), run on 2·10⁷ pulses and extrapolated linearly to 10¹⁰.
 * Sanity: detections within 5σ of N·P for every run; the naive loop's detection rate within 5σ of P.
 * Inputs (configs, models, seeds) are built outside the timed regions. Writes bench/results/link.json.
 */
import { AliasTable, createRng } from '../src/common/index.ts';
import { PRESETS } from '../src/physics/index.ts';
import { buildModel, estimate, sift, simulateBlock, type LinkBlockConfig } from '../src/qkd/index.ts';
import { benchContext, writeBenchResult } from './meta.ts';

const reps = Number(process.argv[2] ?? 5);
if (!Number.isInteger(reps) || reps < 1)
  throw new RangeError(`reps must be a positive integer, got ${process.argv[2]}`);
const params = PRESETS.gys!.params;
const PULSES = 1e10;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function timed<T>(f: () => T): { value: T; wallMs: number; cpuMs: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const c0 = cpuMs();
  const t0 = performance.now();
  const value = f();
  return { value, wallMs: performance.now() - t0, cpuMs: cpuMs() - c0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function checkCount(count: number, cfg: LinkBlockConfig): void {
  const mean = cfg.pulses * buildModel(cfg).detectProbability;
  if (Math.abs(count - mean) > 5 * Math.sqrt(mean) + 1)
    throw new Error(
      `sanity: ${count} detections, expected ${mean.toFixed(0)} ± ${Math.sqrt(mean).toFixed(0)}`,
    );
}

function runEngine(distanceKm: number, n: number) {
  const cfg: LinkBlockConfig = { linkId: 'bench', blockId: 0, pulses: PULSES, params, distanceKm };
  const seeds = Array.from({ length: n }, (_, i) => createRng(`bench:${distanceKm}:${i}`));
  const wall: number[] = [];
  const cpu: number[] = [];
  let detections = 0;
  let siftMs = 0;
  for (const rng of seeds) {
    const r = timed(() => simulateBlock(cfg, rng));
    checkCount(r.value.raw.count, cfg);
    wall.push(r.wallMs);
    cpu.push(r.cpuMs);
    detections = r.value.raw.count;
    siftMs = timed(() => estimate(sift(r.value.raw), r.value.raw)).cpuMs;
  }
  const best = Math.min(...cpu);
  return {
    distance_km: distanceKm,
    pulses: PULSES,
    detections,
    wall_ms_best: +Math.min(...wall).toFixed(1),
    wall_ms_median: +median(wall).toFixed(1),
    cpu_ms_best: +best.toFixed(1),
    cpu_ms_median: +median(cpu).toFixed(1),
    pulses_per_s: +(PULSES / (best / 1000)).toExponential(3),
    detections_per_s: +(detections / (best / 1000)).toExponential(3),
    ns_per_detection: +((best * 1e6) / Math.max(1, detections)).toFixed(1),
    ns_per_pulse: +((best * 1e6) / PULSES).toExponential(3),
    sift_estimate_cpu_ms: +siftMs.toFixed(1),
  };
}

/** The naive per-pulse loop on `pulses` pulses, with the engine's own model at 50 km. */
function runNaive(pulses: number) {
  const cfg: LinkBlockConfig = { linkId: 'bench', blockId: 0, pulses, params, distanceKm: 50 };
  const model = buildModel(cfg);
  const table = new AliasTable(model.weights);
  const rng = createRng('naive');
  const P = model.detectProbability;
  const codes = new Uint16Array(Math.ceil(pulses * P * 2 + 1024));
  const r = timed(() => {
    let n = 0;
    for (let i = 0; i < pulses; i++) if (rng.nextFloat() < P) codes[n++] = model.fields[table.sample(rng)]!;
    return n;
  });
  const sd = Math.sqrt(pulses * P);
  if (Math.abs(r.value - pulses * P) > 5 * sd + 1) throw new Error(`sanity: naive loop detected ${r.value}`);
  return { pulses, detections: r.value, cpu_ms: +r.cpuMs.toFixed(1), wall_ms: +r.wallMs.toFixed(1) };
}

const target = runEngine(50, reps);
const naive = runNaive(2e7);
const naiveExtrapolatedMs = (naive.cpu_ms * PULSES) / naive.pulses;
const sweep = [75, 100, 150, 200].map((d) => runEngine(d, Math.max(1, Math.ceil(reps / 2))));
const all = [target, ...sweep];

const result = {
  benchmark: 'link',
  what: 'simulateBlock (decoy BB84, GYS preset: 2 MHz, η_Bob 4.5 %, 0.21 dB/km) of 1e10 pulses; CPU ms of one thread',
  target: {
    pulses: PULSES,
    distance_km: 50,
    max_ms: 1000,
    cpu_ms_best: target.cpu_ms_best,
    wall_ms_best: target.wall_ms_best,
    met_cpu: target.cpu_ms_best <= 1000,
    met_wall: target.wall_ms_best <= 1000,
  },
  engine_50km: target,
  cost_follows_detections: all.map((r) => ({
    distance_km: r.distance_km,
    detections: r.detections,
    cpu_ms_best: r.cpu_ms_best,
    ns_per_detection: r.ns_per_detection,
    ns_per_pulse: r.ns_per_pulse,
  })),
  baseline_naive_per_pulse_loop: {
    ...naive,
    extrapolated_cpu_ms_for_1e10: +naiveExtrapolatedMs.toFixed(0),
    speedup_of_engine: +(naiveExtrapolatedMs / target.cpu_ms_best).toFixed(1),
  },
  ...benchContext(),
};
writeBenchResult('link', result);
console.log(
  `link: 1e10 pulses at 50 km in ${target.cpu_ms_best} ms CPU (wall ${target.wall_ms_best} ms; target ≤ 1000): ` +
    `${target.pulses_per_s} pulses/s, ${target.detections_per_s} detections/s; naive per-pulse loop ` +
    `extrapolated ${result.baseline_naive_per_pulse_loop.extrapolated_cpu_ms_for_1e10} ms (×${result.baseline_naive_per_pulse_loop.speedup_of_engine})`,
);
for (const r of result.cost_follows_detections)
  console.log(
    `  ${String(r.distance_km).padStart(4)} km  ${String(r.detections).padStart(9)} detections  ${String(r.cpu_ms_best).padStart(7)} ms  ${r.ns_per_detection} ns/detection  ${r.ns_per_pulse} ns/pulse`,
  );
