/**
 * Encryption at rest in the SQLite key store (./store.ts), on top of ./store-crypto.ts: which columns hold
 * key bytes and what identifies their rows, the store's key metadata (`store_meta`: cipher, current key
 * version, one check value per version, versions still being retired), the check that a keyring opens the
 * store — made before anything is written —, sealing of plaintext rows left by an older qkdnet, and
 * rotation in small batches while the KME serves.
 *
 * Rotation: a keyring with a newer version makes it current (new rows use it) and records the older
 * versions as retiring; `rekeyStep` re-seals a batch of rows still under a retiring version (a cursor per
 * table, by rowid); once a full pass finds none, the retiring list is cleared — from then on the old key
 * is not needed and may be destroyed. Every step runs inside the caller's transaction (the KME's group
 * commit), so it is durable before the retiring list is cleared.
 */
import type Database from 'better-sqlite3';
import { QkdnetError } from '../common/index.ts';
import { Keyring, rowAd, SEAL_OVERHEAD, SealError, sealedVersion } from './store-crypto.ts';

/** A table column holding key bytes and the columns that identify (and own) its rows. */
export interface SealedColumn {
  readonly table: string;
  readonly column: string;
  /** Columns bound as associated data: row id first, then owner fields. */
  readonly ad: readonly string[];
  /**
   * SQL condition selecting the rows that hold sealed bytes in the column (default: all), and the column
   * it reads: a store of an older schema without that column has only such rows.
   */
  readonly where?: { readonly sql: string; readonly column: string };
}

/** Every column of the store that holds key bytes. A table added later with key bytes registers here. */
export const SEALED_COLUMNS: SealedColumn[] = [
  // Chunks written before runs (./store-runs.ts) hold their own bytes; a run chunk's `material` is empty.
  {
    table: 'chunks',
    column: 'material',
    ad: ['id', 'peer', 'mine'],
    where: { sql: 'run IS NULL', column: 'run' },
  },
  { table: 'chunk_runs', column: 'material', ad: ['seq', 'peer', 'manifest'] },
  { table: 'keys', column: 'material', ad: ['id', 'peer', 'master'] },
];

/** Adds a table's key column to the sealed set (call before opening stores). */
export function registerSealedColumn(c: SealedColumn): void {
  if (!SEALED_COLUMNS.some((x) => x.table === c.table && x.column === c.column)) SEALED_COLUMNS.push(c);
}

export const STORE_META_SQL = `CREATE TABLE IF NOT EXISTS store_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);`;
const CIPHER = 'aes-256-gcm/sp800-108-hmac-sha512';

type Row = object;

/** Sealing state of one open store. */
export class StoreSealing {
  readonly #db: Database.Database;
  #ring: Keyring | null;
  /** The store's current key version (`store_meta.key_version`). */
  #version: number;
  #retiring: number[];
  #cursor = new Map<string, number>();

  private constructor(db: Database.Database, ring: Keyring | null, version: number, retiring: number[]) {
    this.#db = db;
    this.#ring = ring;
    this.#version = version;
    this.#retiring = retiring;
  }

  /**
   * Checks, before the schema is touched, that `ring` opens the store at `path`: every version the store
   * needs is held and matches its check value; an encrypted store needs a keyring. Writes nothing.
   */
  static precheck(db: Database.Database, ring: Keyring | null, path: string): void {
    const meta = readMeta(db);
    if (!meta.has('cipher')) return;
    if (!ring)
      throw new QkdnetError(
        'STORE_KEY_INVALID',
        `Cannot open ${path}: it is encrypted at rest and no store key was given (storeKey in the config, ${'$'}QKDNET_STORE_KEY or a systemd credential)`,
      );
    // A retiring version no row uses any more is not needed (its clearing may have been lost in a crash).
    const retiring = parseList(meta.get('retiring')).filter((v) => usesVersion(db, v));
    const needed = [Number(meta.get('key_version')), ...retiring];
    for (const v of needed)
      if (!ring.has(v))
        throw new QkdnetError(
          'STORE_KEY_INVALID',
          `Cannot open ${path}: it needs store key v${v}, which the given keyring does not hold`,
        );
    for (const v of ring.versions()) {
      const check = meta.get(`check_v${v}`);
      if (check !== undefined && !ring.verifies(check))
        throw new QkdnetError(
          'STORE_KEY_INVALID',
          `Cannot open ${path}: store key v${v} is not the key this store was sealed with (wrong key); nothing was changed`,
        );
    }
  }

  /**
   * After the schema exists: seals a plaintext store's rows (one transaction) when a keyring is given,
   * or starts a rotation when the keyring's current version is newer than the store's.
   */
  static init(db: Database.Database, given: Keyring | null): StoreSealing {
    const ring = given && given.only(given.versions()); // our own copy, zeroed at close
    db.exec(STORE_META_SQL);
    const meta = readMeta(db);
    const retiring = parseList(meta.get('retiring'));
    const s = new StoreSealing(
      db,
      meta.has('cipher') ? ring : null,
      Number(meta.get('key_version') ?? 0),
      ring ? retiring.filter((v) => ring.has(v) || usesVersion(db, v)) : retiring,
    );
    if (ring && !meta.has('cipher'))
      db.transaction(() => {
        s.#ring = ring;
        s.#version = ring.current;
        for (const c of SEALED_COLUMNS) s.#sealAll(c);
        s.#put('cipher', CIPHER);
        s.#put('key_version', String(ring.current));
        s.#put(`check_v${ring.current}`, ring.checkValue(ring.current));
      })();
    else if (ring) db.transaction(() => s.setKeyring(ring))();
    return s;
  }

  /** True when rows are sealed. */
  get encrypted(): boolean {
    return this.#ring !== null;
  }

  /** Bytes a stored value adds to its plaintext. */
  get overhead(): number {
    return this.#ring ? SEAL_OVERHEAD : 0;
  }

  /** Current key version and the versions still being retired (empty when no rotation runs). */
  state(): { version: number; retiring: number[] } {
    return { version: this.#version, retiring: [...this.#retiring] };
  }

  /** The value to store in `c.table` for `row` (its id and owner columns set) holding `plain`. */
  seal(table: string, row: Row, plain: Uint8Array): Uint8Array {
    return this.#ring ? this.#ring.seal(plain, adOf(column(table), row)) : plain;
  }

  /** A copy of the keyring (every version held), for the supply worker's connection; null for a plaintext store. */
  keyringCopy(): Keyring | null {
    return this.#ring && this.#ring.only(this.#ring.versions());
  }

  /**
   * Supply role: takes the keyring another connection made current (a rotation began there) and re-reads
   * the store's key state; writes nothing. New rows are sealed under the new current key from now on.
   */
  follow(given: Keyring): void {
    const meta = readMeta(this.#db);
    const previous = this.#ring;
    this.#ring = given.only(given.versions());
    previous?.destroy();
    this.#version = Number(meta.get('key_version') ?? this.#ring.current);
    this.#retiring = parseList(meta.get('retiring'));
    this.#cursor.clear();
  }

  /** The plaintext of a stored value (a fresh buffer the caller zeroes when done). */
  open(table: string, row: Row, stored: Uint8Array): Buffer {
    if (!this.#ring) return Buffer.from(stored);
    try {
      return this.#ring.open(stored, adOf(column(table), row));
    } catch (e) {
      if (!(e instanceof SealError)) throw e;
      throw new QkdnetError(
        'KMS_STORE_FAILED',
        `A ${table} row (${String((row as Record<string, unknown>)[column(table).ad[0]!])}) failed authentication: ${e.message}`,
      );
    }
  }

  /**
   * Takes (a copy of) a newer keyring (run inside a transaction): refuses one that lacks a version rows still use or
   * whose keys fail their checks; a newer current version starts a rotation. Returns true if rotating.
   */
  setKeyring(given: Keyring): boolean {
    const ring = given.only(given.versions());
    if (!this.#ring) throw new QkdnetError('STORE_KEY_INVALID', 'This store is not encrypted at rest');
    const meta = readMeta(this.#db);
    const old = this.#version;
    for (const v of [old, ...this.#retiring])
      if (!ring.has(v))
        throw new QkdnetError('STORE_KEY_INVALID', `The new keyring drops store key v${v}, still in use`);
    for (const v of ring.versions()) {
      const check = meta.get(`check_v${v}`);
      if (check !== undefined && !ring.verifies(check))
        throw new QkdnetError(
          'STORE_KEY_INVALID',
          `Store key v${v} in the new keyring is not the one in use`,
        );
    }
    const previous = this.#ring;
    this.#ring = ring;
    if (previous !== ring) previous.destroy();
    if (ring.current <= old) return this.#retiring.length > 0;
    this.#retiring = [...new Set([...this.#retiring, old])].sort((a, b) => a - b);
    this.#version = ring.current;
    this.#cursor.clear();
    this.#put(`check_v${ring.current}`, ring.checkValue(ring.current));
    this.#put('key_version', String(ring.current));
    this.#put('retiring', JSON.stringify(this.#retiring));
    return true;
  }

  /** True while rows may still be sealed under a retiring key. */
  get rotating(): boolean {
    return this.#retiring.length > 0;
  }

  /**
   * Re-seals up to `limit` rows still under a retiring key (run inside a transaction); returns how many.
   * When a full pass over every sealed column finds none, clears the retiring list.
   */
  rekeyStep(limit: number): number {
    if (!this.#ring || this.#retiring.length === 0) return 0;
    if (SEALED_COLUMNS.every((c) => this.#cursor.get(c.table) === -1)) {
      // Rows another connection (the supply worker) sealed under a retiring key after a cursor had passed
      // them: one more pass, so no row needs the old key once the list is cleared.
      if (this.#retiring.some((v) => usesVersion(this.#db, v))) {
        this.#cursor.clear();
        return 0;
      }
      // Cleared in a step of its own, after every re-sealing step was durable: once a reader sees the
      // list empty (and the old key goes), no row under the old key can come back after a crash.
      this.#retiring = [];
      this.#cursor.clear();
      this.#db.prepare(`DELETE FROM store_meta WHERE name = 'retiring'`).run();
      return 0;
    }
    const current = this.#version;
    let done = 0;
    for (const c of SEALED_COLUMNS) {
      const from = this.#cursor.get(c.table) ?? 0;
      if (from < 0) continue;
      const want = limit - done;
      const rows = this.#db
        .prepare(
          `SELECT rowid AS rid, ${c.ad.join(', ')}, ${c.column} AS v FROM ${c.table} WHERE rowid > ?${and(c)} ORDER BY rowid LIMIT ?`,
        )
        .all(from, want) as (Record<string, unknown> & { rid: number; v: Buffer })[];
      const update = this.#db.prepare(`UPDATE ${c.table} SET ${c.column} = ? WHERE rowid = ?`);
      for (const r of rows) {
        if (sealedVersion(r.v) === current) continue;
        const plain = this.open(c.table, r, r.v);
        update.run(this.#ring.seal(plain, adOf(c, r)), r.rid);
        plain.fill(0);
      }
      done += rows.length;
      this.#cursor.set(c.table, rows.length < want ? -1 : rows.at(-1)!.rid);
      if (done >= limit) return done;
    }
    return done;
  }

  /** Forgets the keys (on close). */
  destroy(): void {
    this.#ring?.destroy();
  }

  #sealAll(c: SealedColumn): void {
    const rows = this.#db
      .prepare(`SELECT rowid AS rid, ${c.ad.join(', ')}, ${c.column} AS v FROM ${c.table} WHERE 1${and(c)}`)
      .all() as (Record<string, unknown> & { rid: number; v: Buffer })[];
    const update = this.#db.prepare(`UPDATE ${c.table} SET ${c.column} = ? WHERE rowid = ?`);
    for (const r of rows) {
      update.run(this.#ring!.seal(r.v, adOf(c, r)), r.rid);
      r.v.fill(0);
    }
  }

  #put(name: string, value: string): void {
    this.#db.prepare('INSERT OR REPLACE INTO store_meta (name, value) VALUES (?, ?)').run(name, value);
  }
}

function column(table: string): SealedColumn {
  const c = SEALED_COLUMNS.find((x) => x.table === table);
  if (!c) throw new TypeError(`Table "${table}" has no sealed column`);
  return c;
}

/** ` AND (where)` for a column with a row condition, else nothing. */
function and(c: SealedColumn): string {
  return c.where ? ` AND (${c.where.sql})` : '';
}

function adOf(c: SealedColumn, row: Row): string {
  const r = row as Record<string, unknown>;
  return rowAd(c.table, ...c.ad.map((k) => String(r[k])));
}

function readMeta(db: Database.Database): Map<string, string> {
  const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'store_meta'`).get();
  if (!exists) return new Map();
  const rows = db.prepare('SELECT name, value FROM store_meta').all() as { name: string; value: string }[];
  return new Map(rows.map((r) => [r.name, r.value]));
}

/** True when some sealed row of `db` is sealed under key version `v`. */
function usesVersion(db: Database.Database, v: number): boolean {
  const head = Buffer.alloc(5);
  head[0] = 0x01;
  head.writeUInt32BE(v, 1);
  return SEALED_COLUMNS.some((c) => {
    // Run before the schema is brought up to date (precheck): a table or condition column may be missing.
    const cols = (db.prepare(`PRAGMA table_info(${c.table})`).all() as { name: string }[]).map((x) => x.name);
    if (cols.length === 0) return false;
    const cond = c.where && cols.includes(c.where.column) ? and(c) : '';
    return Boolean(
      db.prepare(`SELECT 1 FROM ${c.table} WHERE substr(${c.column}, 1, 5) = ?${cond} LIMIT 1`).get(head),
    );
  });
}

function parseList(s: string | undefined): number[] {
  return s ? (JSON.parse(s) as number[]) : [];
}
