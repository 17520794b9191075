/**
 * Store-key rotation while a KME serves: when its key file changes (`qkdnet kme rekey-store` adds a new
 * version), the new keyring is checked and made current in one transaction, then rows still sealed under
 * the old key are re-sealed in batches of `REKEY_BATCH`, each batch one durable transaction (SQLite:
 * inside the group commit, shared with whatever requests arrived in the same turn; PostgreSQL: rows
 * locked SKIP LOCKED, so replicas share the work, ./store-pg-seal.ts) — so requests keep being answered
 * between batches. When a pass finds no old row, the store records that the old key is no longer needed
 * (`retiring` cleared), which `rekey-store` waits for before removing the old key from the file.
 */
import type { GroupCommitter } from './batcher.ts';
import type { CoreLog } from './core.ts';
import type { KeyStore } from './store.ts';
import type { Keyring } from './store-crypto.ts';
import { describeSource, watchKeyring, type StoreKeySource } from './store-key.ts';

/** Rows re-sealed per durable batch (~2–5 ms of AES-GCM and HMAC on one core). */
export const REKEY_BATCH = 512;
/** Pause before looking again when a PostgreSQL step could do nothing (another replica lags or holds rows). */
const WAIT_MS = 500;

/** What a rotation drives: one store, SQLite or PostgreSQL. */
export interface RotatableStore {
  /** Takes a newer keyring, committed; resolves true while rotating. */
  setKeyring(ring: Keyring): Promise<boolean>;
  /** Re-seals up to `limit` rows in one durable transaction; resolves with how many. */
  rekeyStep(limit: number): Promise<number>;
  readonly rotating: boolean;
  /** The store's current key version (for the log). */
  readonly version: number;
  /** After the last step (SQLite: checkpoint, so old-key ciphertext leaves the WAL). */
  finish?(): void;
}

/** A SQLite store's rotation through its group committer. */
export function sqliteRotatable(store: KeyStore, committer: GroupCommitter): RotatableStore {
  return {
    setKeyring: (ring) => committer.submit(() => store.sealing.setKeyring(ring)),
    rekeyStep: (limit) => committer.submit(() => store.sealing.rekeyStep(limit)),
    get rotating() {
      return store.sealing.rotating;
    },
    get version() {
      return store.sealing.state().version;
    },
    finish: () => store.checkpoint(),
  };
}

/** Watches `source` and drives rotations of `store`; returns a function that stops both. */
export function startStoreKeyRotation(o: {
  store: RotatableStore;
  source: StoreKeySource;
  log: CoreLog & { info(obj: object, msg: string): void };
}): () => void {
  let stopped = false;
  let running = false;
  const drive = (): void => {
    if (running || stopped) return;
    running = true;
    let rows = 0;
    const step = (): void => {
      if (stopped) {
        running = false;
        return;
      }
      o.store.rekeyStep(REKEY_BATCH).then(
        (n) => {
          rows += n;
          if (o.store.rotating) return void (n > 0 ? setImmediate(step) : setTimeout(step, WAIT_MS));
          running = false;
          o.store.finish?.();
          o.log.info(
            { storeKeyVersion: o.store.version, rowsExamined: rows },
            'store key rotation complete; the old key is no longer needed',
          );
        },
        (e: Error) => {
          running = false;
          o.log.error({ err: e.message }, 'store key rotation stopped; it resumes at the next start');
        },
      );
    };
    step();
  };
  const stopWatch = watchKeyring(
    o.source,
    (ring) => {
      o.store.setKeyring(ring).then(
        (rotating) => {
          if (rotating) {
            o.log.info({ storeKeyVersion: o.store.version }, 'store key rotation started');
            drive();
          }
        },
        (e: Error) =>
          o.log.error({ err: e.message, source: describeSource(o.source) }, 'new store key refused'),
      );
    },
    (e) => o.log.error({ err: e.message }, 'store key file unreadable; keeping the current keys'),
  );
  if (o.store.rotating) drive(); // a rotation interrupted by a stop or crash resumes
  return () => {
    stopped = true;
    stopWatch();
  };
}
