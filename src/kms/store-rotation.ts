/**
 * Store-key rotation while a KME serves: when its key file changes (`qkdnet kme rekey-store` adds a new
 * version), the new keyring is checked and made current inside the group commit, then rows still sealed
 * under the old key are re-sealed in batches of `REKEY_BATCH`, each batch one durable transaction shared
 * with whatever requests arrived in the same turn — so requests keep being answered between batches. When
 * a pass finds no old row, the store records that the old key is no longer needed (`retiring` cleared),
 * which `rekey-store` waits for before removing the old key from the file.
 */
import type { GroupCommitter } from './batcher.ts';
import type { CoreLog } from './core.ts';
import type { KeyStore } from './store.ts';
import { describeSource, watchKeyring, type StoreKeySource } from './store-key.ts';

/** Rows re-sealed per durable batch (~2–5 ms of AES-GCM and HMAC on one core). */
export const REKEY_BATCH = 512;

/** Watches `source` and drives rotations of `store`; returns a function that stops both. */
export function startStoreKeyRotation(o: {
  store: KeyStore;
  committer: GroupCommitter;
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
      o.committer
        .submit(() => o.store.sealing.rekeyStep(REKEY_BATCH))
        .then(
          (n) => {
            rows += n;
            if (o.store.sealing.rotating) return void setImmediate(step);
            running = false;
            o.store.checkpoint(); // old-key ciphertext leaves the WAL
            o.log.info(
              { storeKeyVersion: o.store.sealing.state().version, rowsExamined: rows },
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
      o.committer
        .submit(() => o.store.sealing.setKeyring(ring))
        .then(
          (rotating) => {
            if (rotating) {
              o.log.info({ storeKeyVersion: o.store.sealing.state().version }, 'store key rotation started');
              drive();
            }
          },
          (e: Error) =>
            o.log.error({ err: e.message, source: describeSource(o.source) }, 'new store key refused'),
        );
    },
    (e) => o.log.error({ err: e.message }, 'store key file unreadable; keeping the current keys'),
  );
  if (o.store.sealing.rotating) drive(); // a rotation interrupted by a stop or crash resumes
  return () => {
    stopped = true;
    stopWatch();
  };
}
