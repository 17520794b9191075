/**
 * SQL schema of the key store (./store.ts), its prepared statements and the row shapes better-sqlite3
 * returns. Kept apart so the store's logic reads without SQL in the way. Version 1; a future change adds a
 * `user_version` migration. Version 2 added `pools` (pool levels kept with the chunks, so opening a store
 * reads one row per peer instead of scanning every chunk), `leased`, `discarded` (./lease.ts) and
 * `supply_progress` (how far a large item was stored, so
 * one cut by a crash resumes where it stopped) and `supply_offsets` (how far each southbound file was read); all `IF NOT EXISTS`, so a version-1 store opens
 * and gains them. Version 3 added `tombstones`: chunk IDs a peer's erase notice named before this KME's
 * copy of the chunk arrived (IDs and byte masks only, no key material, so not sealed at rest); a later
 * supply of such a chunk is dropped (or its erased bytes marked used). A version-2 store gains the table
 * when it opens. `relay_pending` (same version): relayed keys this KME sent as the source and has not yet
 * stored or abandoned — the durable intent that lets a restart reclaim the destination's copy.
 * `store_state` (same version): the boot the store was opened in and whether it was closed cleanly
 * (./slave-copies.ts: which slave copies may have been delivered without an fsync).
 * Version 4 stores chunks in sealed runs (`chunk_runs`, ./store-runs.ts: one sealed value per up to 32
 * chunks); `chunks` gained `run`, `slot` and `bytes` (`migrate`), and rows written before keep their own
 * sealed `material` (run NULL) and are read as before.
 */
import type Database from 'better-sqlite3';

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
  block_id TEXT NOT NULL,
  run INTEGER,               -- NULL: material holds the bytes; else the chunk_runs row holding them (material empty)
  slot INTEGER,              -- the chunk's slot in that run
  bytes INTEGER              -- the chunk's length (run chunks only)
);
CREATE INDEX IF NOT EXISTS chunks_pool ON chunks (peer, mine, seq);
-- Key bytes of up to 32 chunks sealed as one value (./store-runs.ts); manifest: [[id, mine, bytes], …] by slot.
CREATE TABLE IF NOT EXISTS chunk_runs (
  seq INTEGER PRIMARY KEY,
  peer TEXT NOT NULL,
  live INTEGER NOT NULL,     -- chunks of the run still stored (the row goes with the last)
  manifest TEXT NOT NULL,
  material BLOB NOT NULL
);
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
  created_ms INTEGER NOT NULL,
  chunk_offset INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_peer ON outbox (peer, seq);
CREATE TABLE IF NOT EXISTS chunk_use (
  id TEXT PRIMARY KEY,
  used INTEGER NOT NULL -- bit mask: bit i set = byte i of the chunk used (chunks are ≤ 32 bytes)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pools (
  peer TEXT PRIMARY KEY,
  mine_bytes INTEGER NOT NULL,
  mine_chunks INTEGER NOT NULL,
  their_chunks INTEGER NOT NULL
) WITHOUT ROWID;
-- The pool level of chunks the supply worker stored (./supply-thread.ts), written by its connection only;
-- a link's level is the sum of both rows.
CREATE TABLE IF NOT EXISTS supply_pools (
  peer TEXT PRIMARY KEY,
  mine_bytes INTEGER NOT NULL,
  mine_chunks INTEGER NOT NULL,
  their_chunks INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leased (
  key_id TEXT PRIMARY KEY,
  peer TEXT NOT NULL,
  master TEXT NOT NULL,
  created_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS discarded (
  key_id TEXT NOT NULL,
  master TEXT NOT NULL,
  at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS supply_progress (
  peer TEXT NOT NULL,
  block_id TEXT NOT NULL,
  upto INTEGER NOT NULL,
  PRIMARY KEY (peer, block_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS supply_offsets (
  source TEXT PRIMARY KEY,
  ino INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  line INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tombstones (
  id TEXT PRIMARY KEY,       -- chunk ID erased before it arrived here
  peer TEXT NOT NULL,        -- the KME whose erase notice named it (the chunk's owner)
  erased INTEGER NOT NULL,   -- bit mask of the chunk's bytes the notice erased (bit i = byte i)
  at_ms INTEGER NOT NULL     -- when the notice was applied (tombstones expire, ./store.ts)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tombstones_age ON tombstones (at_ms);
CREATE TABLE IF NOT EXISTS relay_pending (
  key_id TEXT PRIMARY KEY,   -- relayed key this KME is the source of
  peer TEXT NOT NULL,        -- the destination KME
  chunk_ids TEXT NOT NULL,   -- JSON: the chunk IDs the destination stores the key as
  size_bits INTEGER NOT NULL,
  created_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS store_state (
  k TEXT PRIMARY KEY,        -- 'boot': the kernel boot the store was last opened in; 'clean': '1' after a clean close
  v TEXT NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = 4;
`;

/**
 * Brings a store created by an older version up to this schema (idempotent): the outbox gained
 * `chunk_offset` (chunk-granular keys, ./chunk-use.ts).
 */
export function migrate(db: Database.Database): void {
  const has = (table: string, col: string) =>
    (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((c) => c.name === col);
  if (!has('outbox', 'chunk_offset'))
    db.exec('ALTER TABLE outbox ADD COLUMN chunk_offset INTEGER NOT NULL DEFAULT 0');
  // Version 4: chunks stored in sealed runs; rows written before keep their bytes in `material`.
  for (const col of ['run', 'slot', 'bytes'])
    if (!has('chunks', col)) db.exec(`ALTER TABLE chunks ADD COLUMN ${col} INTEGER`);
}

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
  /** The run holding the bytes (null: in `material`), the chunk's slot in it and its length. */
  run: number | null;
  slot: number | null;
  bytes: number | null;
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
  chunk_offset: number;
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

/** The store's prepared statements. */
export function prepare(db: Database.Database) {
  return {
    insertChunk: db.prepare(
      'INSERT OR IGNORE INTO chunks (id, peer, mine, material, prov_rank, path, exposed, block_id, run, slot, bytes) VALUES (?,?,?,?,?,?,?,?,?,?,?)',
    ),
    insertRun: db.prepare("INSERT INTO chunk_runs (peer, live, manifest, material) VALUES (?, 0, '', x'')"),
    sealRun: db.prepare('UPDATE chunk_runs SET live = ?, manifest = ?, material = ? WHERE seq = ?'),
    selectRun: db.prepare('SELECT * FROM chunk_runs WHERE seq = ?'),
    updateRun: db.prepare('UPDATE chunk_runs SET live = ?, material = ? WHERE seq = ?'),
    deleteRun: db.prepare('DELETE FROM chunk_runs WHERE seq = ?'),
    selectMine: db.prepare(
      'SELECT * FROM chunks WHERE peer = ? AND mine = 1 AND prov_rank <= ? ORDER BY seq LIMIT ?',
    ),
    selectMineFrom: db.prepare(
      'SELECT * FROM chunks WHERE peer = ? AND mine = 1 AND prov_rank <= ? AND seq > ? ORDER BY seq',
    ),
    selectChunk: db.prepare('SELECT * FROM chunks WHERE id = ?'),
    deleteChunk: db.prepare('DELETE FROM chunks WHERE seq = ?'),
    insertKey: db.prepare(
      'INSERT INTO keys (id, peer, material, size_bits, master, slaves, pending, meta, created_ms) VALUES (?,?,?,?,?,?,?,?,?)',
    ),
    selectKey: db.prepare('SELECT * FROM keys WHERE id = ?'),
    deleteKey: db.prepare('DELETE FROM keys WHERE id = ?'),
    updatePending: db.prepare('UPDATE keys SET pending = ? WHERE id = ?'),
    insertSupplied: db.prepare('INSERT OR IGNORE INTO supplied (peer, block_id) VALUES (?, ?)'),
    selectReceived: db.prepare('SELECT 1 FROM received WHERE key_id = ?'),
    insertReceived: db.prepare('INSERT INTO received (key_id) VALUES (?)'),
    insertOutbox: db.prepare(
      'INSERT INTO outbox (key_id, peer, chunk_ids, size_bits, master, slaves, created_ms, chunk_offset) VALUES (?,?,?,?,?,?,?,?)',
    ),
    selectUses: db.prepare(
      'SELECT u.id AS id, u.used AS used, c.peer AS peer, c.mine AS mine FROM chunk_use u JOIN chunks c ON c.id = u.id',
    ),
    upsertUse: db.prepare(
      'INSERT INTO chunk_use (id, used) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET used = excluded.used',
    ),
    deleteUse: db.prepare('DELETE FROM chunk_use WHERE id = ?'),
    selectOutbox: db.prepare('SELECT * FROM outbox WHERE peer = ? ORDER BY seq LIMIT ?'),
    selectOutboxAll: db.prepare('SELECT * FROM outbox WHERE peer = ?'),
    deleteOutbox: db.prepare('DELETE FROM outbox WHERE peer = ? AND seq <= ?'),
    deleteOutboxKey: db.prepare('DELETE FROM outbox WHERE peer = ? AND key_id = ?'),
    eraseOnlyOutboxKey: db.prepare("UPDATE outbox SET slaves = '[]' WHERE peer = ? AND key_id = ?"),
    reclaimRelayKeys: db.prepare("DELETE FROM keys WHERE master LIKE 'relay:%' AND created_ms < ?"),
    upsertPool: db.prepare(
      'INSERT INTO pools (peer, mine_bytes, mine_chunks, their_chunks) VALUES (?,?,?,?) ON CONFLICT (peer) DO UPDATE SET mine_bytes = excluded.mine_bytes, mine_chunks = excluded.mine_chunks, their_chunks = excluded.their_chunks',
    ),
    selectPool: db.prepare('SELECT * FROM pools WHERE peer = ?'),
    upsertSupplyPool: db.prepare(
      'INSERT INTO supply_pools (peer, mine_bytes, mine_chunks, their_chunks) VALUES (?,?,?,?) ON CONFLICT (peer) DO UPDATE SET mine_bytes = excluded.mine_bytes, mine_chunks = excluded.mine_chunks, their_chunks = excluded.their_chunks',
    ),
    insertLeased: db.prepare('INSERT INTO leased (key_id, peer, master, created_ms) VALUES (?,?,?,?)'),
    deleteLeased: db.prepare('DELETE FROM leased WHERE key_id = ?'),
    insertDiscarded: db.prepare('INSERT INTO discarded (key_id, master, at_ms) VALUES (?,?,?)'),
    selectProgress: db.prepare('SELECT upto FROM supply_progress WHERE peer = ? AND block_id = ?'),
    upsertProgress: db.prepare(
      'INSERT INTO supply_progress (peer, block_id, upto) VALUES (?,?,?) ON CONFLICT (peer, block_id) DO UPDATE SET upto = excluded.upto',
    ),
    deleteProgress: db.prepare('DELETE FROM supply_progress WHERE peer = ? AND block_id = ?'),
    selectOffset: db.prepare('SELECT ino, offset, line FROM supply_offsets WHERE source = ?'),
    upsertOffset: db.prepare(
      'INSERT INTO supply_offsets (source, ino, offset, line) VALUES (?,?,?,?) ON CONFLICT (source) DO UPDATE SET ino = excluded.ino, offset = excluded.offset, line = excluded.line',
    ),
    selectTombstones: db.prepare('SELECT id, peer, erased FROM tombstones'),
    upsertTombstone: db.prepare(
      'INSERT INTO tombstones (id, peer, erased, at_ms) VALUES (?,?,?,?) ON CONFLICT (id) DO UPDATE SET erased = (erased | excluded.erased), at_ms = excluded.at_ms',
    ),
    deleteTombstone: db.prepare('DELETE FROM tombstones WHERE id = ?'),
    expiredTombstones: db.prepare('SELECT id FROM tombstones WHERE at_ms < ?'),
    insertRelayPending: db.prepare(
      'INSERT INTO relay_pending (key_id, peer, chunk_ids, size_bits, created_ms) VALUES (?,?,?,?,?)',
    ),
    selectRelayPending: db.prepare('SELECT * FROM relay_pending WHERE key_id = ?'),
    selectRelayPendingAll: db.prepare('SELECT * FROM relay_pending ORDER BY created_ms'),
    deleteRelayPending: db.prepare('DELETE FROM relay_pending WHERE key_id = ?'),
    selectSupplied: db.prepare('SELECT 1 FROM supplied WHERE peer = ? AND block_id = ?'),
    logDelivery: db.prepare('INSERT INTO deliveries (key_id, role, sae, at_ms) VALUES (?,?,?,?)'),
  };
}
