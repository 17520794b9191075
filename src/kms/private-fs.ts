/**
 * Private files for key material at rest: every directory qkdnet creates for stores, PKI and logs is mode
 * 0700 and every file 0600, set explicitly with chmod whatever the process umask (POSIX `open(2)` applies
 * the umask to the mode asked for, so asking is not enough). An existing data directory that other users
 * can enter or read is reported in one line, or refused under `--strict-permissions` (docs/kme.md, "Key
 * material at rest").
 */
import { chmodSync, closeSync, existsSync, fchmodSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { QkdnetError } from '../common/index.ts';

/** Mode of every directory qkdnet creates: owner only. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every file qkdnet creates: owner read/write only. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates `dir` (and any missing parents) with mode 0700 each; leaves existing directories' modes alone
 * (an operator's choice, checked by `checkDataDir`). Returns the directories it created.
 */
export function makePrivateDir(dir: string): string[] {
  const created: string[] = [];
  let d = resolve(dir);
  while (!existsSync(d)) {
    created.unshift(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  for (const c of created) {
    try {
      mkdirSync(c, { mode: PRIVATE_DIR_MODE });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      continue; // created meanwhile by someone else: not ours to chmod
    }
    chmodSync(c, PRIVATE_DIR_MODE);
  }
  return created;
}

/** Creates `path` empty with mode 0600 if it does not exist, and sets 0600 either way. */
export function makePrivateFile(path: string): void {
  const fd = openSync(path, 'a', PRIVATE_FILE_MODE);
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
  } finally {
    closeSync(fd);
  }
}

/** Sets mode 0600 on each of `paths` that exists (e.g. SQLite's -wal and -shm after it created them). */
export function privatizeFiles(...paths: string[]): void {
  for (const p of paths) {
    try {
      chmodSync(p, PRIVATE_FILE_MODE);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}

/** True when group or others have any permission on `path`. */
export function isShared(path: string): boolean {
  return (statSync(path).mode & 0o077) !== 0;
}

/** Options of `checkDataDir`. */
export interface DataDirCheck {
  /** Refuse (throw DATA_DIR_INSECURE) instead of warning. */
  readonly strict?: boolean;
  /** Where the one-line warning goes (default: stderr). */
  readonly warn?: (line: string) => void;
}

/**
 * Checks an existing data directory (and files qkdnet keeps secrets in, e.g. a store-key file): when group
 * or others have any permission, warns in one line, or with `strict` throws DATA_DIR_INSECURE (exit 2).
 * A path that does not exist yet passes (qkdnet will create it private). Touches nothing.
 */
export function checkDataDir(path: string, opts: DataDirCheck = {}): void {
  if (!existsSync(path)) return;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  const what = statSync(path).isDirectory() ? 'data directory' : 'file';
  const octal = mode.toString(8).padStart(4, '0');
  if (opts.strict)
    throw new QkdnetError(
      'DATA_DIR_INSECURE',
      `Refusing to start: ${what} ${path} is mode ${octal}, open to other users (chmod go= ${path}, or drop --strict-permissions)`,
    );
  (opts.warn ?? ((l: string) => process.stderr.write(`${l}\n`)))(
    `qkdnet: warning: ${what} ${path} is mode ${octal}, open to other users (chmod go= ${path}; --strict-permissions refuses to start)`,
  );
}
