/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint (PRAGMA wal_autocheckpoint, 1000
 * pages) runs inside the COMMIT that crosses the threshold: it copies the WAL's pages into the database
 * file and, with synchronous=NORMAL, fsyncs both — on the thread that committed, i.e. the KME's event loop
 * (SQLite docs, "Write-Ahead Logging" §6 "Automatic Checkpoint"; "PRAGMA wal_checkpoint"). With supply
 * arriving in slices and enc_keys batches committing many times a second, those checkpoints were the
 * longest pauses the event loop saw.
 *
 * Here the store's connection turns automatic checkpoints off and a worker thread with its own connection
 * to the same file runs `wal_checkpoint(PASSIVE)` every CHECKPOINT_EVERY_MS: PASSIVE copies what it can
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

/** Interval between the worker's PASSIVE checkpoints, milliseconds. */
export const CHECKPOINT_EVERY_MS = 100;
/** Longest wait for the worker to release the mutex or close, milliseconds. */
const WAIT_MS = 10_000;

/** Slots of the shared Int32Array. */
const LOCK = 0; // 0 free, 1 held
const STOP = 1; // 1: the worker must close its connection and end
const CLOSED = 2; // 1: the worker's connection is closed

/** Plain JavaScript (no TypeScript loader needed, from the sources and from dist/cli.mjs alike). */
const WORKER_CODE = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const ctl = new Int32Array(workerData.ctl);
let db;
try {
  db = new Database(workerData.path, { fileMustExist: true });
  for (;;) {
    Atomics.wait(ctl, ${STOP}, 0, workerData.everyMs);
    if (Atomics.load(ctl, ${STOP}) === 1) break;
    if (Atomics.compareExchange(ctl, ${LOCK}, 0, 1) !== 0) continue;
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // A busy or failing checkpoint is retried next time; the WAL only grows meanwhile.
    } finally {
      Atomics.store(ctl, ${LOCK}, 0);
      Atomics.notify(ctl, ${LOCK});
    }
  }
} finally {
  try { db?.close(); } catch {}
  Atomics.store(ctl, ${CLOSED}, 1);
  Atomics.notify(ctl, ${CLOSED});
}
`;

/** The checkpoint worker of one store file. */
export class WalCheckpointer {
  readonly #ctl: Int32Array;
  readonly #worker: Worker;
  #stopped = false;

  /** Starts the worker on `path` (the database must exist, in WAL mode, autocheckpoint off). */
  constructor(path: string, everyMs = CHECKPOINT_EVERY_MS) {
    this.#ctl = new Int32Array(new SharedArrayBuffer(3 * 4));
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER_CODE, {
      eval: true,
      workerData: { path, sqlite, ctl: this.#ctl.buffer, everyMs },
    });
    // A failure in the worker only means checkpoints stop: the store's own close() still truncates.
    this.#worker.on('error', () => undefined);
    this.#worker.unref();
  }

  /** Runs `fn` (a checkpoint of the store's connection) while the worker cannot checkpoint. */
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

  /** Ends the worker and waits (synchronously) until its connection is closed. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    Atomics.store(this.#ctl, STOP, 1);
    Atomics.notify(this.#ctl, STOP);
    // The worker may not have opened its connection yet; it then closes at once. Waits are bounded so a
    // worker that failed to start never hangs the KME's shutdown.
    const end = Date.now() + WAIT_MS;
    while (Atomics.load(this.#ctl, CLOSED) === 0 && Date.now() < end) Atomics.wait(this.#ctl, CLOSED, 0, 50);
  }

  #acquire(): void {
    const end = Date.now() + WAIT_MS;
    while (Atomics.compareExchange(this.#ctl, LOCK, 0, 1) !== 0) {
      if (Date.now() > end) throw new Error('WAL checkpoint worker holds its lock too long');
      Atomics.wait(this.#ctl, LOCK, 1, 50);
    }
  }
}
