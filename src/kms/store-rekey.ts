/**
 * `qkdnet kme rekey-store`: rotates the store key of one or more stores that share a key file, without
 * stopping the KMEs that use them.
 *
 * 1. Reads the keyring file and checks it opens every store not in use (read-only; nothing written).
 * 2. Writes the keyring with a fresh key as version N+1, keeping the old ones (atomic rename, 0600).
 * 3. Each store in use by a running KME: that KME sees the file change, makes N+1 current and re-seals
 *    old rows in batches while serving (./store-rotation.ts); this command waits, reading the store's
 *    `store_meta` read-only, until the store reports no retiring key. Each store not in use: re-sealed
 *    here, holding its lock.
 * 4. Only when every store is done, rewrites the keyring with N+1 alone: old keys are gone from the file.
 *
 * A crash or timeout at any point leaves a keyring that opens every store (old keys are kept until the
 * end); running the command again finishes the job with yet another version.
 *
 * A PostgreSQL store (a `postgres://` URL) is "in use" while a replica beats its heartbeat: the replicas
 * re-seal it once every live one holds the new key (./store-pg-seal.ts) and this command waits, reading
 * `store_meta`; with no live replica it re-seals the rows here.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { QkdnetError } from '../common/index.ts';
import { KeyStore } from './store.ts';
import type { Keyring } from './store-crypto.ts';
import { loadKeyring, writeKeyringFile } from './store-key.ts';
import { ProcessLock } from './store-lock.ts';
import { isPostgresUrl, PgKeyStore, redactUrl, REPLICA_TTL_MS } from './store-pg.ts';
import { PgSealing } from './store-pg-seal.ts';
import { StoreSealing } from './store-seal.ts';

/** Options of `rekeyStores`. */
export interface RekeyOptions {
  /** The keyring file the stores' KMEs read (`storeKey.file`). */
  readonly keyFile: string;
  /** Store files (SQLite) or PostgreSQL URLs (every replica of a KME shares one). */
  readonly stores: readonly string[];
  /** Longest wait for a running KME to finish (default 10 min). */
  readonly timeoutMs?: number;
  /** Progress lines (default: none). */
  readonly progress?: (line: string) => void;
}

/** What `rekeyStores` did. */
export interface RekeyResult {
  readonly version: number;
  readonly retired: readonly number[];
  readonly stores: readonly { path: string; mode: 'online' | 'offline'; ms: number }[];
}

/** Rotates the store key (see the file header). */
export async function rekeyStores(o: RekeyOptions): Promise<RekeyResult> {
  const say = o.progress ?? (() => undefined);
  const ring = loadKeyring({ kind: 'file', path: o.keyFile }, { create: false })!;
  const inUse = new Map<string, boolean>();
  for (const path of o.stores) {
    if (isPostgresUrl(path)) {
      await verifyPg(path, ring);
      continue;
    }
    const free = isFree(path);
    inUse.set(path, !free);
    if (free) verifyOffline(path, ring);
  }
  const next = ring.withNewKey();
  const version = next.current;
  const retired = ring.versions();
  writeKeyringFile(o.keyFile, next);
  say(`store key v${version} added to ${o.keyFile} (old v${retired.join(', v')} kept until done)`);
  const done: { path: string; mode: 'online' | 'offline'; ms: number }[] = [];
  for (const path of o.stores) {
    const t0 = Date.now();
    if (isPostgresUrl(path)) {
      const mode = await rekeyPg(path, next, version, o.timeoutMs ?? 600_000, say);
      done.push({ path: redactUrl(path), mode, ms: Date.now() - t0 });
      continue;
    }
    let online = inUse.get(path)!;
    if (!online) {
      try {
        const store = KeyStore.open({ path, keyring: next, durability: 'full' });
        try {
          while (store.sealing.rotating) store.transaction(() => store.sealing.rekeyStep(4096));
          store.checkpoint();
        } finally {
          store.close();
        }
      } catch (e) {
        if (!(e instanceof QkdnetError && e.code === 'STORE_LOCKED')) throw e;
        online = true; // a KME started meanwhile: it rotates, we wait
      }
    }
    if (online) {
      say(`${path}: in use by a running KME; waiting while it re-seals its rows`);
      await waitOnline(path, version, o.timeoutMs ?? 600_000, say);
    }
    done.push({ path, mode: online ? 'online' : 'offline', ms: Date.now() - t0 });
    say(`${path}: sealed under v${version} only (${online ? 'by its KME' : 'here'}, ${Date.now() - t0} ms)`);
  }
  writeKeyringFile(o.keyFile, next.only([version]));
  say(`old store key v${retired.join(', v')} removed from ${o.keyFile}`);
  ring.destroy();
  next.destroy();
  return { version, retired, stores: done };
}

function isFree(path: string): boolean {
  try {
    ProcessLock.acquire(`${path}.lock`, `store ${path}`).release();
    return true;
  } catch (e) {
    if (e instanceof QkdnetError && e.code === 'STORE_LOCKED') return false;
    throw e;
  }
}

function verifyOffline(path: string, ring: Keyring): void {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new QkdnetError('STORE_KEY_INVALID', `Cannot rekey ${path}: ${(e as Error).message}`);
  }
  try {
    StoreSealing.precheck(db, ring, path);
  } finally {
    db.close();
  }
}

/** Reads the store's key state read-only until it is at `version` with nothing retiring. */
async function waitOnline(path: string, version: number, timeoutMs: number, say: (l: string) => void) {
  const until = Date.now() + timeoutMs;
  let lastSay = Date.now();
  for (;;) {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    let meta: Map<string, string>;
    try {
      meta = new Map(
        (db.prepare('SELECT name, value FROM store_meta').all() as { name: string; value: string }[]).map(
          (r) => [r.name, r.value],
        ),
      );
    } finally {
      db.close();
    }
    if (Number(meta.get('key_version')) === version && !meta.has('retiring')) return;
    if (Date.now() > until)
      throw new QkdnetError(
        'KMS_STORE_FAILED',
        `${path}: its KME has not finished re-sealing after ${Math.round(timeoutMs / 1000)} s (check its log); the key file keeps every key, run rekey-store again later`,
      );
    if (Date.now() - lastSay > 5000) {
      lastSay = Date.now();
      say(`${path}: still re-sealing (at v${meta.get('key_version') ?? '?'})`);
    }
    await sleep(200);
  }
}

/** Checks, before the key file changes, that `ring` opens the PostgreSQL store (nothing written). */
async function verifyPg(url: string, ring: Keyring): Promise<void> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
    await c.query('BEGIN');
    await PgSealing.init(c as unknown as pg.PoolClient, ring, `the PostgreSQL key store ${redactUrl(url)}`);
  } catch (e) {
    if (e instanceof QkdnetError) throw e;
    throw new QkdnetError('STORE_KEY_INVALID', `Cannot rekey ${redactUrl(url)}: ${(e as Error).message}`);
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
    await c.end().catch(() => undefined);
  }
}

/** Rotates a PostgreSQL store to `version`: waits for its live replicas, or re-seals it here. */
async function rekeyPg(
  url: string,
  next: Keyring,
  version: number,
  timeoutMs: number,
  say: (l: string) => void,
): Promise<'online' | 'offline'> {
  const where = redactUrl(url);
  const until = Date.now() + timeoutMs;
  const live = await withPg(url, async (c) =>
    Number(
      (
        await c.query(
          'SELECT count(*) AS n FROM replicas WHERE seen_ms >= (extract(epoch from clock_timestamp()) * 1000)::bigint - $1',
          [REPLICA_TTL_MS],
        )
      ).rows[0].n,
    ),
  );
  if (live === 0) {
    const store = await PgKeyStore.open({ url, keyring: next.only(next.versions()) });
    try {
      while (store.rotating) {
        if (Date.now() > until) throw timeout(where, timeoutMs);
        // Zero while a replica that stopped beating moments ago still counts as live: look again shortly.
        if ((await store.rekeyStep(4096)) === 0 && store.rotating) await sleep(500);
      }
    } finally {
      await store.close();
    }
    return 'offline';
  }
  say(`${where}: ${live} live replica(s); waiting while they re-seal its rows`);
  let lastSay = Date.now();
  for (;;) {
    const meta = await withPg(url, async (c) => {
      const r = await c.query<{ name: string; value: string }>('SELECT name, value FROM store_meta');
      return new Map(r.rows.map((x) => [x.name, x.value]));
    });
    if (Number(meta.get('key_version')) === version && !meta.has('retiring')) return 'online';
    if (Date.now() > until) throw timeout(where, timeoutMs);
    if (Date.now() - lastSay > 5000) {
      lastSay = Date.now();
      say(
        `${where}: still re-sealing (at v${meta.get('key_version') ?? '?'}); every replica must read the new key file`,
      );
    }
    await sleep(200);
  }
}

function timeout(where: string, ms: number): QkdnetError {
  return new QkdnetError(
    'KMS_STORE_FAILED',
    `${where}: not re-sealed after ${Math.round(ms / 1000)} s (is every replica reading the new key file? check their logs); the key file keeps every key, run rekey-store again later`,
  );
}

async function withPg<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
    return await fn(c);
  } catch (e) {
    if (e instanceof QkdnetError) throw e;
    throw new QkdnetError('KMS_STORE_FAILED', `${redactUrl(url)}: ${(e as Error).message}`);
  } finally {
    await c.end().catch(() => undefined);
  }
}
