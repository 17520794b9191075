/**
 * `npm run bench -- postprocess [--quick]`: post-processing speed and efficiency.
 *
 * - Cascade (original and improved) at QBER 1, 2, 3, 5, 8% on 10⁴- and 10⁵-bit frames (2¹⁷ in the
 *   pipeline): efficiency f = leak/(n·h(e)), frame error rate and throughput (key bits per second of
 *   Cascade time, both ends in one process, one core), shuffles precomputed in an untimed warm-up frame.
 *   Baseline side by side: a straightforward unpacked Cascade (one byte per bit, parities by loops, a
 *   parity question at a time, fresh shuffles), original schedule, at the same frames.
 * - Privacy amplification at 10⁶ and 10⁷ input bits (output 40%): multiply-add-shift on BigInt, Toeplitz by
 *   FFT (10⁶ only: 10⁷ exceeds the 2²³-point FFT limit), and the naive O(n·m) Toeplitz measured on a small
 *   size and extrapolated by n·m.
 * - Whole pipeline (sift → estimate → Cascade → verify → PA → authenticated key blocks) in sifted bits/s on
 *   raw records of the example link (≈ 5·10⁵ sifted bits per block), built outside the timed region, timed
 *   after PIPELINE_WARMUP_BLOCKS untimed blocks (steady state, see there).
 *
 * Sanity checks abort the run: corrected frames equal Alice's, efficiencies within (1, 1.6), PA outputs of
 * the right length, pipeline blocks emit equal keys. Writes bench/results/postprocess.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { BitArray, binaryEntropy, createRng, type Rng } from '../src/common/index.ts';
import {
  cascadeImproved,
  cascadeOriginal,
  EXAMPLE_LINK,
  noisyPair,
  privacyAmplify,
  randomPaSeed,
  reconcile,
  runPipeline,
  simulateRawRecord,
  toeplitzHashNaive,
  type ErrorCorrection,
} from '../src/postprocess/index.ts';

const quick = process.argv.includes('--quick');
/**
 * Timing: CPU milliseconds of this process (user + system) and wall milliseconds, both per timed region.
 * The machine is shared (load often > 6 on two cores), so wall time mostly measures the queue; CPU time
 * measures our code on one core, which is what the targets ask. Wall-clock throughput is reported beside.
 */
class Clock {
  cpuMs = 0;
  wallMs = 0;
  #c = 0;
  #w = 0;
  start(): void {
    const u = process.cpuUsage();
    this.#c = (u.user + u.system) / 1000;
    this.#w = performance.now();
  }
  stop(): void {
    const u = process.cpuUsage();
    this.cpuMs += (u.user + u.system) / 1000 - this.#c;
    this.wallMs += performance.now() - this.#w;
  }
}

/** Straightforward Cascade (BS93 schedule) on unpacked bits: the baseline. Returns leaked parities. */
function naiveCascade(alice: Uint8Array, bob: Uint8Array, q: number, rng: Rng): number {
  const n = alice.length;
  let leaked = 0;
  const perms: Uint32Array[] = [];
  const ks: number[] = [];
  const parity = (key: Uint8Array, perm: Uint32Array, lo: number, hi: number) => {
    let p = 0;
    for (let i = lo; i < hi; i++) p ^= key[perm[i]!]!;
    return p;
  };
  const search = (perm: Uint32Array, lo: number, hi: number): number => {
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      leaked++;
      if (parity(alice, perm, lo, mid) !== parity(bob, perm, lo, mid)) hi = mid;
      else lo = mid;
    }
    return perm[lo]!;
  };
  for (let pass = 0; pass < 4; pass++) {
    const k = Math.min(n, Math.ceil(0.73 / q) * 2 ** pass);
    const perm = new Uint32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    if (pass > 0)
      for (let i = n - 1; i > 0; i--) {
        const j = rng.nextInt(i + 1);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
    perms.push(perm);
    ks.push(k);
    const queue: [number, number][] = [];
    for (let lo = 0; lo < n; lo += k) {
      leaked++;
      if (parity(alice, perm, lo, Math.min(n, lo + k)) !== parity(bob, perm, lo, Math.min(n, lo + k)))
        queue.push([pass, lo]);
    }
    while (queue.length > 0) {
      const [p, lo] = queue.pop()!;
      const hi = Math.min(n, lo + ks[p]!);
      if (parity(alice, perms[p]!, lo, hi) === parity(bob, perms[p]!, lo, hi)) continue;
      const bit = search(perms[p]!, lo, hi);
      bob[bit]! ^= 1;
      for (let r = 0; r <= pass; r++) {
        const pos = perms[r]!.indexOf(bit);
        queue.push([r, pos - (pos % ks[r]!)]);
      }
    }
  }
  return leaked;
}

function unpack(b: BitArray): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b.get(i);
  return out;
}

interface CascadeRow {
  algorithm: string;
  qber: number;
  block_size: number;
  frames: number;
  efficiency_mean: number;
  frame_error_rate: number;
  round_trips_mean: number;
  throughput_mbps: number;
  throughput_wall_mbps: number;
}

function benchCascade(alg: ErrorCorrection, n: number, q: number, frames: number): CascadeRow {
  const rng = createRng(`bench:${n}:${q}`);
  const inputs = Array.from({ length: frames + 1 }, () => noisyPair(n, q, rng));
  const opts = { qberEstimate: q, shuffleSeed: 1 };
  reconcile(alg, inputs[0]!.alice, inputs[0]!.bob, opts); // warm-up: JIT and shuffles (untimed)
  const clk = new Clock();
  let eff = 0;
  let wrong = 0;
  let rt = 0;
  for (const { alice, bob, errors } of inputs.slice(1)) {
    clk.start();
    const r = reconcile(alg, alice, bob, opts);
    clk.stop();
    eff += r.leakedBits / (n * binaryEntropy(errors / n));
    rt += r.roundTrips;
    if (!r.key.equals(alice)) wrong++;
  }
  const row = {
    algorithm: alg.name,
    qber: q,
    block_size: n,
    frames,
    efficiency_mean: +(eff / frames).toFixed(4),
    frame_error_rate: wrong / frames,
    round_trips_mean: rt / frames,
    throughput_mbps: +((n * frames) / (clk.cpuMs * 1000)).toFixed(2),
    throughput_wall_mbps: +((n * frames) / (clk.wallMs * 1000)).toFixed(2),
  };
  if (!(row.efficiency_mean > 1 && row.efficiency_mean < 1.6) || row.frame_error_rate > 0.2)
    throw new Error(`sanity: ${JSON.stringify(row)}`);
  return row;
}

function benchNaiveCascade(n: number, q: number, frames: number) {
  const rng = createRng(`naive:${n}:${q}`);
  const inputs = Array.from({ length: frames }, () => noisyPair(n, q, rng));
  const unpacked = inputs.map((f) => ({ a: unpack(f.alice), b: unpack(f.bob), errors: f.errors }));
  const clk = new Clock();
  let eff = 0;
  for (const f of unpacked) {
    clk.start();
    const leak = naiveCascade(f.a, f.b, q, rng);
    clk.stop();
    eff += leak / (n * binaryEntropy(f.errors / n));
  }
  return {
    algorithm: 'baseline-unpacked-original',
    qber: q,
    block_size: n,
    frames,
    efficiency_mean: +(eff / frames).toFixed(4),
    throughput_mbps: +((n * frames) / (clk.cpuMs * 1000)).toFixed(2),
    throughput_wall_mbps: +((n * frames) / (clk.wallMs * 1000)).toFixed(2),
  };
}

function benchPa(family: 'multiply-add-shift' | 'toeplitz', n: number, reps: number) {
  const rng = createRng(`pa:${n}`);
  const m = Math.floor(0.4 * n);
  const key = BitArray.random(n, rng);
  const seed = randomPaSeed(family, n, m, rng);
  privacyAmplify(family, key, seed, m); // warm-up
  // A fresh seed object per repetition, so converted seeds are never reused: the cost of one end.
  const seeds = Array.from({ length: reps }, () => seed.clone());
  const clk = new Clock();
  for (let i = 0; i < reps; i++) {
    clk.start();
    const out = privacyAmplify(family, key, seeds[i]!, m);
    clk.stop();
    if (out.length !== m) throw new Error(`sanity: PA output ${out.length} ≠ ${m}`);
  }
  return {
    family,
    input_bits: n,
    output_bits: m,
    ms_per_hash: +(clk.cpuMs / reps).toFixed(2),
    throughput_mbps: +(n / ((clk.cpuMs / reps) * 1000)).toFixed(2),
    throughput_wall_mbps: +(n / ((clk.wallMs / reps) * 1000)).toFixed(2),
  };
}

function benchNaiveToeplitz(n: number, extrapolateTo: number) {
  const rng = createRng('naive-toeplitz');
  const m = Math.floor(0.4 * n);
  const key = BitArray.random(n, rng);
  const seed = randomPaSeed('toeplitz', n, m, rng);
  const clk = new Clock();
  clk.start();
  toeplitzHashNaive(key, seed, m);
  clk.stop();
  const ms = clk.cpuMs;
  const big = (ms * (extrapolateTo * 0.4 * extrapolateTo)) / (n * m);
  return {
    family: 'toeplitz-naive (baseline)',
    measured_input_bits: n,
    measured_ms: +ms.toFixed(2),
    input_bits: extrapolateTo,
    extrapolated_ms_per_hash: +big.toFixed(0),
    throughput_mbps: +(extrapolateTo / (big * 1000)).toFixed(6),
  };
}

/**
 * Untimed warm-up blocks before the pipeline is timed. One is not enough: V8 is still compiling the hot
 * paths on background threads during blocks 2–4 (CPU time of this process counts those threads), and
 * measured block by block the CPU cost falls from ≈ 300 ms (first) and ≈ 170 ms (second) to a steady
 * ≈ 50 ms from about the fifth on. The target is about sustained throughput, so we time the steady state.
 */
const PIPELINE_WARMUP_BLOCKS = 4;

function benchPipeline(blocks: number) {
  const rng = createRng('bench-pipeline');
  const raws = Array.from({ length: blocks + PIPELINE_WARMUP_BLOCKS }, (_, b) =>
    simulateRawRecord(EXAMPLE_LINK, rng, 'bench', b),
  );
  for (const raw of raws.slice(0, PIPELINE_WARMUP_BLOCKS)) runPipeline(raw, {}, rng.stream('warm')); // untimed
  const clk = new Clock();
  let sifted = 0;
  let finalBits = 0;
  let eff = 0;
  for (const raw of raws.slice(PIPELINE_WARMUP_BLOCKS)) {
    clk.start();
    const r = runPipeline(raw, {}, rng.stream(`b${raw.blockId}`));
    clk.stop();
    if (!r.ok || !r.stats.keys_equal)
      throw new Error(`sanity: pipeline block failed: ${JSON.stringify(r.stats)}`);
    sifted += r.stats.sifted_bits;
    finalBits += r.stats.final_key_bits;
    eff += r.stats.efficiency;
  }
  return {
    blocks,
    warmup_blocks: PIPELINE_WARMUP_BLOCKS,
    sifted_bits_per_block: Math.round(sifted / blocks),
    final_key_bits_per_block: Math.round(finalBits / blocks),
    efficiency_mean: +(eff / blocks).toFixed(4),
    ms_per_block: +(clk.cpuMs / blocks).toFixed(1),
    sifted_mbps: +(sifted / (clk.cpuMs * 1000)).toFixed(2),
    sifted_wall_mbps: +(sifted / (clk.wallMs * 1000)).toFixed(2),
  };
}

const qbers = [0.01, 0.02, 0.03, 0.05, 0.08];
const cascade: CascadeRow[] = [];
for (const alg of [cascadeOriginal, cascadeImproved])
  for (const [n, frames] of [
    [1e4, quick ? 10 : 40],
    [1e5, quick ? 3 : 10],
  ] as const)
    for (const q of qbers) {
      const row = benchCascade(alg, n, q, frames);
      cascade.push(row);
      console.log(
        `${row.algorithm.padEnd(17)} n=${n} q=${q}: f=${row.efficiency_mean} FER=${row.frame_error_rate} ${row.throughput_mbps} Mbit/s`,
      );
    }
const baseline = [benchNaiveCascade(1e4, 0.02, quick ? 3 : 10), benchNaiveCascade(1e5, 0.02, quick ? 1 : 3)];
for (const b of baseline)
  console.log(`baseline n=${b.block_size} q=0.02: f=${b.efficiency_mean} ${b.throughput_mbps} Mbit/s`);
const pa = [
  benchPa('multiply-add-shift', 1e6, quick ? 3 : 10),
  benchPa('multiply-add-shift', 1e7, quick ? 1 : 3),
  benchPa('toeplitz', 1e6, 1),
];
const paBaseline = benchNaiveToeplitz(quick ? 4000 : 10000, 1e6);
for (const p of pa)
  console.log(`PA ${p.family} n=${p.input_bits}: ${p.ms_per_hash} ms, ${p.throughput_mbps} Mbit/s`);
console.log(`PA naive Toeplitz extrapolated to 1e6: ${paBaseline.extrapolated_ms_per_hash} ms`);
const pipeline = benchPipeline(quick ? 3 : 10);
console.log(`pipeline: ${pipeline.sifted_mbps} Mbit/s sifted, ${pipeline.ms_per_block} ms/block`);

const at = (alg: string, n: number, q: number) =>
  cascade.find((r) => r.algorithm === alg && r.block_size === n && r.qber === q)!;
const imp = at('cascade-improved', 1e5, 0.02);
const ori = at('cascade-original', 1e5, 0.02);
const mas1e6 = pa[0]!;
const result = {
  benchmark: 'postprocess',
  quick,
  cascade,
  cascade_baseline: baseline,
  ratios: {
    improved_vs_baseline_throughput_1e5_q2: +(imp.throughput_mbps / baseline[1]!.throughput_mbps).toFixed(2),
    original_vs_baseline_throughput_1e5_q2: +(ori.throughput_mbps / baseline[1]!.throughput_mbps).toFixed(2),
    mas_vs_toeplitz_fft_1e6: +(mas1e6.throughput_mbps / pa[2]!.throughput_mbps).toFixed(1),
    mas_vs_naive_toeplitz_1e6: +(mas1e6.throughput_mbps / paBaseline.throughput_mbps).toFixed(0),
  },
  privacy_amplification: pa,
  privacy_amplification_baseline: paBaseline,
  pipeline,
  targets: {
    cascade_improved_1e5_q2: {
      throughput_mbps: imp.throughput_mbps,
      efficiency: imp.efficiency_mean,
      target: '≥ 20 Mbit/s with f ≤ 1.05',
      met: imp.throughput_mbps >= 20 && imp.efficiency_mean <= 1.05,
    },
    pa_1e6: {
      throughput_mbps: mas1e6.throughput_mbps,
      target: '≥ 100 Mbit/s',
      met: mas1e6.throughput_mbps >= 100,
    },
    pipeline: { sifted_mbps: pipeline.sifted_mbps, target: '≥ 20 Mbit/s', met: pipeline.sifted_mbps >= 20 },
  },
  machine: {
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    os: `${os.platform()} ${os.release()}`,
    load: os.loadavg(),
  },
  node: process.version,
  commit: execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim(),
  date: new Date().toISOString(),
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/postprocess.json', `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result.targets, null, 2));
