/**
 * Southbound supply off the event loop: a worker thread (./supply-worker.ts) with its own connection to
 * the KME's SQLite store reads the device files (./supply-stream.ts), cuts each item into 256-bit chunks
 * with their UUIDs (./supply.ts), seals them with the store key (AES-256-GCM, ./store-crypto.ts), inserts
 * them in transactions of its own (./supply-pump.ts, the same once-only rules and stored marks as
 * in-process supply), syncs the WAL and checkpoints it. The thread that answers ETSI 014 requests does none
 * of this: it only learns, after each commit, the worker's part of the pool levels (`KeyStore.noteSupply`).
 *
 * SQLite allows one writer at a time: both connections begin their transactions IMMEDIATE and wait for
 * each other (busy_timeout); the worker's transactions are short (SUPPLY_SLICE_MS of work). A restart
 * resumes each file after the last line stored (its mark), without reading the file again.
 *
 * Store-key rotation: when the main connection's key version changes, the worker gets the new keyring
 * (and seals new rows with it); the rotation's last step also checks that no row still uses a retiring key.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { KeyStore, PoolLevel, SupplyMark } from './store.ts';

/** A device file the worker reads for the link to `peer`. */
export interface SupplyWorkerFile {
  readonly path: string;
  readonly self: string;
  readonly peer: string;
  readonly follow: boolean;
  /** Where the store says the last run stopped. */
  readonly resume?: SupplyMark | undefined;
}

/** What the worker is started with. */
export interface SupplyWorkerData {
  readonly store: string;
  readonly maxChunksPerPeer: number;
  readonly durability: 'full' | 'group';
  readonly files: readonly SupplyWorkerFile[];
  /** The store keyring (every version), or null for a store without encryption at rest. */
  readonly keys: Map<number, Uint8Array> | null;
}

/** What the worker's connection committed (and synced) for one peer. */
export interface SupplyNote {
  readonly level: PoolLevel;
  readonly dropped: number;
  readonly erasedOnArrival: number;
  readonly touched: boolean;
  /** Chunks still queued in the worker. */
  readonly backlog: number;
}

/** Messages from the worker. */
export type FromSupplyWorker =
  { t: 'stored'; peer: string; note: SupplyNote } | { t: 'error'; message: string } | { t: 'ready' };
/** Messages to the worker: a new keyring (rotation). */
export interface ToSupplyWorker {
  readonly t: 'keys';
  readonly keys: Map<number, Uint8Array>;
}

/** Work per worker transaction, milliseconds: long enough to amortise the commit, short for the main thread's waits. */
export const SUPPLY_SLICE_MS = 25;

/** A running supply worker. */
export interface SupplyThread {
  /** Stops the worker (supply not stored yet is dropped; the marks say where to resume). */
  stop(): Promise<void>;
}

/** The keyring of `store` as plain key copies for the worker (the caller's copies are zeroed on transfer). */
function keysOf(store: KeyStore): Map<number, Uint8Array> | null {
  const ring = store.sealing.keyringCopy();
  if (!ring) return null;
  try {
    return ring.copyKeys();
  } finally {
    ring.destroy();
  }
}

/**
 * Starts the worker on `files` for the store `store` (open on this thread as the main connection): from
 * then on the worker stores the files' supply and checkpoints the WAL. `onNote` gets the worker's figures
 * after each commit, `onError` its problems (file and reason, never key material).
 */
export function startSupplyThread(opts: {
  store: KeyStore;
  path: string;
  files: readonly SupplyWorkerFile[];
  onNote: (peer: string, note: SupplyNote) => void;
  onError: (e: Error) => void;
}): SupplyThread {
  const { store } = opts;
  const keys = keysOf(store);
  const workerData: SupplyWorkerData = {
    store: opts.path,
    maxChunksPerPeer: store.maxChunksPerPeer,
    durability: store.durability,
    files: opts.files,
    keys,
  };
  store.attachSupplyWriter();
  // Compiled (this module inside dist/cli.mjs, scripts/build-dist.mjs): the worker is dist/supply-worker.mjs;
  // from the sources it is TypeScript: register tsx inside it first (as ../server/key-supply.ts does).
  const compiled = import.meta.url.endsWith('.mjs');
  const built = new URL('./supply-worker.mjs', import.meta.url);
  const source = new URL(compiled ? '../src/kms/supply-worker.ts' : './supply-worker.ts', import.meta.url);
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(source.href)}); });`;
  let worker: Worker;
  try {
    worker =
      compiled && existsSync(fileURLToPath(built))
        ? new Worker(built, { workerData })
        : new Worker(boot, { eval: true, workerData });
  } finally {
    for (const k of keys?.values() ?? []) k.fill(0);
  }
  let version = store.sealing.state().version;
  let stopped = false;
  worker.on('message', (m: FromSupplyWorker) => {
    if (stopped) return;
    if (m.t === 'error') opts.onError(new Error(m.message));
    if (m.t !== 'stored') return;
    opts.onNote(m.peer, m.note);
    // A rotation began on this connection: the worker seals new rows with the new key from now on.
    const now = store.sealing.state().version;
    if (now !== version) {
      version = now;
      const fresh = keysOf(store);
      if (fresh) worker.postMessage({ t: 'keys', keys: fresh } satisfies ToSupplyWorker);
      for (const k of fresh?.values() ?? []) k.fill(0);
    }
  });
  worker.on('error', (e) => {
    if (!stopped) opts.onError(e);
  });
  // However it ends, checkpoints return to the main connection (else the WAL would grow without bound).
  worker.on('exit', () => store.detachSupplyWriter());
  worker.unref();
  return {
    async stop() {
      stopped = true;
      await worker.terminate();
    },
  };
}
