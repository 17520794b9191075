/**
 * `npm run bench -- reconcile-net [--quick] [--frames F] [--window W]`: error correction and the whole
 * pipeline between Alice and Bob as two OS processes over TCP through the delaying proxy (qkdnet netem,
 * in this process) at RTT 0, 1 and 10 ms, against the same code with both ends in one process (the memory
 * channel), in the same run.
 *
 * - Reconciliation: every registered algorithm, QBER 2%, 10⁵-bit frames, a fresh public shuffle seed per
 *   frame from which each end derives its own shuffles, W frames in flight, every frame verified and
 *   authenticated (Wegman–Carter transcript). Throughput = bits of verified frames per second of wall time
 *   from the first message to the last at both ends, after untimed warm-up frames in each process; CPU
 *   seconds of each end beside it (tcp: each process's own; memory: this process's CPU split by the time
 *   spent in each end's handlers).
 * - Pipeline: blocks of the example link (≈ 5·10⁵ sifted bits each) through sifting, estimation, error
 *   correction, verification, PA and authentication: two processes at 1 ms RTT against the same two-party
 *   code in one process, and the one-process `runPipeline` for reference; Mbit/s of sifted key.
 *
 * Wall time on this shared machine mostly measures the queue for its two cores: the load average is
 * recorded before and after. Writes bench/results/reconcile-net.json.
 */
import { benchContext, writeBenchResult } from './meta.ts';
import { createRng } from '../src/common/index.ts';
import {
  RECONCILE_ALGORITHM_NAMES,
  runPipeline,
  type ReconcileAlgorithmName,
} from '../src/postprocess/index.ts';
import {
  measureReconcileMemory,
  measureReconcileTcp,
  type ReconcileJson,
} from '../src/cli/commands/reconcile.ts';
import { warmUpFrames } from '../src/cli/pp-reconcile.ts';
import {
  exampleSource,
  pipelineWarmUp,
  runPipelineMemory,
  PIPELINE_WARMUP_BLOCKS,
  type PipelineEndReport,
  type PipelineRunParams,
} from '../src/cli/pp-pipeline.ts';
import { runTwoProcesses } from '../src/cli/pp-net.ts';
import os from 'node:os';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const flag = (name: string, dflt: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
// 120 frames: with W = 64 the run reaches a steady state (two windows' worth). With 40, all in flight from
// the start, a 1 ms run was bounded by one frame's chain of ≈ 470 round trips (≥ 0.5 s) against ≈ 1 s for
// all 40 in one process, so the ratio measured that chain, not the per-message cost.
const FRAMES = flag('--frames', quick ? 12 : 120);
// 64 frames in flight: improved Cascade needs ~470 round trips a 10⁵-bit frame, and on a shared machine
// each round trip also waits for three processes to be scheduled, so 16 frames left both ends idle
// (0.15 vs 0.48 Mbit/s at 1 ms RTT, same load, W = 16 vs 64).
const WINDOW = flag('--window', 64);
// 32 blocks, all in flight: a block needs hundreds of sequential round trips (sifting, estimation, every
// Cascade round, verification, PA), so with 8 the two processes mostly waited on the wire at 1 ms RTT
// (sifted-key ratio to one process 0.45 with 8 blocks, 0.51–0.62 with 32 in trial runs at load 3–4).
const BLOCKS = flag('--blocks', quick ? 4 : 32);
// LDPC: Bob's decoding is the work (≈ 0.15 s of CPU a frame against Alice's few ms), so 8 frames lasted
// ≈ 2 s a row and the ratios were noise (0.77–1.43 between quiet runs). 64 frames, dealt over 2 lanes: Bob
// (and the memory channel, both ends of a lane in one worker) decodes on both cores, so both channels
// are CPU-bound the same way.
const LDPC_FRAMES = flag('--ldpc-frames', quick ? 4 : 64);
const LDPC_THREADS = flag('--ldpc-threads', 2);
const RTTS = [0, 1, 10];
const load0 = os.loadavg();

interface Row {
  algorithm: string;
  channel: string;
  rtt_ms: number;
  frames: number;
  window: number;
  threads: number;
  throughput_mbps: number;
  wall_seconds: number;
  cpu_seconds_alice: number;
  cpu_seconds_bob: number;
  efficiency_mean: number;
  frames_discarded: number;
  frame_error_rate: number;
  round_trips_mean: number;
  bytes_exchanged: number | null;
  /** tcp: CPU of this harness process during the run — the delaying proxy, nearly all of it. */
  cpu_seconds_proxy?: number;
}

const pick = (j: ReconcileJson): Row => ({
  algorithm: j.algorithm,
  channel: j.channel,
  rtt_ms: j.rtt_ms,
  frames: j.frames,
  window: j.window,
  threads: j.threads,
  throughput_mbps: +j.throughput_mbps.toFixed(3),
  wall_seconds: +j.wall_seconds.toFixed(3),
  cpu_seconds_alice: +j.cpu_seconds_alice.toFixed(3),
  cpu_seconds_bob: +j.cpu_seconds_bob.toFixed(3),
  efficiency_mean: +j.efficiency_mean.toFixed(4),
  frames_discarded: j.frames_discarded,
  frame_error_rate: j.frame_error_rate,
  round_trips_mean: j.round_trips_mean,
  bytes_exchanged: j.bytes_exchanged,
});

const rows: Row[] = [];
for (const algorithm of RECONCILE_ALGORITHM_NAMES) {
  const isLdpc = algorithm === 'ldpc';
  const p = {
    mode: 'reconcile' as const,
    algorithm,
    qber: 0.02,
    blockSize: 1e5,
    frames: isLdpc ? LDPC_FRAMES : FRAMES,
    window: WINDOW,
    seed: 'bench',
    ...(isLdpc && LDPC_THREADS > 1 ? { threads: LDPC_THREADS } : {}),
  };
  const mem = pick(await measureReconcileMemory(p));
  rows.push(mem);
  console.log(`${algorithm} memory: ${mem.throughput_mbps} Mbit/s (wall ${mem.wall_seconds} s)`);
  for (const rtt of RTTS) {
    const c0 = process.cpuUsage();
    const r = pick(await measureReconcileTcp(p, rtt));
    const c = process.cpuUsage(c0);
    r.cpu_seconds_proxy = +((c.user + c.system) / 1e6).toFixed(3);
    rows.push(r);
    console.log(
      `${algorithm} tcp rtt ${rtt} ms: ${r.throughput_mbps} Mbit/s (wall ${r.wall_seconds} s, cpu ${r.cpu_seconds_alice}/${r.cpu_seconds_bob} s, proxy ${r.cpu_seconds_proxy} s)`,
    );
    if (r.frame_error_rate > 0.2) throw new Error(`sanity: ${JSON.stringify(r)}`);
  }
}

// Whole pipeline: one process (runPipeline and the two-party code on the memory channel) vs two processes.
const pp: PipelineRunParams = {
  mode: 'pipeline',
  source: 'example',
  blocks: BLOCKS,
  window: Math.min(WINDOW, BLOCKS),
  algorithm: 'cascade-improved' as ReconcileAlgorithmName,
  seed: 'bench',
  link: '{}',
  keys: 'secret',
};
const source = exampleSource(pp.seed);
const siftedOf = (r: PipelineEndReport) => r.stats.reduce((s, x) => s + (x?.sifted_bits ?? 0), 0);
pipelineWarmUp(pp, source);
const onePass = (() => {
  const raws = Array.from({ length: BLOCKS }, (_, b) => source(b));
  const rng = createRng('bench-one-process');
  for (let b = 0; b < PIPELINE_WARMUP_BLOCKS; b++) runPipeline(source(BLOCKS + b), {}, rng.stream(`w${b}`));
  const t0 = performance.now();
  let sifted = 0;
  for (const raw of raws) {
    const r = runPipeline(raw, {}, rng.stream(`b${raw.blockId}`));
    if (!r.ok) throw new Error(`sanity: runPipeline block failed: ${r.reason}`);
    sifted += r.stats.sifted_bits;
  }
  const wall = (performance.now() - t0) / 1000;
  return {
    what: 'runPipeline, one process',
    wall_seconds: +wall.toFixed(3),
    sifted_mbps: +(sifted / wall / 1e6).toFixed(3),
  };
})();
const memPipe = (() => {
  const r = runPipelineMemory(pp, source);
  if (r.alice.blocks_ok !== BLOCKS || r.bob.blocks_ok !== BLOCKS)
    throw new Error('sanity: two-party memory block failed');
  return {
    what: 'two-party ends, one process (memory channel)',
    wall_seconds: +r.wallSeconds.toFixed(3),
    cpu_seconds: +r.cpuSeconds.toFixed(3),
    sifted_mbps: +(siftedOf(r.bob) / r.wallSeconds / 1e6).toFixed(3),
  };
})();
console.log(
  `pipeline one process: ${onePass.sifted_mbps} / two-party memory: ${memPipe.sifted_mbps} Mbit/s sifted`,
);
const tcpPipe: Record<string, unknown>[] = [];
for (const rtt of [0, 1]) {
  const r = await runTwoProcesses<PipelineEndReport>({
    args: [
      '--mode',
      'pipeline',
      '--source',
      'example',
      '--frames',
      String(BLOCKS),
      '--window',
      String(pp.window),
      '--algorithm',
      pp.algorithm,
      '--seed',
      pp.seed,
    ],
    rttMs: rtt,
  });
  const a = r.alice.report;
  const b = r.bob.report;
  if (!a || !b) throw new Error(`pipeline over tcp failed: ${r.bob.error ?? r.alice.error}`);
  const equal = a.digests.every((d, i) => d !== '' && d === b.digests[i]);
  const wall = (Math.max(a.wall_end_ms, b.wall_end_ms) - Math.min(a.wall_start_ms, b.wall_start_ms)) / 1000;
  tcpPipe.push({
    what: 'two-party ends, two processes over tcp',
    rtt_ms: rtt,
    wall_seconds: +wall.toFixed(3),
    cpu_seconds_alice: +a.cpu_seconds.toFixed(3),
    cpu_seconds_bob: +b.cpu_seconds.toFixed(3),
    sifted_mbps: +(siftedOf(b) / wall / 1e6).toFixed(3),
    blocks_ok: Math.min(a.blocks_ok, b.blocks_ok),
    keys_equal: equal,
    bytes_exchanged: b.bytes_sent + b.bytes_received,
  });
  console.log(
    `pipeline tcp rtt ${rtt} ms: ${tcpPipe.at(-1)!.sifted_mbps} Mbit/s sifted, keys equal ${equal}`,
  );
}

const row = (alg: string, ch: string, rtt = 0) =>
  rows.find((r) => r.algorithm === alg && r.channel === ch && r.rtt_ms === rtt);
const ratio = (alg: string, rtt: number) => {
  const t = row(alg, 'tcp', rtt);
  const m = row(alg, 'memory');
  return t && m && m.throughput_mbps > 0 ? +(t.throughput_mbps / m.throughput_mbps).toFixed(3) : null;
};
const imp1 = row('cascade-improved', 'tcp', 1);
const pipe1 = tcpPipe.find((r) => r.rtt_ms === 1)!;
const targets = {
  cascade_improved_window_1ms: {
    throughput_mbps: imp1?.throughput_mbps,
    target: '≥ 10 Mbit/s',
    met: (imp1?.throughput_mbps ?? 0) >= 10,
  },
  ...Object.fromEntries(
    RECONCILE_ALGORITHM_NAMES.map((a) => [
      `${a}_tcp_1ms_vs_memory`,
      { ratio: ratio(a, 1), target: '≥ 0.7', met: (ratio(a, 1) ?? 0) >= 0.7 },
    ]),
  ),
  ...(RECONCILE_ALGORITHM_NAMES.includes('ldpc' as ReconcileAlgorithmName)
    ? {
        ldpc_tcp_10ms_vs_memory: {
          ratio: ratio('ldpc', 10),
          target: '≥ 0.9',
          met: (ratio('ldpc', 10) ?? 0) >= 0.9,
        },
      }
    : {}),
  pipeline_two_processes_1ms_vs_one_process: {
    ratio: +((pipe1.sifted_mbps as number) / memPipe.sifted_mbps).toFixed(3),
    sifted_mbps: pipe1.sifted_mbps,
    target: '≥ 0.7 of the same two-party pipeline in one process',
    met: (pipe1.sifted_mbps as number) / memPipe.sifted_mbps >= 0.7,
  },
};
const result = {
  benchmark: 'reconcile-net',
  quick,
  conditions: {
    qber: 0.02,
    block_size: 1e5,
    window: WINDOW,
    frames: FRAMES,
    ldpc_frames: LDPC_FRAMES,
    ldpc_threads: LDPC_THREADS,
    shuffles: 'fresh public seed per frame; each end derives its own permutations',
    proxy: 'user-space delaying proxy (qkdnet netem) in the harness process, one-way delay rtt/2, 127.0.0.1',
    warm_up: `untimed in-process frames (${warmUpFrames('cascade-improved')} Cascade, ${warmUpFrames('ldpc')} LDPC) / blocks (${PIPELINE_WARMUP_BLOCKS}) in every process before the timed run`,
    load_average_before: load0,
    load_average_after: os.loadavg(),
  },
  reconcile: rows,
  pipeline: { one_process: onePass, two_party_memory: memPipe, two_processes: tcpPipe },
  targets,
  ...benchContext(),
};
writeBenchResult('reconcile-net', result);
console.log(JSON.stringify(targets, null, 2));
