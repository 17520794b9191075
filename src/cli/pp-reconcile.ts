/**
 * Reconciliation between two ends that hold only their own key, over the memory channel (both ends in
 * this process) or TCP (one end per process, see pp-net.ts). How each end gets its view in simulation:
 * both derive frame f's pair from the shared seed (`noisyPair(n, q, seed:frame:f)`, a binary symmetric
 * channel of the given QBER) and keep only their own side, wiping the other at once; the pre-shared
 * authentication pool also comes from the seed. Nothing else is shared: each end derives its own shuffles
 * from the seed Bob announces per frame (fresh for every frame), keeps its own caches and its own state.
 *
 * Simulation oracle (measurement only, not part of the protocol): Bob also counts the frame's true
 * errors before wiping Alice's side (for the efficiency f = leaked/(n·h(e))), and each end reports a short
 * SHA-256 digest of its frame after reconciliation so the harness can count frames still wrong.
 */
import { createHash } from 'node:crypto';
import { BitArray, binaryEntropy, createRng } from '../common/index.ts';
import {
  AuthKeyPool,
  decodeItem,
  encodeItem,
  errorCorrection,
  noisyPair,
  ReconcileAliceFrame,
  ReconcileBobFrame,
  runInMemory,
  UNIT_AUTH_BITS,
  UnitMux,
  UnitPools,
  type MuxItem,
} from '../postprocess/index.ts';

/** What both ends of a reconciliation run agree on (compared at the TCP handshake). */
export interface ReconcileRunParams {
  readonly mode: 'reconcile';
  readonly algorithm: string;
  readonly qber: number;
  readonly blockSize: number;
  readonly frames: number;
  readonly window: number;
  readonly seed: string;
  /**
   * Lanes (default 1): frames are dealt round-robin over this many connections, each run by its own
   * worker thread at Bob (pp-lanes.ts), so his CPU-bound work (LDPC decoding) uses every core.
   */
  readonly threads?: number;
}

/** One lane of a run: frames f ≡ index (mod count), as units 0, 1, … of its own multiplexer. */
export interface Lane {
  readonly index: number;
  readonly count: number;
}

/** Frames of `lane` in a run of `frames` (all of them without lanes). */
export function laneFrames(frames: number, lane?: Lane): number {
  return lane ? Math.max(0, Math.ceil((frames - lane.index) / lane.count)) : frames;
}

/**
 * Untimed frames each process reconciles in memory before a timed run, so the timed frames run in
 * optimised code: Cascade's hot loops reach V8's top tier only after several thousand messages (a frame
 * is about a thousand), LDPC's decoder after a few frames.
 */
export function warmUpFrames(algorithm: string): number {
  return algorithm === 'ldpc' ? 3 : 12;
}

/** One end's figures (JSON line a peer process prints). */
export interface ReconcileEndReport {
  role: 'alice' | 'bob';
  frames_ok: number;
  frames_discarded: number;
  discard_reasons: Record<string, number>;
  /** Bob only: per frame, leaked parity bits, round trips, efficiency (simulation oracle for e). */
  leaked_bits: number[];
  round_trips: number[];
  efficiency: number[];
  /** Per frame, a 64-bit digest of this end's frame after reconciliation ('' when none). */
  digests: string[];
  /** Per frame, whether this end accepted it (verified and authenticated). */
  frame_ok: boolean[];
  cpu_seconds: number;
  wall_start_ms: number;
  wall_end_ms: number;
  bytes_sent: number;
  bytes_received: number;
}

function digest(key: BitArray): string {
  const h = createHash('sha256').update(
    new Uint8Array(key.words.buffer, key.words.byteOffset, key.words.byteLength),
  );
  return h.digest('hex').slice(0, 16);
}

/** The pre-shared pool both ends start from (simulation: from the seed). */
function presharedPool(seed: string, units: number): AuthKeyPool {
  const bits = BitArray.random(units * UNIT_AUTH_BITS, createRng(`${seed}:preshared-auth`));
  const pool = new AuthKeyPool(bits);
  bits.wipe();
  return pool;
}

/** Frame f as one end sees it; Bob also gets the true error count (simulation oracle). */
function frameView(
  p: ReconcileRunParams,
  f: number,
  role: 'alice' | 'bob',
): { key: BitArray; errors: number } {
  const pair = noisyPair(p.blockSize, p.qber, createRng(`${p.seed}:frame:${f}`));
  const [mine, other] = role === 'alice' ? [pair.alice, pair.bob] : [pair.bob, pair.alice];
  other.wipe();
  return { key: mine, errors: pair.errors };
}

/** An empty report for `role`. */
export function emptyReport(role: 'alice' | 'bob', frames: number): ReconcileEndReport {
  return {
    role,
    frames_ok: 0,
    frames_discarded: 0,
    discard_reasons: {},
    leaked_bits: [],
    round_trips: [],
    efficiency: [],
    digests: new Array<string>(frames).fill(''),
    frame_ok: new Array<boolean>(frames).fill(false),
    cpu_seconds: 0,
    wall_start_ms: 0,
    wall_end_ms: 0,
    bytes_sent: 0,
    bytes_received: 0,
  };
}

/** This end's multiplexer for a run; outcomes are written into `report`. */
export function reconcileEnd(
  role: 'alice' | 'bob',
  p: ReconcileRunParams,
  report: ReconcileEndReport,
  lane?: Lane,
): UnitMux {
  const alg = errorCorrection(p.algorithm);
  const units = laneFrames(p.frames, lane);
  // Each lane has its own pre-shared pool and streams (its own connection, carved in its unit order).
  const tag = lane ? `${p.seed}:lane${lane.index}/${lane.count}` : p.seed;
  const pools = new UnitPools(presharedPool(tag, units));
  const rng = createRng(`${tag}:${role}`);
  const n = p.blockSize;
  const errors: number[] = [];
  const frameOf = (unit: number) => (lane ? lane.index + unit * lane.count : unit);
  return new UnitMux({
    role: role === 'bob' ? 'initiator' : 'responder',
    units,
    window: p.window,
    create: (unit) => {
      const id = frameOf(unit);
      const view = frameView(p, id, role);
      errors[unit] = view.errors;
      if (role === 'alice')
        return new ReconcileAliceFrame(unit, pools.take(unit), alg, view.key, rng.stream(`verify:${id}`));
      // A fresh public shuffle seed per frame, announced in the setup; Alice derives the same shuffles.
      const shuffleSeed = rng.nextUint32();
      const end = new ReconcileBobFrame(unit, pools.take(unit), alg, view.key, {
        qberEstimate: p.qber,
        shuffleSeed,
      });
      view.key.wipe();
      return end;
    },
    onOutcome: (oc, unit) => {
      const id = frameOf(oc.unit);
      report.frame_ok[id] = oc.ok;
      if (oc.ok) report.frames_ok++;
      else {
        report.frames_discarded++;
        report.discard_reasons[oc.reason] = (report.discard_reasons[oc.reason] ?? 0) + 1;
      }
      if (unit instanceof ReconcileBobFrame) {
        const s = unit.stats;
        const e = errors[oc.unit]! > 0 ? errors[oc.unit]! / n : p.qber;
        report.leaked_bits.push(s.leakedBits);
        report.round_trips.push(s.roundTrips);
        report.efficiency.push(s.leakedBits / (n * binaryEntropy(e)));
        const key = unit.key;
        if (key) report.digests[id] = digest(key);
        key?.wipe();
      } else if (unit instanceof ReconcileAliceFrame) {
        report.leaked_bits.push(unit.leakedBits);
        const key = unit.key;
        if (key) report.digests[id] = digest(key);
        key?.wipe();
      }
    },
  });
}

/** One end's report from its lanes' reports (CPU seconds are the caller's: the whole process's). */
export function mergeReports(role: 'alice' | 'bob', frames: number, parts: ReconcileEndReport[]) {
  const r = emptyReport(role, frames);
  for (const x of parts) {
    r.frames_ok += x.frames_ok;
    r.frames_discarded += x.frames_discarded;
    for (const [k, v] of Object.entries(x.discard_reasons))
      r.discard_reasons[k] = (r.discard_reasons[k] ?? 0) + v;
    r.leaked_bits.push(...x.leaked_bits);
    r.round_trips.push(...x.round_trips);
    r.efficiency.push(...x.efficiency);
    x.digests.forEach((d, i) => {
      if (d) r.digests[i] = d;
      if (x.frame_ok[i]) r.frame_ok[i] = true;
    });
    r.bytes_sent += x.bytes_sent;
    r.bytes_received += x.bytes_received;
  }
  r.wall_start_ms = Math.min(...parts.map((x) => x.wall_start_ms));
  r.wall_end_ms = Math.max(...parts.map((x) => x.wall_end_ms));
  return r;
}

/** A wire for in-process runs that encodes and decodes every item, as TCP does (warm-up, tests). */
export const encodedCarry = (item: MuxItem): MuxItem => decodeItem(encodeItem(item));

/** Reconciles `warmUpFrames` frames in memory with both ends here (untimed): JIT for every code path. */
export function warmUp(p: ReconcileRunParams): void {
  const frames = warmUpFrames(p.algorithm);
  const w = { ...p, frames, window: Math.min(frames, p.window), seed: `${p.seed}:warm-up` };
  runInMemory(
    reconcileEnd('bob', w, emptyReport('bob', w.frames)),
    reconcileEnd('alice', w, emptyReport('alice', w.frames)),
    encodedCarry,
  );
}

/** CPU seconds of this process so far. */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Per-end wall time spent in each end's handlers (memory channel: both ends share this thread). */
export interface MemoryTiming {
  aliceMs: number;
  bobMs: number;
}

/** `runInMemory` with each end's handler time measured (for the CPU split of the memory channel). */
export function runMemoryTimed(bob: UnitMux, alice: UnitMux, t: MemoryTiming): void {
  let t0 = performance.now();
  let toAlice = bob.pump();
  t.bobMs += performance.now() - t0;
  while (toAlice.length > 0) {
    const toBob: MuxItem[] = [];
    t0 = performance.now();
    for (const item of toAlice) for (const r of alice.receive(item)) toBob.push(r);
    const t1 = performance.now();
    t.aliceMs += t1 - t0;
    toAlice = [];
    for (const item of toBob) for (const r of bob.receive(item)) toAlice.push(r);
    t.bobMs += performance.now() - t1;
  }
}
