/**
 * A data directory as `qkdnet up` and `qkdnet kme demo` use it (PKI, store key, stores): checked for
 * permissions other users have (warning, or refusal with `strictPermissions`), created private (0700)
 * if missing, and locked for this process (`<dir>/qkdnet.lock`, ./store-lock.ts) — all before anything
 * inside it is read or written, so a second process on the same directory exits without touching it.
 */
import { join, resolve } from 'node:path';
import { checkDataDir, makePrivateDir, type DataDirCheck } from './private-fs.ts';
import { ProcessLock } from './store-lock.ts';

/** Name of the lock file inside a data directory. */
export const DATA_DIR_LOCK = 'qkdnet.lock';

/**
 * Locks `dir` (as `lockDataDir`) and runs `start` with the lock; releases it if `start` fails, else the
 * started thing owns it (releases it when it stops).
 */
export async function withDataDirLock<T>(
  dir: string,
  opts: DataDirCheck & { strictPermissions?: boolean },
  start: (lock: ProcessLock) => Promise<T>,
): Promise<T> {
  const lock = lockDataDir(dir, opts);
  try {
    return await start(lock);
  } catch (e) {
    lock.release();
    throw e;
  }
}

/** Checks, creates (0700) and locks `dir`; the caller releases the lock when it stops. */
export function lockDataDir(
  dir: string,
  opts: DataDirCheck & { strictPermissions?: boolean } = {},
): ProcessLock {
  const abs = resolve(dir);
  checkDataDir(abs, {
    strict: opts.strictPermissions ?? opts.strict ?? false,
    ...(opts.warn ? { warn: opts.warn } : {}),
  });
  makePrivateDir(abs);
  return ProcessLock.acquire(join(abs, DATA_DIR_LOCK), `data directory ${abs}`);
}
