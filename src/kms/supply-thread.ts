/**
 * Southbound supply off the event loop: a worker thread (./supply-worker.ts) reads the KME's device files
 * (./supply-stream.ts), cuts each item into 256-bit chunks with their UUIDs (./supply.ts) and seals every
 * chunk with the store key (AES-256-GCM, ./store-crypto.ts) — the CPU-heavy part of supply, measured at
 * about three quarters of its cost per chunk. The main thread, which answers ETSI 014 requests, only
 * inserts the sealed rows, in short transactions between requests (./supply-pump.ts `supplySealed`); the
 * store, its in-memory pool levels and its once-only rules stay in one thread.
 *
 * Flow control: the worker stops reading while more than `maxAhead` chunks it sent are not stored yet;
 * the main thread acknowledges each slice once stored. Marks (how far a file was read) travel with the last
 * slice of each item and are stored with it, so a restart resumes after the last stored line.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Provenance } from '../common/index.ts';
import type { SealedChunkInput, SupplyMark } from './store.ts';

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
  readonly files: readonly SupplyWorkerFile[];
  /** The store key that seals new rows (one version), or null for a store without encryption at rest. */
  readonly keys: Map<number, Uint8Array> | null;
  /** Chunks sent and not yet acknowledged before the worker pauses reading. */
  readonly maxAhead: number;
}

/** Consecutive chunks of one item, sealed by the worker. */
export interface SealedSlice {
  readonly file: number;
  readonly peer: string;
  readonly blockId: string;
  /** Chunks of the whole item. */
  readonly total: number;
  /** Index of the first chunk here, and of the one after the last. */
  readonly from: number;
  readonly upto: number;
  readonly ids: readonly string[];
  /** 1 where this KME owns the chunk. */
  readonly mine: Uint8Array;
  /** Plaintext length of each chunk (≤ 32). */
  readonly bytes: Uint8Array;
  /** The sealed values one after another (each its plaintext length plus the seal's overhead). */
  readonly blob: Uint8Array;
  /** Store-key version that sealed them (0: plaintext). */
  readonly version: number;
  readonly overhead: number;
  readonly provenance: Provenance;
  readonly path: readonly string[];
  readonly exposedTo: readonly string[];
  /** With the item's last slice: how far the file was read. */
  readonly mark?: SupplyMark;
}

/** Messages from the worker. */
export type FromSupplyWorker = ({ t: 'slice' } & SealedSlice) | { t: 'error'; file: number; message: string };
/** Messages to the worker: `chunks` of earlier slices are stored. */
export interface ToSupplyWorker {
  readonly t: 'ack';
  readonly chunks: number;
}

/** The rows of a slice as the store takes them (its chunk `index` = `from` + position). */
export function sliceRows(s: SealedSlice): SealedChunkInput[] {
  const rows: SealedChunkInput[] = [];
  let at = 0;
  for (let i = 0; i < s.ids.length; i++) {
    const n = s.bytes[i]! + s.overhead;
    rows.push({
      id: s.ids[i]!,
      mine: s.mine[i] === 1,
      sealed: s.blob.subarray(at, at + n),
      version: s.version,
      bytes: s.bytes[i]!,
      provenance: s.provenance,
      path: s.path,
      exposedTo: s.exposedTo,
      blockId: s.blockId,
    });
    at += n;
  }
  return rows;
}

/** Chunks the worker may have sent and not seen stored: about 4 MB of sealed rows. */
export const SUPPLY_AHEAD_CHUNKS = 32_768;

/** A running supply worker. */
export interface SupplyThread {
  /** Stops reading (the worker ends; slices not yet stored are dropped). */
  stop(): Promise<void>;
}

/**
 * Starts the worker on `files`; each sealed slice goes to `store` (which resolves once the slice is stored),
 * problems to `onError` (file path and reason, never key material). `keys` is zeroed once handed over.
 */
export function startSupplyThread(opts: {
  files: readonly SupplyWorkerFile[];
  keys: Map<number, Uint8Array> | null;
  store: (slice: SealedSlice) => Promise<unknown>;
  onError: (file: string, e: Error) => void;
}): SupplyThread {
  const workerData: SupplyWorkerData = {
    files: opts.files,
    keys: opts.keys,
    maxAhead: SUPPLY_AHEAD_CHUNKS,
  };
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
    for (const k of opts.keys?.values() ?? []) k.fill(0);
  }
  let stopped = false;
  worker.on('message', (m: FromSupplyWorker) => {
    if (stopped) return;
    if (m.t === 'error') return opts.onError(opts.files[m.file]?.path ?? '?', new Error(m.message));
    void opts.store(m).then(
      () => {
        if (!stopped) worker.postMessage({ t: 'ack', chunks: m.ids.length } satisfies ToSupplyWorker);
      },
      (e: Error) => opts.onError(opts.files[m.file]?.path ?? '?', e),
    );
  });
  worker.on('error', (e) => {
    if (!stopped) opts.onError(opts.files.map((f) => f.path).join(', '), e);
  });
  worker.unref();
  return {
    async stop() {
      stopped = true;
      await worker.terminate();
    },
  };
}
