/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint (PRAGMA wal_autocheckpoint, 1000
 * pages) runs inside the COMMIT that crosses the threshold: it copies the WAL's pages into the database
 * file and, with synchronous=NORMAL, fsyncs both — on the thread that committed, i.e. the KME's event loop
 * (SQLite docs, "Write-Ahead Logging" §6 "Automatic Checkpoint"; "PRAGMA wal_checkpoint"). With supply
 * arriving in slices and enc_keys batches committing many times a second, those checkpoints were the
 * longest pauses the event loop saw.
 *
 * Here the store's connection turns automatic checkpoints off and a worker thread with its own connection
 * to the same file runs `wal_checkpoint(PASSIVE)` every CHECKPOINT_EVERY_MS (one worker per process for
 * all its stores — `qkdnet up` runs a KME per node in one process): PASSIVE copies what it can
 * without waiting for readers or writers (WAL mode allows one checkpointer beside the writer), so the
 * writer is never blocked, and the writer restarts the WAL from its beginning once a checkpoint has copied
 * everything (so the WAL stays as small as before). The worker is the only other connection; the
 * one-process store lock (./store-lock.ts) is unaffected.
 *
 * The store's own checkpoints (`KeyStore.checkpoint`, TRUNCATE on close) must not race the worker's (a
 * second checkpointer gets SQLITE_BUSY): a mutex in shared memory (Atomics) is taken by the worker around
 * each checkpoint and by `exclusive()` around the store's, and `stop()` waits until the worker has closed
 * its connection, so the store's connection is the last one when it closes.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Interval between the worker's PASSIVE checkpoints of a store, milliseconds. */
export const CHECKPOINT_EVERY_MS = 100;
/** How often the worker looks for stores to stop, milliseconds (bounds the wait in `stop()`). */
const TICK_MS = 10;
/** Longest wait for the worker to release the mutex or close, milliseconds. */
const WAIT_MS = 10_000;

/** Slots of each store's shared Int32Array. */
const LOCK = 0; // 0 free, 1 held
const STOP = 1; // 1: the worker must close its connection to this store
const CLOSED = 2; // 1: the worker's connection to this store is closed (or was never opened)

/** Plain JavaScript (no TypeScript loader needed, from the sources and from dist/cli.mjs alike). */
const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const stores = new Set();
const closed = (s) => {
  try { s.db?.close(); } catch {}
  stores.delete(s);
  Atomics.store(s.ctl, ${CLOSED}, 1);
  Atomics.notify(s.ctl, ${CLOSED});
};
parentPort.on('message', (m) => {
  const s = { ctl: new Int32Array(m.ctl), db: undefined, due: 0 };
  stores.add(s);
  try {
    if (Atomics.load(s.ctl, ${STOP}) === 0) s.db = new Database(m.path, { fileMustExist: true });
  } catch {
    closed(s);
  }
});
setInterval(() => {
  const now = Date.now();
  for (const s of stores) {
    if (Atomics.load(s.ctl, ${STOP}) === 1 || !s.db) { closed(s); continue; }
    if (now < s.due || Atomics.compareExchange(s.ctl, ${LOCK}, 0, 1) !== 0) continue;
    s.due = now + workerData.everyMs;
    try {
      s.db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // A busy or failing checkpoint is retried next time; the WAL only grows meanwhile.
    } finally {
      Atomics.store(s.ctl, ${LOCK}, 0);
      Atomics.notify(s.ctl, ${LOCK});
    }
  }
}, ${TICK_MS});
`;

let worker: Worker | undefined;

/** The process's checkpoint worker (started on first use, never keeps the process alive). */
function sharedWorker(): Worker {
  if (!worker) {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    worker = new Worker(WORKER_CODE, { eval: true, workerData: { sqlite, everyMs: CHECKPOINT_EVERY_MS } });
    // A failure in the worker only means checkpoints stop: the stores' TRUNCATE checkpoints (every 30 s
    // and on close) still bound the WAL; stop() waits at most WAIT_MS.
    worker.on('error', () => {
      worker = undefined;
    });
    worker.unref();
  }
  return worker;
}

/** Checkpoints of one store file by the process's checkpoint worker. */
export class WalCheckpointer {
  readonly #ctl: Int32Array;
  #stopped = false;

  /** Hands `path` to the worker (the database must exist, in WAL mode, its autocheckpoint off). */
  constructor(path: string) {
    this.#ctl = new Int32Array(new SharedArrayBuffer(3 * 4));
    sharedWorker().postMessage({ path, ctl: this.#ctl.buffer });
  }

  /** Runs `fn` (a checkpoint of the store's connection) while the worker cannot checkpoint this store. */
  exclusive<T>(fn: () => T): T {
    const held = !this.#stopped;
    if (held) this.#acquire();
    try {
      return fn();
    } finally {
      if (held) {
        Atomics.store(this.#ctl, LOCK, 0);
        Atomics.notify(this.#ctl, LOCK);
      }
    }
  }

  /** Ends the worker's connection to this store and waits (synchronously) until it is closed. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    Atomics.store(this.#ctl, STOP, 1);
    // Bounded, so a worker that failed never hangs the KME's shutdown.
    const end = Date.now() + WAIT_MS;
    while (Atomics.load(this.#ctl, CLOSED) === 0 && Date.now() < end && worker)
      Atomics.wait(this.#ctl, CLOSED, 0, 50);
  }

  #acquire(): void {
    const end = Date.now() + WAIT_MS;
    while (Atomics.compareExchange(this.#ctl, LOCK, 0, 1) !== 0) {
      if (Date.now() > end) throw new Error('WAL checkpoint worker holds its lock too long');
      Atomics.wait(this.#ctl, LOCK, 1, 50);
    }
  }
}
