/**
 * One process per store: an exclusive lock held for as long as a KME (or `qkdnet up`, `kme demo`) uses a
 * data directory or store file. The lock is an OS-level POSIX advisory lock (fcntl) taken through SQLite on
 * a small lock file beside what it guards: the holder keeps a `BEGIN IMMEDIATE` transaction open, i.e.
 * SQLite's RESERVED lock (SQLite docs, "File Locking And Concurrency In SQLite Version 3", §3), which no
 * other connection — in another process or this one — can take at the same time. The kernel drops the lock
 * when the holder exits in any way, kill -9 included, so a stale lock needs no clean-up: the next process
 * simply gets it (and reports whose it was). The holder's PID, host and start time are committed into the
 * file before the lock is held, so a refused process can name who holds it. Nothing else is touched on
 * refusal.
 */
import Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { QkdnetError } from '../common/index.ts';
import { makePrivateFile } from './private-fs.ts';

/** Who holds (or last held) a lock. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly startedMs: number;
  readonly command: string;
}

/** A held lock; `release()` gives it up (idempotent). */
export class ProcessLock {
  readonly path: string;
  /** The previous holder when it had died without releasing (a stale lock recovered), else null. */
  readonly recovered: LockHolder | null;
  readonly #db: Database.Database;

  private constructor(path: string, db: Database.Database, recovered: LockHolder | null) {
    this.path = path;
    this.#db = db;
    this.recovered = recovered;
  }

  /**
   * Takes the lock at `lockPath` for `what` (e.g. `store /x/kme-a.db`); throws STORE_LOCKED with one
   * line naming the holder if another process (or another open in this one) holds it.
   */
  static acquire(lockPath: string, what: string): ProcessLock {
    makePrivateFile(lockPath);
    let db: Database.Database;
    try {
      db = new Database(lockPath, { timeout: 0 });
      db.pragma('journal_mode = MEMORY');
    } catch (e) {
      throw new QkdnetError(
        'STORE_LOCKED',
        `Cannot lock ${what}: ${lockPath} is not a qkdnet lock file (${(e as Error).message}); remove it if no qkdnet process runs`,
      );
    }
    const refuse = (): never => {
      const h = readHolder(db);
      db.close();
      const who = h
        ? `pid ${h.pid} on ${h.host}, started ${new Date(h.startedMs).toISOString()} (${h.command})`
        : 'another process';
      throw new QkdnetError(
        'STORE_LOCKED',
        `Cannot open ${what}: it is in use by ${who}; one process per store (lock ${lockPath})`,
      );
    };
    if (!tryBegin(db)) refuse();
    const previous = readHolder(db);
    const me: LockHolder = {
      pid: process.pid,
      host: hostname(),
      startedMs: Date.now(),
      command: process.argv.slice(1, 4).join(' ').slice(0, 200),
    };
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER, host TEXT, started_ms INTEGER, command TEXT)');
    db.exec('DELETE FROM holder');
    db.prepare('INSERT INTO holder VALUES (?, ?, ?, ?)').run(me.pid, me.host, me.startedMs, me.command);
    db.exec('COMMIT');
    // Between COMMIT and BEGIN another process may win; then it holds the lock and this one refuses.
    if (!tryBegin(db)) refuse();
    const stale = previous && (previous.pid !== me.pid || previous.host !== me.host) ? previous : null;
    return new ProcessLock(lockPath, db, stale);
  }

  /** Gives the lock up (a clean release clears the holder, so only a dead holder shows as stale). */
  release(): void {
    if (!this.#db.open) return;
    try {
      this.#db.exec('DELETE FROM holder');
      this.#db.exec('COMMIT');
    } finally {
      this.#db.close();
    }
  }
}

function tryBegin(db: Database.Database): boolean {
  try {
    db.exec('BEGIN IMMEDIATE');
    return true;
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return false;
    throw e;
  }
}

function readHolder(db: Database.Database): LockHolder | null {
  try {
    const r = db.prepare('SELECT pid, host, started_ms, command FROM holder LIMIT 1').get() as
      { pid: number; host: string; started_ms: number; command: string } | undefined;
    return r ? { pid: r.pid, host: r.host, startedMs: r.started_ms, command: r.command } : null;
  } catch {
    return null; // no table yet, or the holder is mid-commit
  }
}
