/**
 * `npm run bench -- keyrate`: a 0–300 km sweep at 1 km steps with the intensities optimised at every point,
 * per model, on the GYS preset (block size 1e10 for bb84-decoy-finite). Baseline, measured side by side in the
 * same run: brute-force grid optimisation of the same rate functions (log grid of 2,000 μ values; 200 × 40
 * for two parameters; 4⁵ = 1,024 settings for the finite key). Each sweep runs on a fresh params object so
 * the memo cache of keyRate does not help; a second, cached pass is timed too (the network engineer's case).
 * Sanity: ours reaches at least the grid's rate (to 0.1%) at every point and the published GYS distances hold.
 * Writes bench/results/keyrate.json with machine, Node version and commit.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import {
  MODELS,
  PRESETS,
  bb84DecoyInfiniteRate,
  bb84GllpRate,
  bb84SinglePhotonRate,
  bb84VacuumWeakRate,
  channelTransmittance,
  finiteKeyRate,
  gg02Rate,
  keyRate,
  maxDistanceKm,
  snsTfRate,
  systemTransmittance,
  type LinkParams,
} from '../src/physics/index.ts';
import { dbToTransmittance } from '../src/common/index.ts';

const gys = PRESETS.gys!.params;
const distances = Array.from({ length: 301 }, (_, i) => i);
const logGrid = (lo: number, hi: number, n: number) =>
  Array.from({ length: n }, (_, i) => lo * Math.pow(hi / lo, i / (n - 1)));
const MU = logGrid(1e-4, 1.5, 2000);

function bb84(p: LinkParams, d: number) {
  return {
    eta: systemTransmittance(p, d),
    y0: p.darkCountProbability,
    ed: p.misalignmentError,
    f: p.errorCorrectionEfficiency,
    q: 0.5,
    afterpulse: 0,
    deadTimeGates: 0,
  };
}

/** Brute-force grid optimum of each model at one distance (the baseline). */
function gridRate(model: string, p: LinkParams, d: number): number {
  const max1 = (f: (x: number) => number, xs: number[]) => xs.reduce((m, x) => Math.max(m, f(x)), 0);
  switch (model) {
    case 'bb84-single-photon':
      return bb84SinglePhotonRate(bb84(p, d)).rate;
    case 'bb84-gllp':
      return max1((mu) => bb84GllpRate(bb84(p, d), mu).rate, MU);
    case 'bb84-decoy-infinite':
      return max1((mu) => bb84DecoyInfiniteRate(bb84(p, d), mu).rate, MU);
    case 'bb84-decoy-vacuum-weak': {
      const ch = bb84(p, d);
      return max1(
        (mu) => max1((nu) => bb84VacuumWeakRate(ch, mu, nu).rate, logGrid(0.01, mu * 0.99, 40)),
        logGrid(0.02, 1.5, 200),
      );
    }
    case 'bb84-decoy-finite': {
      const ch = {
        eta: systemTransmittance(p, d),
        y0: p.darkCountProbability,
        ed: p.misalignmentError,
        f: p.errorCorrectionEfficiency,
        afterpulse: 0,
        blockSize: 1e10,
        epsSec: 1e-9,
        epsCor: 1e-15,
        muMin: 0.01,
      };
      let best = 0;
      for (const mu1 of [0.2, 0.35, 0.5, 0.7])
        for (const r2 of [0.1, 0.25, 0.4, 0.6])
          for (const p1 of [0.3, 0.5, 0.7, 0.9])
            for (const r3 of [0.2, 0.4, 0.6, 0.8])
              for (const pZ of [0.5, 0.7, 0.85, 0.95]) {
                const p2 = (1 - p1) * r3;
                best = Math.max(
                  best,
                  finiteKeyRate(ch, { mu1, mu2: Math.max(0.01, mu1 * r2), p1, p2, pZ }).rate,
                );
              }
      return best;
    }
    case 'tf-qkd': {
      const ch = {
        etaArm: p.detectorEfficiency * dbToTransmittance((p.attenuationDbPerKm * d) / 2),
        darkPerDetector: p.darkCountProbability / 2,
        ed: p.misalignmentError,
        f: p.errorCorrectionEfficiency,
      };
      return max1(
        (mu) => max1((e) => snsTfRate(ch, mu, e).rate, logGrid(1e-3, 0.5, 40)),
        logGrid(0.01, 1.2, 200),
      );
    }
    case 'cv-qkd-gg02': {
      const T = channelTransmittance(p, d);
      return max1(
        (va) =>
          gg02Rate({
            transmittance: T,
            modulationVariance: va,
            excessNoise: 0.005,
            detectorEfficiency: 0.606,
            electronicNoise: 0.041,
            beta: 0.898,
          }),
        logGrid(0.5, 200, 2000),
      );
    }
    default:
      return keyRate(model, p, d).ratePerPulse; // bounds: nothing to optimise
  }
}

function time<T>(fn: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}

const rows = [];
for (const model of Object.keys(MODELS)) {
  const fresh = { ...gys };
  const ours = time(() => distances.map((d) => keyRate(model, fresh, d).ratePerPulse));
  const cached = time(() => distances.map((d) => keyRate(model, fresh, d).ratePerPulse));
  const baseline = time(() => distances.map((d) => gridRate(model, gys, d)));
  for (let i = 0; i < distances.length; i++) {
    const [a, b] = [ours.value[i]!, baseline.value[i]!];
    if (!(a >= b * (1 - 1e-3) - 1e-15)) throw new Error(`sanity: ${model} at ${i} km: ours ${a} < grid ${b}`);
  }
  const max = maxDistanceKm(model, fresh);
  rows.push({
    model,
    points: distances.length,
    ours_ms: +ours.ms.toFixed(1),
    ours_us_per_point: +((ours.ms * 1000) / distances.length).toFixed(1),
    cached_ms: +cached.ms.toFixed(2),
    baseline_grid_ms: +baseline.ms.toFixed(1),
    speedup_vs_grid: +(baseline.ms / ours.ms).toFixed(2),
    max_distance_km: Number.isFinite(max) ? +max.toFixed(2) : null,
  });
  console.log(
    `${model.padEnd(24)} ${ours.ms.toFixed(0).padStart(7)} ms (${((ours.ms * 1000) / 301).toFixed(0)} µs/pt)  cached ${cached.ms.toFixed(1)} ms  grid ${baseline.ms.toFixed(0)} ms  ×${(baseline.ms / ours.ms).toFixed(1)}`,
  );
}
const byName = Object.fromEntries(rows.map((r) => [r.model, r]));
for (const [m, km] of [
  ['bb84-decoy-infinite', 142],
  ['bb84-decoy-vacuum-weak', 142],
] as const)
  if (Math.abs(byName[m]!.max_distance_km! - km) / km > 0.02)
    throw new Error(`sanity: ${m} max distance ${byName[m]!.max_distance_km}`);

const result = {
  benchmark: 'keyrate',
  what: '0–300 km sweep at 1 km, intensities optimised per point, GYS preset; baseline = brute-force grid optimisation of the same rate functions',
  rows,
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, os: `${os.platform()} ${os.release()}` },
  node: process.version,
  commit: execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim(),
  date: new Date().toISOString(),
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/keyrate.json', `${JSON.stringify(result, null, 2)}\n`);
console.log('wrote bench/results/keyrate.json');
