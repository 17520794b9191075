/**
 * Schema of the PostgreSQL key store (./store-pg.ts) as numbered migrations, applied in order at start
 * inside one transaction under an advisory lock (two replicas starting together apply each migration
 * once). `schema_migrations` records what was applied; a database with a migration newer than this
 * program knows is refused (an older replica must not write to a schema it does not understand).
 *
 * The tables mirror the SQLite store (./store-sql.ts) — version 2 adds `tombstones`, as SQLite's
 * version 3 did — with three differences: a chunk's byte-use mask is
 * a column of `chunks` (rows are locked with the chunk, FOR UPDATE SKIP LOCKED), `leased` names the
 * replica holding each lease, and `replicas` holds every live replica's heartbeat (its leases are
 * discarded once it stops beating, ./lease.ts rule 3 for a shared database).
 */
import type { PoolClient } from 'pg';
import { QkdnetError } from '../common/index.ts';
import type { ChunkRow } from './store-sql.ts';

/** The migrations, in order; never edit one that has shipped — add the next. */
export const PG_MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'key store',
    sql: `
CREATE TABLE store_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE chunks (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  peer TEXT NOT NULL,
  mine SMALLINT NOT NULL,
  material BYTEA NOT NULL,
  prov_rank INTEGER NOT NULL,
  path TEXT NOT NULL,
  exposed TEXT NOT NULL,
  block_id TEXT NOT NULL,
  used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX chunks_pool ON chunks (peer, mine, seq);
CREATE TABLE keys (
  id TEXT PRIMARY KEY,
  peer TEXT NOT NULL,
  material BYTEA NOT NULL,
  size_bits INTEGER NOT NULL,
  master TEXT NOT NULL,
  slaves TEXT NOT NULL,
  pending TEXT NOT NULL,
  meta TEXT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE TABLE deliveries (
  key_id TEXT NOT NULL,
  role TEXT NOT NULL,
  sae TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  replica TEXT NOT NULL
);
CREATE INDEX deliveries_key ON deliveries (key_id);
CREATE TABLE supplied (peer TEXT NOT NULL, block_id TEXT NOT NULL, PRIMARY KEY (peer, block_id));
CREATE TABLE received (key_id TEXT PRIMARY KEY);
CREATE TABLE outbox (
  seq BIGSERIAL PRIMARY KEY,
  key_id TEXT NOT NULL,
  peer TEXT NOT NULL,
  chunk_ids TEXT NOT NULL,
  size_bits INTEGER NOT NULL,
  master TEXT NOT NULL,
  slaves TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  chunk_offset INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_peer ON outbox (peer, seq);
CREATE TABLE pools (
  peer TEXT PRIMARY KEY,
  mine_bytes BIGINT NOT NULL,
  mine_chunks BIGINT NOT NULL,
  their_chunks BIGINT NOT NULL
);
CREATE TABLE replicas (
  id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  started_ms BIGINT NOT NULL,
  seen_ms BIGINT NOT NULL
);
CREATE TABLE leased (
  key_id TEXT PRIMARY KEY,
  peer TEXT NOT NULL,
  master TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  replica TEXT NOT NULL
);
CREATE INDEX leased_replica ON leased (replica);
CREATE TABLE discarded (key_id TEXT NOT NULL, master TEXT NOT NULL, at_ms BIGINT NOT NULL);
CREATE TABLE supply_progress (
  peer TEXT NOT NULL,
  block_id TEXT NOT NULL,
  upto INTEGER NOT NULL,
  PRIMARY KEY (peer, block_id)
);
CREATE TABLE supply_offsets (
  source TEXT PRIMARY KEY,
  ino BIGINT NOT NULL,
  "offset" BIGINT NOT NULL,
  line BIGINT NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'tombstones',
    // Chunk IDs an erase notice named before this KME's copy arrived (./store.ts `tombstones`): the copy
    // is dropped (or its erased bytes marked used) when it arrives; tombstones expire by age.
    sql: `
CREATE TABLE tombstones (
  id TEXT PRIMARY KEY,
  peer TEXT NOT NULL,
  erased INTEGER NOT NULL,
  at_ms BIGINT NOT NULL
);
CREATE INDEX tombstones_age ON tombstones (at_ms);
CREATE INDEX keys_relay_age ON keys (created_ms) WHERE master LIKE 'relay:%';
`,
  },
  {
    version: 3,
    name: 'replica key versions',
    // The newest store-key version each replica holds: old rows are re-sealed only once every live
    // replica holds the new key (./store-pg-seal.ts).
    sql: `ALTER TABLE replicas ADD COLUMN key_version INTEGER NOT NULL DEFAULT 0;`,
  },
];

/** Arbitrary constant naming the migration lock (pg_advisory_xact_lock). */
const MIGRATION_LOCK = 0x716b646e; // "qkdn"

/** Applies the migrations this database lacks; returns the versions applied now. */
export async function migratePg(c: PoolClient): Promise<number[]> {
  await c.query('BEGIN');
  try {
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await c.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
    );
    const done = new Set(
      (await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
        (r) => r.version,
      ),
    );
    const newest = PG_MIGRATIONS.at(-1)!.version;
    const ahead = [...done].filter((v) => v > newest);
    if (ahead.length > 0)
      throw new QkdnetError(
        'CONFIG_INVALID',
        `The PostgreSQL key store has schema version ${Math.max(...ahead)}; this qkdnet knows up to ${newest} (upgrade it)`,
      );
    const applied: number[] = [];
    for (const m of PG_MIGRATIONS) {
      if (done.has(m.version)) continue;
      await c.query(m.sql);
      await c.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await c.query('COMMIT');
    return applied;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** A row of `chunks` as pg returns it: BIGSERIAL as a string, and the byte-use mask. */
export type PgChunkRow = Omit<ChunkRow, 'seq' | 'run' | 'slot' | 'bytes'> & { seq: string; used: number };
