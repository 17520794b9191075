// @edge: measures throughput with the wall clock and the process's CPU clock
/**
 * `qkdnet reconcile` — measure error correction between two ends that each hold only their own key:
 * Alice's random frames and Bob's copies through a binary symmetric channel of the given QBER, reconciled
 * `--frames` times with up to `--window` frames in flight, each frame verified and authenticated
 * (Wegman–Carter transcript) as in the pipeline. `--channel memory` runs both ends in this process;
 * `--channel tcp` runs them as two processes through the delaying proxy (`--rtt-ms`). Reports efficiency
 * f = leaked bits / (n·h(e)), frame error rate, frames discarded, round trips, leaked bits, wall and CPU
 * time, bytes and throughput. Bad input is one line on stderr and exit code 2.
 */
import type { Command } from 'commander';
import { ProgressBar, UsageError, formatTable, parseFormat, parseNumber } from '../util.ts';
import { algorithmNames, parseAlgorithm } from '../algorithms.ts';
import {
  cpuSeconds,
  emptyReport,
  reconcileEnd,
  runMemoryTimed,
  warmUp,
  warmUpFrames,
  type ReconcileEndReport,
  type ReconcileRunParams,
} from '../pp-reconcile.ts';
import { runTwoProcesses } from '../pp-net.ts';
import { runMemoryLanes } from '../pp-lanes.ts';
import { QkdnetError } from '../../common/index.ts';

/** The JSON object `qkdnet reconcile --format json` prints. */
export interface ReconcileJson {
  algorithm: string;
  qber: number;
  block_size: number;
  runs: number;
  efficiency_mean: number;
  efficiency_sd: number;
  /** Frames whose corrected key still differed from Alice's after error correction, / frames. */
  frame_error_rate: number;
  round_trips_mean: number;
  leaked_bits_mean: number;
  /** Frame bits reconciled (verified frames) per second of wall time after the warm-up, both ends. */
  throughput_mbps: number;
  channel: 'memory' | 'tcp';
  rtt_ms: number;
  frames: number;
  window: number;
  wall_seconds: number;
  cpu_seconds_alice: number;
  cpu_seconds_bob: number;
  /** Bytes on the TCP connection, both directions (null on the memory channel: nothing is encoded). */
  bytes_exchanged: number | null;
  /** Frames lost at verification, by decoder failure or by authentication. */
  frames_discarded: number;
  warmup_frames: number;
  /** Lanes (connections; worker threads at Bob and on the memory channel); 1 without --threads. */
  threads: number;
}

const EXAMPLES = `
Examples:
  $ qkdnet reconcile --qber 0.02 --block-size 100000
      improved Cascade (Martinez-Mateo et al. 2015) on ten 10^5-bit frames at 2% QBER, in this process
  $ qkdnet reconcile --qber 0.02 --block-size 1e5 --channel tcp --rtt-ms 1 --frames 100 --window 16
      Alice and Bob as two processes, 1 ms round trip between them, 16 frames in flight
  $ qkdnet reconcile --qber 0.03 --block-size 10000 --algorithm cascade-original --frames 200 --format json
  $ qkdnet reconcile --qber 0.03 --block-size 100000 --algorithm ldpc --channel tcp --rtt-ms 10
      rate-adaptive LDPC (one-way syndrome, blind retries): latency matters little
  $ qkdnet reconcile --qber 0.02 --block-size 1e5 --algorithm ldpc --frames 64 --threads 2 --channel tcp
      frames dealt over 2 connections (lanes), Bob decoding each lane in its own worker thread

Efficiency f = every disclosed bit (parities; for ldpc the syndrome less the bits padded by punctured
symbols, plus every revealed or confirmation bit) / (n·h(e)), with e the frame's actual error fraction
(f = 1 is the Shannon limit; the original Cascade is near 1.15, the improved one near 1.04 on long frames).
frame_error_rate counts frames still wrong after error correction; frames_discarded counts frames that
produced nothing (verification failed, decoder failure, authentication failed).
throughput_mbps is frame bits of verified frames per second of wall time, from the first message to the
last at both ends, after untimed warm-up frames in each process (JIT: ${warmUpFrames('cascade-improved')} for Cascade,
${warmUpFrames('ldpc')} for LDPC); every frame uses a
fresh public shuffle seed, and each end derives its own shuffles. On the tcp channel the one-way delay
(rtt/2) is added by a user-space proxy (qkdnet netem) on 127.0.0.1. cpu_seconds_* are each process's CPU
time (tcp) or this process's CPU time split by the time each end spent in its handlers (memory).
Each end holds only its own key: both derive frame f from the seed and discard the other side's bits.`;

interface Options {
  qber?: string;
  blockSize?: string;
  algorithm: string;
  runs?: string;
  frames?: string;
  window: string;
  threads: string;
  channel: string;
  rttMs?: string;
  seed: string;
  format: string;
}

/** Combines both ends' reports into the command's JSON. */
export function summarize(
  p: ReconcileRunParams,
  channel: 'memory' | 'tcp',
  rttMs: number,
  alice: ReconcileEndReport,
  bob: ReconcileEndReport,
  wallSeconds: number,
  bytes: number | null,
): ReconcileJson {
  const f = p.frames;
  const effs = bob.efficiency;
  const mean = effs.reduce((a, b) => a + b, 0) / Math.max(1, effs.length);
  const sd =
    effs.length > 1 ? Math.sqrt(effs.reduce((a, b) => a + (b - mean) ** 2, 0) / (effs.length - 1)) : 0;
  let wrong = 0;
  for (let i = 0; i < f; i++) if (!bob.digests[i] || bob.digests[i] !== alice.digests[i]) wrong++;
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  const verified = Math.min(alice.frames_ok, bob.frames_ok);
  return {
    algorithm: p.algorithm,
    qber: p.qber,
    block_size: p.blockSize,
    runs: f,
    efficiency_mean: mean,
    efficiency_sd: sd,
    frame_error_rate: wrong / f,
    round_trips_mean: sum(bob.round_trips) / Math.max(1, bob.round_trips.length),
    leaked_bits_mean: sum(bob.leaked_bits) / Math.max(1, bob.leaked_bits.length),
    throughput_mbps: wallSeconds > 0 ? (verified * p.blockSize) / (wallSeconds * 1e6) : 0,
    channel,
    rtt_ms: rttMs,
    frames: f,
    window: p.window,
    wall_seconds: wallSeconds,
    cpu_seconds_alice: alice.cpu_seconds,
    cpu_seconds_bob: bob.cpu_seconds,
    bytes_exchanged: bytes,
    frames_discarded: Math.max(alice.frames_discarded, bob.frames_discarded),
    warmup_frames: warmUpFrames(p.algorithm),
    threads: p.threads ?? 1,
  };
}

/**
 * Both ends in this process (the memory channel), after an untimed warm-up; with `threads` lanes, each
 * lane's two ends in a worker thread of its own (pp-lanes.ts).
 */
export async function measureReconcileMemory(
  p: ReconcileRunParams,
  onProgress: (done: number) => void = () => {},
): Promise<ReconcileJson> {
  if ((p.threads ?? 1) > 1) {
    const r = await runMemoryLanes(p, p.threads!);
    onProgress(p.frames);
    return summarize(p, 'memory', 0, r.alice, r.bob, r.wall, null);
  }
  warmUp(p);
  const alice = emptyReport('alice', p.frames);
  const bob = emptyReport('bob', p.frames);
  const bobMux = reconcileEnd('bob', p, bob);
  const aliceMux = reconcileEnd('alice', p, alice);
  const timing = { aliceMs: 0, bobMs: 0 };
  const c0 = cpuSeconds();
  const t0 = performance.now();
  runMemoryTimed(bobMux, aliceMux, timing);
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - c0;
  onProgress(p.frames);
  const share = timing.aliceMs / Math.max(1e-9, timing.aliceMs + timing.bobMs);
  alice.cpu_seconds = cpu * share;
  bob.cpu_seconds = cpu * (1 - share);
  return summarize(p, 'memory', 0, alice, bob, wall, null);
}

/** Alice and Bob as two processes through the delaying proxy. */
export async function measureReconcileTcp(p: ReconcileRunParams, rttMs: number): Promise<ReconcileJson> {
  const r = await runTwoProcesses<ReconcileEndReport>({
    args: [
      '--mode',
      'reconcile',
      '--algorithm',
      p.algorithm,
      '--qber',
      String(p.qber),
      '--block-size',
      String(p.blockSize),
      '--frames',
      String(p.frames),
      '--window',
      String(p.window),
      '--seed',
      p.seed,
      // An LDPC end decodes every frame of its window before it next writes: on a loaded machine that is
      // minutes without a byte, which the default 30 s would take for a dead peer.
      '--idle-timeout',
      '600',
      ...((p.threads ?? 1) > 1 ? ['--threads', String(p.threads)] : []),
    ],
    rttMs,
  });
  if (!r.alice.report || !r.bob.report) {
    const why = [r.bob.error && `bob: ${r.bob.error}`, r.alice.error && `alice: ${r.alice.error}`].filter(
      Boolean,
    );
    throw new QkdnetError('PP_PEER_DISCONNECTED', `reconciliation over tcp failed (${why.join('; ')})`);
  }
  const a = r.alice.report;
  const b = r.bob.report;
  const wall = (Math.max(a.wall_end_ms, b.wall_end_ms) - Math.min(a.wall_start_ms, b.wall_start_ms)) / 1000;
  return summarize(p, 'tcp', rttMs, a, b, wall, b.bytes_sent + b.bytes_received);
}

export function register(program: Command): void {
  program
    .command('reconcile')
    .description(
      'measure error correction (Cascade, LDPC) between two ends: efficiency, frame errors, round trips, throughput',
    )
    .option('--qber <q>', 'bit error rate between the keys, 0 < q < 0.5 (e.g. 0.02)')
    .option('--block-size <n>', 'frame length in bits, 1..2·10^6 (e.g. 100000 or 1e5)')
    .option('--algorithm <name>', algorithmNames().join(' | '), 'cascade-improved')
    .option('--frames <f>', 'frames to reconcile, 1..100000 (default 10)')
    .option('--runs <r>', 'the same as --frames (older name)')
    .option('--window <w>', 'frames in flight at once, 1..1024', '8')
    .option(
      '--threads <k>',
      'lanes: frames dealt over k connections, Bob (and the memory channel) one worker thread each, 1..64',
      '1',
    )
    .option(
      '--channel <c>',
      'memory (both ends in this process) | tcp (two processes through a delaying proxy)',
      'memory',
    )
    .option('--rtt-ms <d>', 'tcp: round-trip time the proxy adds, ms (default 0)')
    .option('--seed <s>', 'seed of the simulated keys (same seed, same numbers)', '1')
    .option('--format <f>', 'text | json', 'text')
    .addHelpText('after', EXAMPLES)
    .action(async (o: Options) => {
      if (o.qber === undefined) throw new UsageError('--qber is required (e.g. --qber 0.02)');
      if (o.blockSize === undefined)
        throw new UsageError('--block-size is required (e.g. --block-size 100000)');
      const qber = parseNumber(o.qber, '--qber', { min: 1e-6, max: 0.49 });
      const n = parseNumber(o.blockSize, '--block-size', { min: 1, max: 2e6, integer: true });
      if (o.runs !== undefined && o.frames !== undefined && o.runs !== o.frames)
        throw new UsageError('--runs and --frames name the same count; give one');
      const frames = parseNumber(o.frames ?? o.runs ?? '10', o.frames ? '--frames' : '--runs', {
        min: 1,
        max: 1e5,
        integer: true,
      });
      const window = parseNumber(o.window, '--window', { min: 1, max: 1024, integer: true });
      const threads = parseNumber(o.threads, '--threads', { min: 1, max: 64, integer: true });
      if (threads > frames) throw new UsageError(`--threads ${threads} is more than --frames ${frames}`);
      const format = parseFormat(o.format, ['text', 'json'] as const);
      const algorithm = parseAlgorithm(o.algorithm);
      if (o.channel !== 'memory' && o.channel !== 'tcp')
        throw new UsageError(`--channel: "${o.channel}" is not one of memory, tcp`);
      if (o.channel === 'memory' && o.rttMs !== undefined)
        throw new UsageError('--rtt-ms needs --channel tcp (the memory channel has no delay)');
      const rttMs = parseNumber(o.rttMs ?? '0', '--rtt-ms', { min: 0, max: 10_000 });
      const p: ReconcileRunParams = {
        mode: 'reconcile',
        algorithm,
        qber,
        blockSize: n,
        frames,
        window,
        seed: o.seed,
        ...(threads > 1 ? { threads } : {}),
      };
      const bar = new ProgressBar(`reconcile ${algorithm} (${o.channel})`, frames);
      const r =
        o.channel === 'tcp'
          ? await measureReconcileTcp(p, rttMs)
          : await measureReconcileMemory(p, (d) => bar.update(d));
      bar.done();
      if (format === 'json') process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else
        process.stdout.write(
          `${formatTable(
            [
              'algorithm',
              'qber',
              'block_size',
              'channel',
              'rtt ms',
              'frames',
              'window',
              'efficiency',
              '± sd',
              'FER',
              'discarded',
              'round trips',
              'leaked bits',
              'wall s',
              'Mbit/s',
            ],
            [
              [
                r.algorithm,
                r.qber,
                r.block_size,
                r.channel,
                r.rtt_ms,
                r.frames,
                r.window,
                r.efficiency_mean,
                r.efficiency_sd,
                r.frame_error_rate,
                r.frames_discarded,
                r.round_trips_mean,
                r.leaked_bits_mean,
                r.wall_seconds,
                r.throughput_mbps,
              ],
            ],
          )}\n`,
        );
    });
}
