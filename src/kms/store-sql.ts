/**
 * SQL schema of the key store (./store.ts) and the row shapes better-sqlite3 returns. Kept apart so the
 * store's logic reads without DDL in the way. Version 1; a future change adds a `user_version` migration.
 */

/** Tables and indexes (idempotent). */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS chunks (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  peer TEXT NOT NULL,
  mine INTEGER NOT NULL,
  material BLOB NOT NULL,
  prov_rank INTEGER NOT NULL,
  path TEXT NOT NULL,
  exposed TEXT NOT NULL,
  block_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_pool ON chunks (peer, mine, seq);
CREATE TABLE IF NOT EXISTS keys (
  id TEXT PRIMARY KEY,
  peer TEXT NOT NULL,
  material BLOB NOT NULL,
  size_bits INTEGER NOT NULL,
  master TEXT NOT NULL,
  slaves TEXT NOT NULL,
  pending TEXT NOT NULL,
  meta TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
  key_id TEXT NOT NULL,
  role TEXT NOT NULL,
  sae TEXT NOT NULL,
  at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS supplied (
  peer TEXT NOT NULL,
  block_id TEXT NOT NULL,
  PRIMARY KEY (peer, block_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS received (
  key_id TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY,
  key_id TEXT NOT NULL,
  peer TEXT NOT NULL,
  chunk_ids TEXT NOT NULL,
  size_bits INTEGER NOT NULL,
  master TEXT NOT NULL,
  slaves TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_peer ON outbox (peer, seq);
PRAGMA user_version = 1;
`;

/** A row of `chunks`. */
export interface ChunkRow {
  seq: number;
  id: string;
  peer: string;
  mine: number;
  material: Buffer;
  prov_rank: number;
  path: string;
  exposed: string;
  block_id: string;
}

/** A row of `outbox`: a reservation the peer KME has not acknowledged yet (no key material). */
export interface OutboxRow {
  seq: number;
  key_id: string;
  peer: string;
  chunk_ids: string;
  size_bits: number;
  master: string;
  slaves: string;
  created_ms: number;
}

/** A row of `keys`. */
export interface KeyRow {
  id: string;
  peer: string;
  material: Buffer;
  size_bits: number;
  master: string;
  slaves: string;
  pending: string;
  meta: string;
  created_ms: number;
}
