/**
 * Worker thread of one lane (pp-lanes.ts): warms up (untimed), says ready, and on `go` runs its lane —
 * both ends on the memory channel, or Bob's end over its own connection (saying `connected` once Alice's
 * first bytes arrive) — then answers with its report(s). Runs from the sources (tsx registered by the
 * parent's boot string) or from dist/pp-lane-worker.mjs (scripts/build-dist.mjs).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { QkdnetError } from '../common/index.ts';
import { connect, runEnd, type LaneAnswer, type LaneTask } from './pp-lanes.ts';
import { emptyReport, reconcileEnd, runMemoryTimed, warmUp } from './pp-reconcile.ts';

const task = workerData as LaneTask;
const answer = (a: LaneAnswer) => parentPort!.postMessage(a);

async function run(): Promise<LaneAnswer> {
  const { p, lane } = task;
  if (task.kind === 'memory') {
    const alice = emptyReport('alice', p.frames);
    const bob = emptyReport('bob', p.frames);
    const bobMux = reconcileEnd('bob', p, bob, lane);
    const aliceMux = reconcileEnd('alice', p, alice, lane);
    const timing = { aliceMs: 0, bobMs: 0 };
    runMemoryTimed(bobMux, aliceMux, timing);
    return { done: true, alice, bob, timing };
  }
  const socket = await connect(task.host, task.port);
  const bob = emptyReport('bob', p.frames);
  const mux = reconcileEnd('bob', p, bob, lane);
  const ended = runEnd(socket, mux, 'bob', task.params, task.idleMs);
  socket.once('data', () => answer({ connected: true }));
  const r = await ended;
  bob.wall_start_ms = r.start;
  bob.wall_end_ms = r.end;
  bob.bytes_sent = r.counters.bytesSent;
  bob.bytes_received = r.counters.bytesReceived;
  return { done: true, bob };
}

if (task.kind === 'memory' || task.warmup) warmUp(task.p);
parentPort!.once('message', () => {
  run().then(answer, (e: unknown) =>
    answer({ error: (e as Error).message, ...(e instanceof QkdnetError ? { code: e.code } : {}) }),
  );
});
answer({ ready: true });
