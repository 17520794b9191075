/**
 * Group commit (the classic database technique, e.g. Gray & Reuter, "Transaction Processing", §9.4.7):
 * operations that arrive while the event loop is busy are run together in ONE SQLite transaction, so one
 * fsync makes a whole batch durable instead of one fsync per request. In the store's `group` durability
 * mode the fsync (fdatasync of the WAL file) runs on the libuv thread pool, so the next batch forms (and,
 * up to MAX_SYNCS_IN_FLIGHT, commits) while the previous one is being synced. Each operation
 * runs in its own savepoint (better-sqlite3 nests transactions as savepoints), so a failing operation rolls
 * back alone and the others commit. Promises resolve only after the batch's COMMIT and sync have
 * returned, i.e. after the data is on disk; an answer is never sent for a write that could still be lost.
 */
import type { KeyStore } from './store.ts';

/** Batches whose fsync may overlap (measured: 1 starves low concurrency, unbounded stalls high). */
export const MAX_SYNCS_IN_FLIGHT = 2;

interface Op<T> {
  readonly run: () => T;
  /** Resolve after COMMIT without waiting for the fsync (./lease.ts: safe because the lease is durable). */
  readonly lazy: boolean;
  readonly resolve: (v: T) => void;
  readonly reject: (e: unknown) => void;
}

/** Batches synchronous store operations into one durable transaction per event-loop turn. */
export class GroupCommitter {
  readonly #store: KeyStore;
  #queue: Op<unknown>[] = [];
  #scheduled = false;
  #syncing = 0;
  #batches = 0;
  #ops = 0;

  constructor(store: KeyStore) {
    this.#store = store;
  }

  /** Runs `fn` inside the next batch's transaction; resolves after the batch is committed. */
  submit<T>(fn: () => T): Promise<T> {
    return this.#push(fn, false);
  }

  /**
   * Runs `fn` inside the next batch's transaction; resolves once the batch is committed — in the WAL, so
   * it survives a killed process — without waiting for the fsync that makes it survive a power loss.
   * Only for writes whose loss on power failure is harmless (confirming leased keys, ./lease.ts). A batch
   * of lazy operations alone is not synced; the next synced batch covers it.
   */
  submitLazy<T>(fn: () => T): Promise<T> {
    return this.#push(fn, true);
  }

  #push<T>(fn: () => T, lazy: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run: fn, lazy, resolve, reject } as Op<unknown>);
      this.#schedule();
    });
  }

  #schedule(): void {
    // At most MAX_SYNCS_IN_FLIGHT batches syncing: a COMMIT's WAL write() waits on the file's lock while an
    // fsync runs, blocking the event loop, so beyond that requests wait in the queue and form the next,
    // larger batch (measured: one in flight starves 10 connections, unbounded stalls 50).
    if (this.#scheduled || this.#syncing >= MAX_SYNCS_IN_FLIGHT || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  /** Batches committed and operations run so far (for metrics and the benchmark). */
  stats(): { batches: number; ops: number } {
    return { batches: this.#batches, ops: this.#ops };
  }

  #flush(): void {
    this.#scheduled = false;
    const ops = this.#queue;
    this.#queue = [];
    if (ops.length === 0) return;
    let results: ({ ok: true; v: unknown } | { ok: false; e: unknown })[];
    try {
      results = this.#store.runBatch(ops.map((op) => op.run));
    } catch (e) {
      // The COMMIT itself failed (disk full, I/O error): nothing of the batch is durable.
      for (const op of ops) op.reject(e);
      return;
    }
    this.#batches++;
    this.#ops += ops.length;
    const settle = (lazy: boolean) =>
      ops.forEach((op, i) => {
        if (op.lazy !== lazy) return;
        const r = results[i]!;
        if (r.ok) op.resolve(r.v);
        else op.reject(r.e);
      });
    settle(true);
    if (ops.every((op) => op.lazy)) {
      this.#schedule();
      return;
    }
    // In group mode the batch is on disk only after the WAL fsync; the loop keeps serving meanwhile.
    this.#syncing++;
    const done = () => {
      this.#syncing--;
      this.#schedule();
    };
    this.#store.syncWal().then(
      () => {
        done();
        settle(false);
      },
      (e: unknown) => {
        done();
        ops.forEach((op) => !op.lazy && op.reject(e));
      },
    );
  }
}
