/**
 * Checks a long-running command makes BEFORE it creates any state (PKI, stores, data directories): the
 * ports it will listen on are free, the data directory can be written, the scenario can be read. Each
 * failure is a UsageError — one line on stderr, exit 2 — naming the flag or file, so a typo never leaves a
 * half-created data directory behind. A port can still be taken between the check and the listen (another
 * process racing); the listen then fails with the same one-line error after cleaning up.
 */
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from './util.ts';

/** Rejects when `port` on `host` cannot be bound now (in use, or not allowed). Port 0 always passes. */
export async function checkPortFree(host: string, port: number, what: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((ok, fail) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? 'is already in use' : `cannot be bound (${e.code ?? e.message})`;
      fail(new UsageError(`${what}: port ${port} on ${host} ${why} (try another, or 0 for any free port)`));
    });
    s.listen({ host, port, exclusive: true }, () => s.close(() => ok()));
  });
}

/**
 * Rejects when `dir` cannot serve as a data directory: it (or the nearest existing ancestor it would be
 * created under) is a file, or cannot be written. Writability is probed with a file created and removed
 * at once, because permission bits alone say nothing for root or for read-only mounts.
 */
export function checkWritableDir(dir: string, what: string): void {
  let at = resolve(dir);
  while (!existsSync(at)) {
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  const st = statSync(at);
  if (!st.isDirectory())
    throw new UsageError(
      at === resolve(dir) ? `${what}: "${dir}" is a file, not a directory` : `${what}: "${at}" is a file`,
    );
  const probe = join(at, `.qkdnet-probe-${process.pid}`);
  try {
    accessSync(at, constants.W_OK | constants.X_OK);
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (e) {
    throw new UsageError(
      `${what}: "${at}" is not writable (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/** Rejects when the SQLite file `path` cannot be created or opened: its directory is unusable, or it is a directory. */
export function checkStoreFile(path: string, what: string): void {
  checkWritableDir(dirname(path), what);
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory())
    throw new UsageError(`${what}: "${path}" is a directory, not a file`);
}

/** Reads a text file the command needs (scenario, config): missing, a directory or unreadable → UsageError. */
export function readInputFile(path: string, what: string): string {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`${what}: no file "${path}"`);
  }
  if (st.isDirectory()) throw new UsageError(`${what}: "${path}" is a directory, not a file`);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${what}: cannot read "${path}" (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
