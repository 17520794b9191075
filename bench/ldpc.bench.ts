/**
 * `npm run bench -- ldpc [--quick]`: rate-adaptive LDPC reconciliation (ldpc-blind-reconciliation.ts).
 *
 * - Efficiency f = every disclosed bit / (n·h(e)), with e the frame's actual error fraction: syndrome bits
 *   minus those padded by punctured symbols, plus every revealed symbol, confirmation range and bisection
 *   parity. Frames of 10⁴, 10⁵ and 10⁶ bits at QBER 1–8 %; the QBER estimate given to the protocol is the
 *   true channel QBER (as the pipeline's sample estimate would be, up to its error). Also reported: frames
 *   discarded (Bob's key ≠ Alice's after reconciliation, which verification would reject), round trips,
 *   and CPU time per frame of both ends together (one process, one core).
 * - Decoder throughput on one core, first decoding attempt of 10⁵-bit frames at QBER 3 % (mother code and
 *   puncturing as the protocol plans them): the layered sum-product decoder against the textbook flooding
 *   sum-product (plain JavaScript, Float64, tanh rule) on the same frames in the same run, as decoded
 *   key bits per CPU second and edge updates per second.
 *
 * Codes are built in an untimed warm-up frame per (n, QBER) (cached per code, as on a running link).
 * Writes bench/results/ldpc.json.
 */
import { binaryEntropy, createRng } from '../src/common/index.ts';
import {
  LayeredDecoder,
  ldpc,
  noisyPair,
  planFrame,
  reconcile,
  SATURATION,
  sumProductFlooding,
  syndromeOf,
} from '../src/postprocess/index.ts';
import { benchContext, writeBenchResult } from './meta.ts';

const quick = process.argv.includes('--quick');
/** `--n N --seconds S [--run K]`: only frames of N bits, dealt round-robin over the QBERs until S seconds of
 * measured time have passed (then the row's frame count is whatever fitted); `--run K` draws other frames
 * (rng label suffix) and writes bench/results/ldpc-nN-runK.json, so runs can be pooled. */
function arg(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : Number(process.argv[i + 1]);
}
const onlyN = arg('--n');
const budgetS = arg('--seconds');
const run = arg('--run') ?? 0;
if (
  (onlyN !== undefined && !(onlyN >= 1e3 && onlyN <= 1e6)) ||
  (budgetS !== undefined && !(budgetS > 0)) ||
  !(Number.isInteger(run) && run >= 0)
) {
  console.error('ldpc bench: --n must be within 1e3..1e6, --seconds > 0, --run a non-negative integer');
  process.exit(2);
}

/** CPU milliseconds of this process. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const fullGrid: { n: number; qs: number[]; frames: number }[] = quick
  ? [
      { n: 1e4, qs: [0.01, 0.02, 0.03, 0.05, 0.08], frames: 8 },
      { n: 1e5, qs: [0.02, 0.03, 0.05], frames: 3 },
    ]
  : [
      { n: 1e4, qs: [0.01, 0.02, 0.03, 0.04, 0.05, 0.08], frames: 30 },
      { n: 1e5, qs: [0.01, 0.02, 0.03, 0.04, 0.05, 0.08], frames: 10 },
      { n: 1e6, qs: [0.02, 0.03, 0.05], frames: 2 },
    ];

const grid =
  onlyN === undefined
    ? fullGrid
    : [{ n: onlyN, qs: onlyN >= 1e6 ? [0.02, 0.03, 0.05] : [0.01, 0.02, 0.03, 0.04, 0.05, 0.08], frames: 0 }];

const efficiency: Record<string, unknown>[] = [];
if (budgetS !== undefined) {
  // Time-boxed: one frame per QBER in turn, until the budget is spent (warm-up frames not counted).
  const { n, qs } = grid[0]!;
  const rows = qs.map((q) => {
    const rng = createRng(`bench-ldpc:${n}:${q}` + (run ? `:run${run}` : ''));
    const warm = noisyPair(n, q, rng.stream('warm'));
    reconcile(ldpc, warm.alice, warm.bob, { qberEstimate: q, shuffleSeed: 0, aliceRandom: rng.stream('wa') });
    return { q, rng, fs: [] as number[], discarded: 0, rounds: 0, ms: 0, wall: 0 };
  });
  const t0 = performance.now();
  for (let r = 0; performance.now() - t0 < budgetS * 1000; r++)
    for (const row of rows) {
      const { alice, bob, errors } = noisyPair(n, row.q, row.rng);
      const c0 = cpuMs();
      const w0 = performance.now();
      const res = reconcile(ldpc, alice, bob, {
        qberEstimate: row.q,
        shuffleSeed: r + 1,
        aliceRandom: row.rng.stream(`alice ${r}`),
      });
      row.ms += cpuMs() - c0;
      row.wall += performance.now() - w0;
      row.fs.push(res.leakedBits / (n * binaryEntropy(Math.max(errors, 1) / n)));
      if (!res.key.equals(alice)) row.discarded++;
      row.rounds += res.roundTrips;
      console.log(
        `n=${n} q=${row.q} frame ${r + 1}: f=${row.fs.at(-1)!.toFixed(4)} rounds ${res.roundTrips}`,
      );
    }
  for (const row of rows) {
    const plan = planFrame(n, row.q);
    const frames = row.fs.length;
    efficiency.push({
      n,
      qber: row.q,
      frames,
      mother_rate: plan.code.rate,
      code_length: plan.code.n,
      efficiency_mean: row.fs.reduce((a, b) => a + b, 0) / frames,
      efficiency_max: Math.max(...row.fs),
      efficiency_all: row.fs,
      frames_discarded: row.discarded,
      round_trips_mean: row.rounds / frames,
      cpu_ms_per_frame: row.ms / frames,
      wall_ms_per_frame: row.wall / frames,
      throughput_mbps_cpu: (n * frames) / (row.ms * 1000),
    });
  }
}
for (const { n, qs, frames } of budgetS === undefined ? grid : []) {
  for (const q of qs) {
    const rng = createRng(`bench-ldpc:${n}:${q}`);
    const warm = noisyPair(n, q, rng.stream('warm'));
    reconcile(ldpc, warm.alice, warm.bob, { qberEstimate: q, shuffleSeed: 0, aliceRandom: rng.stream('wa') });
    const plan = planFrame(n, q);
    const fs: number[] = [];
    let discarded = 0;
    let rounds = 0;
    let ms = 0;
    let wall = 0;
    for (let r = 0; r < frames; r++) {
      const { alice, bob, errors } = noisyPair(n, q, rng);
      const c0 = cpuMs();
      const w0 = performance.now();
      const res = reconcile(ldpc, alice, bob, {
        qberEstimate: q,
        shuffleSeed: r + 1,
        aliceRandom: rng.stream(`alice ${r}`),
      });
      ms += cpuMs() - c0;
      wall += performance.now() - w0;
      fs.push(res.leakedBits / (n * binaryEntropy(Math.max(errors, 1) / n)));
      if (!res.key.equals(alice)) discarded++;
      rounds += res.roundTrips;
    }
    const mean = fs.reduce((a, b) => a + b, 0) / frames;
    const row = {
      n,
      qber: q,
      frames,
      mother_rate: plan.code.rate,
      code_length: plan.code.n,
      punctured: plan.punctured.length,
      shortened: plan.shortened.length,
      efficiency_mean: mean,
      efficiency_max: Math.max(...fs),
      frames_discarded: discarded,
      round_trips_mean: rounds / frames,
      cpu_ms_per_frame: ms / frames,
      wall_ms_per_frame: wall / frames,
      throughput_mbps_cpu: (n * frames) / (ms * 1000),
    };
    efficiency.push(row);
    console.log(
      `n=${n} q=${q} R0=${plan.code.rate} f=${mean.toFixed(3)} (max ${row.efficiency_max.toFixed(3)}) ` +
        `discarded ${discarded}/${frames} rounds ${row.round_trips_mean.toFixed(1)} ` +
        `${row.cpu_ms_per_frame.toFixed(0)} ms CPU/frame (${row.throughput_mbps_cpu.toFixed(2)} Mbit/s)`,
    );
  }
}

// Decoder throughput: the same first decoding attempts with both decoders.
const n = 1e5;
const q = 0.03;
const plan = planFrame(n, q);
const { code } = plan;
const llr = Math.log((1 - q) / q);
const rng = createRng('bench-ldpc-decoder');
const cases = Array.from({ length: quick ? 2 : 4 }, () => {
  const x = new Uint8Array(code.n);
  for (let i = 0; i < code.n; i++) x[i] = rng.nextUint32() & 1;
  const ch = new Float32Array(code.n);
  for (const v of plan.shortened) {
    x[v] = 0;
    ch[v] = SATURATION;
  }
  for (const v of plan.keyPos) ch[v] = (x[v]! ^ (rng.nextFloat() < q ? 1 : 0)) === 1 ? -llr : llr;
  return { x, ch, s: syndromeOf(code, x) };
});
const layered = { ms: 0, iterations: 0, ok: 0, edges: 0 };
const flooding = { ms: 0, iterations: 0, ok: 0, edges: 0 };
new LayeredDecoder(code).run(cases[0]!.s, 2); // JIT warm-up
for (const c of cases) {
  const dec = new LayeredDecoder(code);
  dec.reset(c.ch);
  let t = cpuMs();
  const r = dec.run(c.s, 100);
  layered.ms += cpuMs() - t;
  layered.iterations += r.iterations;
  layered.edges += r.iterations * code.chkVar.length;
  if (r.ok) layered.ok++;
  t = cpuMs();
  const f = sumProductFlooding(code, c.ch, c.s, 100);
  flooding.ms += cpuMs() - t;
  flooding.iterations += f.iterations;
  flooding.edges += f.iterations * code.chkVar.length;
  if (f.ok) flooding.ok++;
}
const report = (d: typeof layered) => ({
  frames: cases.length,
  decoded: d.ok,
  iterations_mean: d.iterations / cases.length,
  key_mbps_per_core: (n * cases.length) / (d.ms * 1000),
  edge_updates_per_s: d.edges / (d.ms / 1000),
});
const decoder = {
  n,
  qber: q,
  mother_rate: code.rate,
  edges: code.chkVar.length,
  layered_sum_product: report(layered),
  flooding_sum_product_baseline: report(flooding),
  speedup: flooding.ms / layered.ms,
};
console.log(JSON.stringify(decoder, null, 2));
const loadavg = benchContext().machine.loadavg;
console.log(
  `load average ${loadavg.map((x) => x.toFixed(2)).join(' ')} (shared machine: wall times are pessimistic)`,
);
writeBenchResult(onlyN === undefined ? 'ldpc' : `ldpc-n${onlyN}-run${run}`, {
  ...benchContext(),
  quick,
  budget_seconds: budgetS ?? null,
  efficiency,
  decoder,
});
