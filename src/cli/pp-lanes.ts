/**
 * Lanes: a reconciliation run's frames dealt round-robin over `threads` connections, so that an end whose
 * work is CPU-bound (Bob's LDPC decoding: ≈ 0.1–0.3 s a 10⁵-bit frame against Alice's few ms) uses every
 * core. Bob runs each lane in its own worker thread (pp-lane-worker.ts) with its own connection, unit
 * multiplexer, pre-shared pool and streams; Alice, whose share is small, serves every lane's connection
 * from her main thread. The memory channel runs each lane — both ends — in a worker thread too, so the
 * one-process figure it is compared with uses the cores the same way.
 *
 * Lanes connect one after another: Bob's lane j connects once lane j − 1 has heard Alice's hello, which
 * she sends only after accepting it, so Alice's k-th accepted connection is lane k; each lane's index is
 * also a handshake parameter, so a mix-up is refused rather than run.
 */
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { QkdnetError } from '../common/index.ts';
import { runMuxOverSocket, type PeerParams, type UnitMux } from '../postprocess/index.ts';
import { UsageError } from './util.ts';
import {
  cpuSeconds,
  emptyReport,
  mergeReports,
  reconcileEnd,
  type Lane,
  type MemoryTiming,
  type ReconcileEndReport,
  type ReconcileRunParams,
} from './pp-reconcile.ts';

/** What a lane worker is asked to do (workerData). */
export type LaneTask =
  | { readonly kind: 'memory'; readonly p: ReconcileRunParams; readonly lane: Lane }
  | {
      readonly kind: 'bob';
      readonly p: ReconcileRunParams;
      readonly lane: Lane;
      readonly host: string;
      readonly port: number;
      readonly params: PeerParams;
      readonly idleMs: number;
      readonly warmup: boolean;
    };

/** What a lane worker answers, in order: ready (warmed up), connected (bob), then done or error. */
export type LaneAnswer =
  | { readonly ready: true }
  | { readonly connected: true }
  | {
      readonly done: true;
      readonly alice?: ReconcileEndReport;
      readonly bob: ReconcileEndReport;
      readonly timing?: MemoryTiming;
    }
  | { readonly error: string; readonly code?: string };

/** Connects to the peer (or a delaying proxy in front of it). */
export function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => resolve(s));
    s.once('error', (e) =>
      reject(
        new QkdnetError('PP_PEER_DISCONNECTED', `cannot reach the peer at ${host}:${port}: ${e.message}`),
      ),
    );
  });
}

/** Runs one end over `socket`; returns the byte counters and wall times. */
export async function runEnd(
  socket: net.Socket,
  mux: UnitMux,
  role: 'alice' | 'bob',
  params: PeerParams,
  idleMs: number,
) {
  const start = Date.now();
  const c = await runMuxOverSocket(socket, mux, {
    role: role === 'bob' ? 'initiator' : 'responder',
    params,
    idleTimeoutMs: idleMs,
  });
  return { counters: c, start, end: Date.now() };
}

/**
 * Accepts `count` connections on host:port, printing the bound port first: one promise per connection,
 * in accept order, each resolved as it is accepted (lane k + 1 connects only once lane k has run).
 * `close` stops listening (a run that failed early must not wait for lanes that will never come).
 */
export function acceptMany(
  host: string,
  port: number,
  count: number,
): { sockets: Promise<net.Socket>[]; close: () => void } {
  const waiting = Array.from({ length: count }, () => {
    const w = {} as {
      promise: Promise<net.Socket>;
      resolve: (s: net.Socket) => void;
      reject: (e: Error) => void;
    };
    w.promise = new Promise((resolve, reject) => Object.assign(w, { resolve, reject }));
    return w;
  });
  let accepted = 0;
  const server = net.createServer((s) => {
    waiting[accepted++]!.resolve(s);
    if (accepted === count) server.close();
  });
  const refuse = (why: Error) => {
    for (const w of waiting.slice(accepted)) w.reject(why);
    accepted = count;
  };
  server.once('error', (e) => refuse(new UsageError(`--listen: ${(e as Error).message}`)));
  server.listen(port, host, () => {
    process.stdout.write(`${JSON.stringify({ listening: (server.address() as net.AddressInfo).port })}\n`);
  });
  return {
    sockets: waiting.map((w) => w.promise),
    close: () => {
      if (server.listening) server.close();
      refuse(new QkdnetError('PP_PEER_DISCONNECTED', 'stopped waiting for the remaining lanes'));
    },
  };
}

/** Accepts one connection on host:port, printing the bound port first. */
export function acceptOne(host: string, port: number): Promise<net.Socket> {
  return acceptMany(host, port, 1).sockets[0]!;
}

/** The handshake parameters of lane `index` (the run's, plus which lane: a mix-up is refused). */
export function laneParams(params: PeerParams, lanes: number, index: number): PeerParams {
  return lanes > 1 ? { ...params, lane: index } : params;
}

/** Starts a lane worker (compiled: dist/pp-lane-worker.mjs; from the sources: tsx registered first). */
function startWorker(task: LaneTask): Worker {
  if (import.meta.url.endsWith('.mjs'))
    return new Worker(new URL('./pp-lane-worker.mjs', import.meta.url), { workerData: task });
  const src = new URL('./pp-lane-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(src)}); });`;
  return new Worker(boot, { eval: true, workerData: task });
}

/** A started worker whose answers are awaited one at a time. */
class LaneWorker {
  readonly #w: Worker;
  readonly #queue: LaneAnswer[] = [];
  #waiting: ((a: LaneAnswer) => void) | null = null;

  constructor(task: LaneTask) {
    this.#w = startWorker(task);
    const deliver = (a: LaneAnswer) => {
      const w = this.#waiting;
      this.#waiting = null;
      if (w) w(a);
      else this.#queue.push(a);
    };
    this.#w.on('message', deliver);
    this.#w.on('error', (e) => deliver({ error: e.message }));
    this.#w.on('exit', (code) => deliver({ error: `lane worker exited with code ${code}` }));
  }

  /** The next answer; an error answer rejects (with its code when it had one). */
  async next(): Promise<LaneAnswer> {
    const a = this.#queue.shift() ?? (await new Promise<LaneAnswer>((resolve) => (this.#waiting = resolve)));
    if ('error' in a)
      throw new QkdnetError(
        (a.code as 'PP_PEER_DISCONNECTED' | undefined) ?? 'PP_PEER_DISCONNECTED',
        `lane: ${a.error}`,
      );
    return a;
  }

  go(): void {
    this.#w.postMessage('go');
  }

  async close(): Promise<void> {
    await this.#w.terminate();
  }
}

const lanesOf = (threads: number): Lane[] =>
  Array.from({ length: threads }, (_, index) => ({ index, count: threads }));

/**
 * The memory channel in `threads` lanes, each lane's two ends in one worker thread, after each worker's
 * untimed warm-up. Wall time from the start signal to the last lane's end; CPU is this process's (every
 * thread), split between the ends by the time their handlers took.
 */
export async function runMemoryLanes(p: ReconcileRunParams, threads: number) {
  const workers = lanesOf(threads).map((lane) => new LaneWorker({ kind: 'memory', p, lane }));
  try {
    for (const w of workers) await w.next(); // ready
    const c0 = cpuSeconds();
    const t0 = performance.now();
    for (const w of workers) w.go();
    const done = await Promise.all(workers.map((w) => w.next()));
    const wall = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds() - c0;
    const timing = { aliceMs: 0, bobMs: 0 };
    const alices: ReconcileEndReport[] = [];
    const bobs: ReconcileEndReport[] = [];
    for (const d of done) {
      if (!('done' in d) || !d.alice || !d.timing) throw new Error('a memory lane answered out of turn');
      alices.push(d.alice);
      bobs.push(d.bob);
      timing.aliceMs += d.timing.aliceMs;
      timing.bobMs += d.timing.bobMs;
    }
    const share = timing.aliceMs / Math.max(1e-9, timing.aliceMs + timing.bobMs);
    const alice = mergeReports('alice', p.frames, alices);
    const bob = mergeReports('bob', p.frames, bobs);
    alice.cpu_seconds = cpu * share;
    bob.cpu_seconds = cpu * (1 - share);
    return { alice, bob, wall };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
}

/**
 * Bob's end in `threads` lanes, each a worker thread with its own connection to host:port; the lanes
 * connect in order (this file's header). CPU seconds are this process's, every thread, from the first
 * connection to the last lane's end.
 */
export async function runBobLanes(
  p: ReconcileRunParams,
  threads: number,
  host: string,
  port: number,
  params: PeerParams,
  idleMs: number,
  warmup: boolean,
): Promise<ReconcileEndReport> {
  const workers = lanesOf(threads).map(
    (lane) =>
      new LaneWorker({
        kind: 'bob',
        p,
        lane,
        host,
        port,
        params: laneParams(params, threads, lane.index),
        idleMs,
        warmup,
      }),
  );
  try {
    for (const w of workers) await w.next(); // ready
    const c0 = cpuSeconds();
    const finished: Promise<LaneAnswer>[] = [];
    for (const w of workers) {
      w.go();
      await w.next(); // connected: Alice accepted this lane before the next one connects
      finished.push(w.next());
    }
    const done = await Promise.all(finished);
    const bob = mergeReports(
      'bob',
      p.frames,
      done.map((d) => ('done' in d ? d.bob : emptyReport('bob', p.frames))),
    );
    bob.cpu_seconds = cpuSeconds() - c0;
    return bob;
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
}

/**
 * One end of a run over `sockets`, one lane each, every lane in this thread: Alice's (her share of the
 * work is small), or Bob's when there is one lane.
 */
export async function runLanesHere(
  role: 'alice' | 'bob',
  sockets: Promise<net.Socket>[],
  p: ReconcileRunParams,
  params: PeerParams,
  idleMs: number,
): Promise<ReconcileEndReport> {
  const lanes = lanesOf(sockets.length);
  const c0 = cpuSeconds();
  const parts = await Promise.all(
    lanes.map(async (lane) => {
      const socket = await sockets[lane.index]!;
      const report = emptyReport(role, p.frames);
      const mux = reconcileEnd(role, p, report, lanes.length > 1 ? lane : undefined);
      const r = await runEnd(socket, mux, role, laneParams(params, lanes.length, lane.index), idleMs);
      report.wall_start_ms = r.start;
      report.wall_end_ms = r.end;
      report.bytes_sent = r.counters.bytesSent;
      report.bytes_received = r.counters.bytesReceived;
      return report;
    }),
  );
  const merged = mergeReports(role, p.frames, parts);
  merged.cpu_seconds = cpuSeconds() - c0;
  return merged;
}
