/**
 * `npm run bench -- ldpc [options]`: rate-adaptive LDPC reconciliation (ldpc-blind-reconciliation.ts).
 *
 * - Efficiency f = every disclosed bit / (n·h(e)), with e the frame's actual error fraction: syndrome bits
 *   minus those padded by punctured symbols, plus every revealed symbol, confirmation range and bisection
 *   parity. The QBER estimate given to the protocol is the true channel QBER. Frames discarded: Bob's key
 *   ≠ Alice's after reconciliation (verification would reject them) or the corrector gave up. Both ends
 *   run in one thread per frame; CPU time is the process's (all threads), wall time the run's.
 * - Decoder throughput per core (`decoder` row): the same 10⁵-bit frames at QBER 3 % decoded from scratch
 *   at the leak the blind protocol typically ends with (f = 1.10: the frame plan's punctured symbols
 *   revealed, in untainted order, down to that leak) by the WebAssembly box-plus decoder, its plain
 *   TypeScript statement (same integer arithmetic), the plain-JavaScript layered sum-product (Float32, φ
 *   table) and the textbook flooding sum-product (Float64, tanh rule); at most 100 iterations, early stop.
 *   The protocol's first attempt (at f₀, below what the codes decode at once, so it usually fails and
 *   stall-stops) is reported too, for the WebAssembly decoder.
 *
 * Modes:
 *   (default) [--quick]      grid of 10⁴ / 10⁵ / 10⁶-bit frames at QBER 1–8 % (fixed frame counts, one
 *                            thread) and the decoder row → bench/results/ldpc.json
 *   --decoder-only           the decoder row alone → bench/results/ldpc-decoder.json
 *   --n N --seconds S [--run K] [--workers W] [--qbers a,b,c]
 *                            frames of N bits dealt round-robin over the QBERs (default 2, 3, 5 %) to W
 *                            worker threads (default 2) until S seconds have passed; run K draws its own
 *                            frames (→ bench/results/ldpc-nN-runK.json). Every run file of the same
 *                            decoder for N is then pooled into bench/results/ldpc-nN-pooled.json: frames,
 *                            discards and the one-sided 95 % Clopper–Pearson upper bound on the discard
 *                            rate (≈ 3/N with no discard). Runs add up: the lead can add runs later.
 *
 * Codes and plans are built in an untimed warm-up frame per (n, QBER) and thread (cached, as on a link).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { binaryEntropy, createRng } from '../src/common/index.ts';
import {
  BoxPlusDecoder,
  BoxPlusReference,
  LayeredDecoder,
  ldpc,
  noisyPair,
  planFrame,
  reconcile,
  SATURATION,
  sumProductFlooding,
  syndromeOf,
  type SyndromeDecoder,
} from '../src/postprocess/index.ts';
import { benchContext, writeBenchResult } from './meta.ts';

/**
 * Runs pool only with runs of a decoder of POOLED_WITH. Version 4: the kernel's box-plus on magnitudes
 * (the same integers as version 3, a test holds it to the reference) and the first attempt capped at 20
 * iterations (the messages are resumed after the reveal); the protocol's answers, leak accounting and
 * confirmation are unchanged, so a frame is discarded in the same cases, and their counts pool.
 */
const DECODER = 'box-plus-wasm-4';
const POOLED_WITH = ['box-plus-wasm-3', DECODER];

interface FrameResult {
  q: number;
  f: number;
  discarded: boolean;
  rounds: number;
}

/** One frame of n bits at QBER q, frame index i of run `run` (deterministic). */
function oneFrame(n: number, q: number, run: number, i: number): FrameResult {
  const rng = createRng(`bench-ldpc:${n}:${q}:run${run}:frame${i}`);
  const { alice, bob, errors } = noisyPair(n, q, rng.stream('pair'));
  const res = reconcile(ldpc, alice, bob, {
    qberEstimate: q,
    shuffleSeed: run * 1_000_000 + i + 1,
    aliceRandom: rng.stream('alice'),
  });
  return {
    q,
    f: res.leakedBits / (n * binaryEntropy(Math.max(errors, 1) / n)),
    discarded: !res.converged || !res.key.equals(alice),
    rounds: res.roundTrips,
  };
}

/** CPU milliseconds of this process (every thread). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

if (!isMainThread) {
  // Worker: warm up, then frames start, start + stride, … until the deadline.
  const { n, qs, run, start, stride, seconds } = workerData as {
    n: number;
    qs: number[];
    run: number;
    start: number;
    stride: number;
    seconds: number;
  };
  for (const q of qs) oneFrame(n, q, run, -1 - start);
  parentPort!.postMessage({ warm: true });
  parentPort!.once('message', (t0: number) => {
    for (let i = start; Date.now() - t0 < seconds * 1000; i += stride)
      parentPort!.postMessage(oneFrame(n, qs[i % qs.length]!, run, Math.floor(i / qs.length)));
    parentPort!.postMessage({ done: true });
  });
} else await main();

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const onlyN = arg('--n') === undefined ? undefined : Number(arg('--n'));
  const seconds = arg('--seconds') === undefined ? undefined : Number(arg('--seconds'));
  const run = Number(arg('--run') ?? 0);
  const workers = Number(arg('--workers') ?? 2);
  const qs = (arg('--qbers') ?? '0.02,0.03,0.05').split(',').map(Number);
  if (
    (onlyN !== undefined && !(onlyN >= 1e3 && onlyN <= 1e6)) ||
    (onlyN !== undefined) !== (seconds !== undefined) ||
    (seconds !== undefined && !(seconds > 0)) ||
    !(Number.isInteger(run) && run >= 0) ||
    !(Number.isInteger(workers) && workers >= 1 && workers <= 16) ||
    !qs.every((q) => q > 0 && q < 0.11)
  ) {
    console.error(
      'ldpc bench: --n N (1e3..1e6) and --seconds S (> 0) go together; --run a non-negative integer; ' +
        '--workers 1..16; --qbers comma-separated in (0, 0.11)',
    );
    process.exit(2);
  }
  if (onlyN !== undefined) return timeBoxed(onlyN, seconds!, run, workers, qs);
  const decoder = decoderRow(quick);
  if (process.argv.includes('--decoder-only')) {
    writeBenchResult('ldpc-decoder', { ...benchContext(), decoder_version: DECODER, decoder });
    return;
  }
  const efficiency = grid(quick);
  writeBenchResult('ldpc', {
    ...benchContext(),
    decoder_version: DECODER,
    quick,
    efficiency,
    decoder,
  });
}

/** Fixed frame counts per (n, QBER), one thread. */
function grid(quick: boolean): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const plan = quick
    ? [
        { n: 1e4, qs: [0.01, 0.02, 0.03, 0.05, 0.08], frames: 8 },
        { n: 1e5, qs: [0.02, 0.03, 0.05], frames: 3 },
      ]
    : [
        { n: 1e4, qs: [0.01, 0.02, 0.03, 0.04, 0.05, 0.08], frames: 30 },
        { n: 1e5, qs: [0.01, 0.02, 0.03, 0.04, 0.05, 0.08], frames: 20 },
        { n: 1e6, qs: [0.02, 0.03, 0.05], frames: 2 },
      ];
  for (const { n, qs, frames } of plan)
    for (const q of qs) {
      oneFrame(n, q, 0, -1); // warm-up
      const c0 = cpuMs();
      const w0 = performance.now();
      const res = Array.from({ length: frames }, (_, i) => oneFrame(n, q, 0, i));
      const ms = cpuMs() - c0;
      const row = {
        ...summary(n, q, res),
        cpu_ms_per_frame: ms / frames,
        wall_ms_per_frame: (performance.now() - w0) / frames,
        throughput_mbps_cpu: (n * frames) / (ms * 1000),
      };
      rows.push(row);
      console.log(
        `n=${n} q=${q} R0=${row.mother_rate} f=${row.efficiency_mean.toFixed(3)} ` +
          `(max ${row.efficiency_max.toFixed(3)}) discarded ${row.frames_discarded}/${frames} ` +
          `rounds ${row.round_trips_mean.toFixed(1)} ${row.cpu_ms_per_frame.toFixed(0)} ms CPU/frame`,
      );
    }
  return rows;
}

function summary(n: number, q: number, res: FrameResult[]) {
  const fs = res.map((r) => r.f);
  const frames = res.length;
  const mean = fs.reduce((a, b) => a + b, 0) / frames;
  const discarded = res.filter((r) => r.discarded).length;
  const plan = planFrame(n, q);
  return {
    n,
    qber: q,
    frames,
    mother_rate: plan.code.rate,
    code_length: plan.code.n,
    efficiency_mean: mean,
    efficiency_sd: Math.sqrt(fs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, frames - 1)),
    efficiency_max: Math.max(...fs),
    frames_discarded: discarded,
    discard_rate_upper_95: clopperPearsonUpper(discarded, frames),
    round_trips_mean: res.reduce((a, r) => a + r.rounds, 0) / frames,
  };
}

/** One-sided 95 % Clopper–Pearson upper bound on a rate with k events in N trials. */
export function clopperPearsonUpper(k: number, N: number): number {
  if (N === 0) return 1;
  if (k >= N) return 1;
  // P(X ≤ k | N, p) is decreasing in p: bisect for 0.05.
  const cdf = (p: number) => {
    let term = Math.exp(N * Math.log1p(-p)); // P(X = 0)
    let sum = term;
    for (let j = 1; j <= k; j++) {
      term *= ((N - j + 1) / j) * (p / (1 - p));
      sum += term;
    }
    return sum;
  };
  let lo = 0;
  let hi = 1;
  for (let it = 0; it < 100; it++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) > 0.05) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Worker threads until the budget is spent; then the run file and the pooled file. */
async function timeBoxed(n: number, seconds: number, run: number, workers: number, qs: number[]) {
  const results: FrameResult[] = [];
  // The worker is this file, TypeScript: register tsx inside it first (as src/server/site-pp.ts does).
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
  const pool = Array.from(
    { length: workers },
    (_, w) =>
      new Worker(boot, { eval: true, workerData: { n, qs, run, start: w, stride: workers, seconds } }),
  );
  await Promise.all(pool.map((w) => new Promise((ok) => w.once('message', ok))));
  const load0 = benchContext().machine.loadavg;
  const c0 = cpuMs();
  const t0 = Date.now();
  let last = t0;
  await Promise.all(
    pool.map(
      (w) =>
        new Promise<void>((ok, fail) => {
          w.on('error', fail);
          w.on('message', (m: FrameResult | { done: true }) => {
            if ('done' in m) {
              void w.terminate();
              return ok();
            }
            results.push(m);
            if (Date.now() - last > 15_000) {
              last = Date.now();
              const bad = results.filter((r) => r.discarded).length;
              console.error(`ldpc n=${n} run ${run}: ${results.length} frames, ${bad} discarded`);
            }
          });
          w.postMessage(t0);
        }),
    ),
  );
  const cpu = (cpuMs() - c0) / 1000;
  const wall = (Date.now() - t0) / 1000;
  const rows = qs.map((q) =>
    summary(
      n,
      q,
      results.filter((r) => r.q === q),
    ),
  );
  for (const r of rows)
    console.log(
      `n=${n} q=${r.qber}: ${r.frames} frames, f ${r.efficiency_mean.toFixed(4)} (max ` +
        `${r.efficiency_max.toFixed(4)}), discarded ${r.frames_discarded}, 95 % bound ` +
        `${r.discard_rate_upper_95.toExponential(2)}`,
    );
  const ctx = benchContext();
  console.log(
    `${results.length} frames in ${wall.toFixed(0)} s wall, ${cpu.toFixed(0)} s CPU ` +
      `(${((n * results.length) / (cpu * 1e6)).toFixed(3)} Mbit/s per core); load ` +
      `${load0.map((x) => x.toFixed(2)).join(' ')} → ${ctx.machine.loadavg.map((x) => x.toFixed(2)).join(' ')}`,
  );
  writeBenchResult(`ldpc-n${n}-run${run}`, {
    ...ctx,
    loadavg_start: load0,
    decoder_version: DECODER,
    budget_seconds: seconds,
    workers,
    wall_seconds: wall,
    cpu_seconds: cpu,
    throughput_mbps_per_core: (n * results.length) / (cpu * 1e6),
    efficiency: rows.map((r) => ({
      ...r,
      efficiency_all: results.filter((x) => x.q === r.qber).map((x) => Math.round(x.f * 1e4) / 1e4),
    })),
  });
  pooled(n);
}

/** Pools every run file of this decoder for n (bench/results/ldpc-nN-run*.json). */
function pooled(n: number): void {
  const files = readdirSync('bench/results').filter((f) => f.startsWith(`ldpc-n${n}-run`));
  const byQ = new Map<number, { frames: number; discarded: number; fSum: number; fMax: number }>();
  const used: { file: string; commit: string; decoder: string; loadavg: number[]; frames: number }[] = [];
  for (const file of files) {
    const d = JSON.parse(readFileSync(`bench/results/${file}`, 'utf8'));
    if (!POOLED_WITH.includes(d.decoder_version)) continue;
    let frames = 0;
    for (const r of d.efficiency) {
      const acc = byQ.get(r.qber) ?? { frames: 0, discarded: 0, fSum: 0, fMax: 0 };
      acc.frames += r.frames;
      acc.discarded += r.frames_discarded;
      acc.fSum += r.efficiency_mean * r.frames;
      acc.fMax = Math.max(acc.fMax, r.efficiency_max);
      byQ.set(r.qber, acc);
      frames += r.frames;
    }
    used.push({ file, commit: d.commit, decoder: d.decoder_version, loadavg: d.machine.loadavg, frames });
  }
  const rows = [...byQ.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([q, a]) => ({
      n,
      qber: q,
      frames: a.frames,
      frames_discarded: a.discarded,
      discard_rate_upper_95: clopperPearsonUpper(a.discarded, a.frames),
      efficiency_mean: a.fSum / a.frames,
      efficiency_max: a.fMax,
    }));
  const frames = rows.reduce((a, r) => a + r.frames, 0);
  const discarded = rows.reduce((a, r) => a + r.frames_discarded, 0);
  const allQbers = {
    frames,
    frames_discarded: discarded,
    discard_rate_upper_95: clopperPearsonUpper(discarded, frames),
  };
  console.log(
    `pooled n=${n}, every QBER: ${frames} frames, ${discarded} discarded, 95 % upper bound ` +
      `${allQbers.discard_rate_upper_95.toExponential(2)}`,
  );
  for (const r of rows)
    console.log(
      `pooled n=${n} q=${r.qber}: ${r.frames} frames, ${r.frames_discarded} discarded, 95 % upper bound ` +
        `${r.discard_rate_upper_95.toExponential(2)}, f ${r.efficiency_mean.toFixed(4)}`,
    );
  writeBenchResult(`ldpc-n${n}-pooled`, {
    ...benchContext(),
    decoder_version: DECODER,
    pooled_with: POOLED_WITH,
    runs: used,
    rows,
    all_qbers: allQbers,
  });
}

/** Decoder throughput per core on the same frames (see the header). */
function decoderRow(quick: boolean) {
  const n = 1e5;
  const q = 0.03;
  const plan = planFrame(n, q);
  const { code } = plan;
  const llr = Math.log((1 - q) / q);
  const target = Math.ceil(1.1 * n * binaryEntropy(q));
  const revealed = Math.max(0, Math.min(plan.punctured.length, target - (code.m - plan.punctured.length)));
  const rng = createRng('bench-ldpc-decoder');
  const cases = Array.from({ length: quick ? 2 : 4 }, () => {
    const x = new Uint8Array(code.n);
    for (let i = 0; i < code.n; i++) x[i] = rng.nextUint32() & 1;
    const first = new Float32Array(code.n);
    for (const v of plan.shortened) {
      x[v] = 0;
      first[v] = SATURATION;
    }
    for (const v of plan.keyPos) first[v] = (x[v]! ^ (rng.nextFloat() < q ? 1 : 0)) === 1 ? -llr : llr;
    const ch = first.slice();
    for (let i = 0; i < revealed; i++) {
      const v = plan.punctured[i]!;
      ch[v] = x[v] ? -SATURATION : SATURATION;
    }
    return { x, first, ch, s: syndromeOf(code, x) };
  });
  type Stat = { ms: number; iterations: number; ok: number };
  const stat = (): Stat => ({ ms: 0, iterations: 0, ok: 0 });
  const all = {
    wasm_box_plus: stat(),
    typescript_box_plus_same_arithmetic: stat(),
    javascript_layered_sum_product_float: stat(),
    javascript_flooding_sum_product_float: stat(),
  };
  const firstAttempt = stat();
  const incremental = (
    make: () => SyndromeDecoder | LayeredDecoder,
    s: Stat,
    ch: Float32Array,
    syn: Uint8Array,
  ) => {
    const t = cpuMs();
    const d = make();
    d.reset(ch);
    const r = d.run(syn, 100);
    s.ms += cpuMs() - t;
    s.iterations += r.iterations;
    if (r.ok) s.ok++;
  };
  // JIT and instance warm-up, untimed.
  for (const make of [
    () => new BoxPlusDecoder(code),
    () => new BoxPlusReference(code),
    () => new LayeredDecoder(code),
  ]) {
    const d = make();
    d.reset(cases[0]!.ch);
    d.run(cases[0]!.s, 2);
  }
  for (const c of cases) {
    incremental(() => new BoxPlusDecoder(code), all.wasm_box_plus, c.ch, c.s);
    incremental(() => new BoxPlusReference(code), all.typescript_box_plus_same_arithmetic, c.ch, c.s);
    incremental(() => new LayeredDecoder(code), all.javascript_layered_sum_product_float, c.ch, c.s);
    const t = cpuMs();
    const f = sumProductFlooding(code, c.ch, c.s, 100);
    const fl = all.javascript_flooding_sum_product_float;
    fl.ms += cpuMs() - t;
    fl.iterations += f.iterations;
    if (f.ok) fl.ok++;
    incremental(() => new BoxPlusDecoder(code), firstAttempt, c.first, c.s);
  }
  const E = code.chkVar.length;
  const report = (d: Stat) => ({
    frames: cases.length,
    decoded: d.ok,
    iterations_mean: d.iterations / cases.length,
    cpu_ms_per_frame: d.ms / cases.length,
    key_mbps_per_core: (n * cases.length) / (d.ms * 1000),
    edge_updates_per_s: (d.iterations * E) / (d.ms / 1000),
  });
  const w = all.wasm_box_plus.ms;
  const row = {
    n,
    qber: q,
    mother_rate: code.rate,
    edges: E,
    leak_efficiency: (code.m - plan.punctured.length + revealed) / (n * binaryEntropy(q)),
    ...Object.fromEntries(Object.entries(all).map(([k, v]) => [k, report(v)])),
    speedup_wasm_over: {
      typescript_same_arithmetic: all.typescript_box_plus_same_arithmetic.ms / w,
      javascript_layered_float: all.javascript_layered_sum_product_float.ms / w,
      javascript_flooding_float: all.javascript_flooding_sum_product_float.ms / w,
    },
    protocol_first_attempt_wasm: {
      leak_efficiency: (code.m - plan.punctured.length) / (n * binaryEntropy(q)),
      ...report(firstAttempt),
    },
  };
  console.log(JSON.stringify(row, null, 2));
  return row;
}
