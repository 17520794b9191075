/**
 * The durable key store of one KME: a SQLite file (better-sqlite3) in WAL mode, every acknowledged write
 * synced to disk before the answer leaves (SQLite docs, "PRAGMA synchronous": with FULL, SQLite syncs the
 * WAL in every COMMIT; in the default `group` mode the group committer syncs the WAL file once per batch
 * on the thread pool — the same on-disk state, without stalling the event loop). `secure_delete=ON` overwrites freed content with zeros and `wal_checkpoint(TRUNCATE)`
 * (run periodically and on close) clears old WAL frames: erased keys are overwritten, then deleted.
 *
 * Six tables. `chunks`: key material received from a link (or relay, or PQC), one row per chunk, with a
 * UUID both KMEs derive identically, an owner flag (which of the two KMEs may hand it to a master, see
 * docs/kme.md) and its metadata. `keys`: keys formed from chunks that still wait for local slaves.
 * `deliveries`: the append-only audit log of who got which key_ID in which role (no material).
 * `received`: key IDs of reservations applied here (so a re-sent reservation is recognised).
 * `supplied`: every (peer, block) ever accepted, so material re-delivered after a restart (a device file
 * read again) is ignored instead of being served a second time.
 * `outbox`: reservations for slaves behind a peer KME, written in the same transaction as the master's
 * delivery and deleted once the peer has acknowledged them (IDs only, no material).
 * `tombstones`: chunk IDs a peer's erase notice named before this KME's copy arrived (erase-before-
 * arrival: the two ends of a link receive their supply independently). The copy, when it comes, is
 * dropped (counted, `erasedOnArrival`); a tombstone whose chunk never comes expires after
 * TOMBSTONE_TTL_MS (`expireTombstones`).
 * All methods are synchronous; callers batch them into one transaction (group commit, ./batcher.ts).
 */
import Database from 'better-sqlite3';
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { LAST_PROTECTING_RANK, QkdnetError, PROVENANCE_ORDER, type Provenance } from '../common/index.ts';
import {
  byteMask,
  cutKeys,
  MAX_CHUNK_BYTES,
  formKeyFromPieces,
  nextFree,
  piecesOf,
  usedBytes,
  type Piece,
} from './chunk-use.ts';
import { migrate, prepare, SCHEMA_SQL, type ChunkRow, type KeyRow, type OutboxRow } from './store-sql.ts';
import { makePrivateFile, privatizeFiles } from './private-fs.ts';
import type { Keyring } from './store-crypto.ts';
import { ProcessLock, type LockHolder } from './store-lock.ts';
import { StoreSealing } from './store-seal.ts';
import { OpenRuns, packRun, RUN_CHUNKS, type RunRow } from './store-runs.ts';
import { currentBootId, mustDiscardArmed } from './slave-copies.ts';

/** Metadata every stored key carries (exposed to SAEs in `key_extension`). */
export interface KeyMeta {
  readonly provenance: Provenance;
  /** Node ids the key material travelled through, in order. */
  readonly path: readonly string[];
  /** Nodes that could have seen the key in the clear. */
  readonly exposedTo: readonly string[];
  /** Source block ids of the chunks the key was made from. */
  readonly blockIds: readonly string[];
}

/** One chunk of key material as the store receives it. */
export interface ChunkInput {
  readonly id: string;
  readonly material: Uint8Array;
  /** True when this KME may hand the chunk to a master (the other end owns the rest). */
  readonly mine: boolean;
  readonly provenance: Provenance;
  readonly path: readonly string[];
  readonly exposedTo: readonly string[];
  readonly blockId: string;
}

/** A key formed for a master: ID, material, metadata and the chunks it consumed. */
export interface FormedKey {
  readonly keyId: string;
  readonly key: Uint8Array;
  readonly sizeBits: number;
  readonly chunkIds: readonly string[];
  /** Bytes of the first chunk used by earlier keys (chunk-granular accounting, ./chunk-use.ts). */
  readonly offset: number;
  /** Store positions and bytes taken of the chunks (internal; empty for keys delivered to slaves). */
  readonly chunks: readonly { seq: number; bytes: number }[];
  readonly meta: KeyMeta;
}

/** Pool figures of one peer link. */
export interface PoolLevel {
  /** Bytes this KME may hand to masters. */
  mineBytes: number;
  mineChunks: number;
  /** Chunks the peer owns (waiting for its reservations). */
  theirChunks: number;
}

/** A reservation for a peer KME: chunks `chunkIds` form key `keyId` for `slaves` named by `master`. */
export interface ReservationRecord {
  readonly keyId: string;
  readonly chunkIds: readonly string[];
  readonly sizeBits: number;
  readonly master: string;
  /** Empty: an erase notice (the peer erases its copy and keeps no key). */
  readonly slaves: readonly string[];
  /** Bytes of the first chunk used by earlier keys (default 0). */
  readonly offset?: number;
}

/** An outbox entry: a reservation and its position in the outbox. */
export interface OutboxRecord extends ReservationRecord {
  readonly seq: number;
}

/** One row of the delivery log. */
export interface Delivery {
  readonly keyId: string;
  readonly role: 'master' | 'slave';
  readonly sae: string;
}

/** A request to form keys for a master (`takeForMaster`, `leaseForMaster`). */
export interface MasterTake {
  readonly peer: string;
  readonly master: string;
  readonly slaves: readonly string[];
  readonly localSlaves: readonly string[];
  /** Slaves behind the peer KME: a reservation for them goes to the outbox in the same transaction. */
  readonly remoteSlaves?: readonly string[];
  /**
   * No slave behind the peer: queue an erase notice (a reservation naming no slave) so the peer KME
   * erases its copy of the chunks too. Ignored when `remoteSlaves` is non-empty.
   */
  readonly eraseAtPeer?: boolean;
  readonly number: number;
  readonly sizeBits: number;
  readonly maxProvenanceRank?: number;
  readonly nowMs: number;
}

/** How far a southbound file was read: byte offset and line number after the last stored line. */
export interface SupplyMark {
  readonly source: string;
  /** Inode of the file when read (another file at the same path starts from 0). */
  readonly ino: number;
  readonly offset: number;
  readonly line: number;
}

/** Options of `KeyStore.open`. */
export interface KeyStoreOptions {
  /** Path of the SQLite file (`:memory:` for tests that need no durability). */
  readonly path: string;
  /** Most chunks kept per peer; supply beyond it is dropped (reported). Default 1,000,000. */
  readonly maxChunksPerPeer?: number;
  /**
   * `full`: PRAGMA synchronous=FULL, SQLite fsyncs the WAL inside every COMMIT (blocking the event loop).
   * `group` (default): synchronous=NORMAL and the group committer fsyncs the WAL file itself, off the
   * event loop, before any answer leaves — the same guarantee for every acknowledged write (docs/kme.md).
   */
  readonly durability?: 'full' | 'group';
  /**
   * Store keys for encryption at rest (./store-seal.ts): rows holding key bytes are sealed with AES-256-GCM.
   * Absent or null: plaintext, allowed only for a store never sealed (an encrypted store then refuses to
   * open). `startKme` always passes one unless the configuration says `storeKey: { none: true }`.
   */
  readonly keyring?: Keyring | null;
  /** Take the one-process lock `<path>.lock` (default true for files; see ./store-lock.ts). */
  readonly lock?: boolean;
  /** The kernel's boot id (./slave-copies.ts; default read from /proc): tests give another to play a reboot. */
  readonly bootId?: string;
  /**
   * `supply`: a second connection to a store the KME has open, for the supply worker thread
   * (./supply-thread.ts). It only stores southbound supply; its pool levels go to `supply_pools` (the
   * main connection adds them to its own), it reads tombstones from the table, and it leaves the
   * start-up work (slave copies, lock, migration of pool levels) to the main connection. Default `main`.
   */
  readonly role?: 'main' | 'supply';
}

const rankOf = (p: Provenance): number => PROVENANCE_ORDER.indexOf(p);

/**
 * How long a tombstone (a chunk erased by its owner's notice before this KME's copy arrived) is kept:
 * 7 days. Both ends of a link are fed the same blocks within seconds in normal operation; a copy arriving
 * later than this means the link's supply was stopped for days (the chunk is then kept like any other
 * peer-owned chunk that never gets a reservation). Swept with the other periodic store work.
 */
export const TOMBSTONE_TTL_MS = 7 * 24 * 3600 * 1000;
/** Full chunk size (bytes) as cut by ./supply.ts. */
const CHUNK_SIZE = 32;
/** `chunks.material` of a chunk whose bytes are in a run. */
const EMPTY = Buffer.alloc(0);

/** The durable key store (see the file header). */
export class KeyStore {
  /** The SQLite connection: private, so every write goes through `transaction`/`runBatch`, which repair
   * the in-memory mirrors (pool levels, use masks, tombstones) when a write rolls back. */
  readonly #db: Database.Database;
  readonly maxChunksPerPeer: number;
  readonly durability: 'full' | 'group';
  /** Encryption at rest of the key columns (key version, rotation state). */
  readonly sealing: StoreSealing;
  /** The previous holder of the store's lock when it had died holding it (a stale lock recovered). */
  readonly recoveredLock: LockHolder | null;
  /**
   * Slave copies received from peers and erased at open because the last opening ended uncleanly in
   * another boot, so a delivery committed without fsync may have been lost (./slave-copies.ts).
   */
  readonly armedDiscardedAtStart: number;
  readonly #walFd: number | undefined;
  readonly #lock: ProcessLock | undefined;
  /** Path of the SQLite file. */
  readonly path: string;
  readonly #files: string[];
  /** Pool levels of what this connection stored and consumed (`pools`, or `supply_pools` in the supply role). */
  readonly #levels = new Map<string, PoolLevel>();
  /** The other connection's part: the supply worker's (main role) or the main connection's (supply role). */
  readonly #other = new Map<string, PoolLevel>();
  readonly #role: 'main' | 'supply';
  /** Main role: the supply worker's connection writes supply and checkpoints (`attachSupplyWriter`). */
  #supplyWriter = false;
  /** Supply role: a tombstone was consumed since `takeTouched` (the main connection reloads its mirrors). */
  #touched = false;
  readonly #otherDropped = new Map<string, number>();
  /** Main role: chunks queued in the supply worker, as last reported. */
  #supplyBacklog = 0;
  readonly #otherErased = new Map<string, number>();
  /** Use masks of partly used chunks (bit i = byte i used; mirror of table `chunk_use`). */
  readonly #used = new Map<string, number>();
  readonly #dropped = new Map<string, number>();
  /** Tombstones by chunk ID (mirror of table `tombstones`): the peer that erased it and the bytes erased. */
  readonly #tombs = new Map<string, { peer: string; erased: number }>();
  readonly #erasedOnArrival = new Map<string, number>();
  readonly #st: ReturnType<typeof prepare>;

  /** Opens (creating if needed) the store at `opts.path`. */
  static open(opts: KeyStoreOptions): KeyStore {
    return new KeyStore(opts);
  }

  private constructor(opts: KeyStoreOptions) {
    this.maxChunksPerPeer = opts.maxChunksPerPeer ?? 1_000_000;
    this.#role = opts.role ?? 'main';
    this.path = opts.path;
    const memory = opts.path === ':memory:' || opts.path === '';
    // One process per store, taken before anything else is touched; the file private before SQLite opens
    // it (SQLite gives -wal and -shm the database file's mode).
    this.#lock =
      memory || opts.lock === false || this.#role === 'supply'
        ? undefined
        : ProcessLock.acquire(`${opts.path}.lock`, `store ${opts.path}`);
    this.recoveredLock = this.#lock?.recovered ?? null;
    this.#files = memory ? [] : [opts.path, `${opts.path}-wal`, `${opts.path}-shm`];
    let db: Database.Database | undefined;
    try {
      if (!memory) makePrivateFile(opts.path);
      db = new Database(opts.path);
      StoreSealing.precheck(db, opts.keyring ?? null, opts.path);
    } catch (e) {
      db?.close();
      this.#lock?.release();
      throw e;
    }
    this.#db = db;
    this.durability = memory ? 'full' : (opts.durability ?? 'group');
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma(this.durability === 'full' ? 'synchronous = FULL' : 'synchronous = NORMAL');
    this.#db.pragma('secure_delete = ON');
    this.#db.pragma('foreign_keys = OFF');
    // Two connections (main and supply worker) write in turn: each waits for the other's transaction.
    this.#db.pragma('busy_timeout = 10000');
    this.#db.exec(SCHEMA_SQL);
    migrate(this.#db);
    this.sealing = StoreSealing.init(this.#db, opts.keyring ?? null);
    privatizeFiles(...this.#files);
    // The WAL file exists once the schema transaction has run; keep a descriptor to fsync it.
    this.#walFd = this.durability === 'group' ? openSync(`${opts.path}-wal`, 'r+') : undefined;
    this.#st = prepare(this.#db);
    const { pools, uses } = this.#loadMirrors();
    if (this.#role === 'supply') {
      // The chunks of one block have adjacent IDs (./supply.ts `chunkIds`), so a block's inserts share a
      // few pages of the `id` index; each block still starts at a random place in it. A page cache that
      // holds the index (64 MiB) and checkpoints every 64 MiB of WAL (a page rewritten by many
      // transactions is copied once) keep that from costing a page read and write per block.
      this.#db.pragma('cache_size = -65536');
      this.#db.pragma('wal_autocheckpoint = 16384');
      this.armedDiscardedAtStart = 0;
      return;
    }
    // A store written before `pools` existed (or empty).
    if (pools.length === 0 && this.#other.size === 0) this.#countPools(uses);
    this.armedDiscardedAtStart = this.#openEpoch(opts.bootId ?? currentBootId());
  }

  /**
   * Records the boot this opening runs in, not yet closed cleanly, after erasing the slave copies a lost
   * lazy delivery could hand out again (./slave-copies.ts, rules 2–4); then fdatasyncs the WAL, so every
   * copy present now is armed. Returns how many copies were discarded.
   */
  #openEpoch(boot: string): number {
    const get = (k: string) =>
      (this.#db.prepare('SELECT v FROM store_state WHERE k = ?').get(k) as { v: string } | undefined)?.v;
    const last = { boot: get('boot'), clean: get('clean') === '1' };
    const set = this.#db.prepare('INSERT OR REPLACE INTO store_state (k, v) VALUES (?, ?)');
    const now = Date.now();
    let discarded = 0;
    this.transaction(() => {
      if (mustDiscardArmed(last, boot))
        for (const r of this.#db
          .prepare('SELECT k.id, k.master FROM keys k JOIN received r ON r.key_id = k.id')
          .all() as { id: string; master: string }[]) {
          this.#st.deleteKey.run(r.id);
          this.#st.insertDiscarded.run(r.id, r.master, now);
          discarded++;
        }
      set.run('boot', boot);
      set.run('clean', '0');
    });
    if (this.#walFd !== undefined) fdatasyncSync(this.#walFd);
    return discarded;
  }

  /** IDs of slave copies received from peers and still here (armed once the store has opened). */
  receivedCopyIds(): string[] {
    return (
      this.#db.prepare('SELECT k.id FROM keys k JOIN received r ON r.key_id = k.id').all() as {
        id: string;
      }[]
    ).map((r) => r.id);
  }

  /**
   * Fills the in-memory mirrors of the database — pool levels, use masks of partly used chunks, tombstones
   * — from the tables (as the current transaction sees them). Run at open and after any rollback, so a
   * failed write never leaves a counter the database does not have.
   */
  #loadMirrors(): {
    pools: { peer: string }[];
    uses: { id: string; used: number; peer: string; mine: number }[];
  } {
    this.#levels.clear();
    this.#other.clear();
    const read = (table: string) =>
      this.#db.prepare(`SELECT * FROM ${table}`).all() as {
        peer: string;
        mine_bytes: number;
        mine_chunks: number;
        their_chunks: number;
      }[];
    const pools = read(this.#role === 'main' ? 'pools' : 'supply_pools');
    for (const [map, rows] of [
      [this.#levels, pools],
      [this.#other, read(this.#role === 'main' ? 'supply_pools' : 'pools')],
    ] as const)
      for (const r of rows)
        map.set(r.peer, { mineBytes: r.mine_bytes, mineChunks: r.mine_chunks, theirChunks: r.their_chunks });
    return { pools, uses: this.#reloadUses() };
  }

  /** Reloads the use masks and tombstones (after a rollback, or the supply worker consumed tombstones). */
  #reloadUses(): { id: string; used: number; peer: string; mine: number }[] {
    this.#used.clear();
    this.#tombs.clear();
    const uses = this.#st.selectUses.all() as { id: string; used: number; peer: string; mine: number }[];
    for (const u of uses) this.#used.set(u.id, u.used);
    for (const t of this.#st.selectTombstones.all() as { id: string; peer: string; erased: number }[])
      this.#tombs.set(t.id, { peer: t.peer, erased: t.erased });
    return uses;
  }

  /** Levels from a scan of every chunk: once, for a store of schema version 1. */
  #countPools(uses: readonly { used: number; peer: string; mine: number }[]): void {
    // A chunk in a run has its length in `bytes`; one written before runs, in its sealed `material`.
    const rows = this.#db
      .prepare(
        `SELECT peer, mine, COUNT(*) AS n, SUM(CASE WHEN run IS NULL THEN length(material) ELSE bytes END) AS b,
           SUM(run IS NULL) AS own FROM chunks GROUP BY peer, mine`,
      )
      .all() as { peer: string; mine: number; n: number; b: number; own: number }[];
    for (const r of rows) {
      const l = this.#own(r.peer);
      if (r.mine) {
        l.mineChunks = r.n;
        l.mineBytes = r.b - this.sealing.overhead * r.own;
      } else l.theirChunks = r.n;
    }
    for (const u of uses) if (u.mine) this.#own(u.peer).mineBytes -= usedBytes(u.used);
    this.transaction(() => {
      for (const p of this.peers()) this.#savePool(p);
    });
  }

  /** Writes the level of `peer` (inside the caller's transaction, so it commits with the chunks). */
  #savePool(peer: string): void {
    const l = this.#own(peer);
    const st = this.#role === 'main' ? this.#st.upsertPool : this.#st.upsertSupplyPool;
    st.run(peer, l.mineBytes, l.mineChunks, l.theirChunks);
  }

  /** This connection's part of the level of `peer` (a live object, changed with the rows). */
  #own(peer: string): PoolLevel {
    let l = this.#levels.get(peer);
    if (!l) {
      l = { mineBytes: 0, mineChunks: 0, theirChunks: 0 };
      this.#levels.set(peer, l);
    }
    return l;
  }

  /** Pool level of the link to `peer` (do not mutate; a live object unless a supply worker adds to it). */
  level(peer: string): PoolLevel {
    const own = this.#own(peer);
    const o = this.#other.get(peer);
    if (!o) return own;
    return {
      mineBytes: own.mineBytes + o.mineBytes,
      mineChunks: own.mineChunks + o.mineChunks,
      theirChunks: own.theirChunks + o.theirChunks,
    };
  }

  /** Peers the store has seen material from. */
  peers(): string[] {
    return [...new Set([...this.#levels.keys(), ...this.#other.keys()])];
  }

  /**
   * Main role: from now on the supply worker's connection stores device-file supply and checkpoints the
   * WAL (this connection no longer checkpoints on commit, so request handling never copies the WAL).
   */
  attachSupplyWriter(): void {
    this.#supplyWriter = true;
    this.#db.pragma('wal_autocheckpoint = 0');
  }

  /** The supply worker stopped: this connection checkpoints again (on commit and in `maintain`). */
  detachSupplyWriter(): void {
    this.#supplyWriter = false;
    if (this.#db.open) this.#db.pragma('wal_autocheckpoint = 1000');
  }

  /** Chunks waiting in the supply worker's queue, as it last reported (0 without a worker). */
  get supplyBacklog(): number {
    return this.#supplyWriter ? this.#supplyBacklog : 0;
  }

  /** True while a supply worker's connection writes supply and checkpoints (`attachSupplyWriter`). */
  get supplyWriter(): boolean {
    return this.#supplyWriter;
  }

  /**
   * Main role: what the supply worker's connection committed (and synced) for `peer` — its part of the
   * pool level and its drop counters, absolute; `touched` when it consumed tombstones (mirrors reloaded).
   */
  noteSupply(
    peer: string,
    n: { level: PoolLevel; dropped: number; erasedOnArrival: number; touched: boolean; backlog?: number },
  ): void {
    this.#other.set(peer, { ...n.level });
    this.#supplyBacklog = n.backlog ?? 0;
    this.#otherDropped.set(peer, n.dropped);
    this.#otherErased.set(peer, n.erasedOnArrival);
    if (n.touched) this.#reloadUses();
  }

  /** Supply role: this connection's figures for `peer`, for `noteSupply` on the main connection. */
  supplyNote(peer: string): { level: PoolLevel; dropped: number; erasedOnArrival: number; touched: boolean } {
    const touched = this.#touched;
    this.#touched = false;
    return {
      level: { ...this.#own(peer) },
      dropped: this.#dropped.get(peer) ?? 0,
      erasedOnArrival: this.#erasedOnArrival.get(peer) ?? 0,
      touched,
    };
  }

  /**
   * Runs `fn` in one transaction (a savepoint when nested). If it throws, the database rolls back and the
   * in-memory mirrors are reloaded from it before the error goes on, so levels never drift from the rows.
   */
  transaction<T>(fn: () => T): T {
    try {
      // IMMEDIATE: the write lock first, so another connection's commit never invalidates this one's reads.
      return this.#db.transaction(fn).immediate();
    } catch (e) {
      if (this.#db.open) this.#loadMirrors();
      throw e;
    }
  }

  /**
   * Group commit (./batcher.ts): runs every op in its own savepoint inside one transaction; an op that
   * throws rolls back alone and gets its error as its result. If the COMMIT itself fails, nothing of the
   * batch is durable and the error is thrown. Mirrors are repaired after any rollback.
   */
  runBatch(ops: readonly (() => unknown)[]): ({ ok: true; v: unknown } | { ok: false; e: unknown })[] {
    const results: ({ ok: true; v: unknown } | { ok: false; e: unknown })[] = [];
    this.transaction(() => {
      for (const op of ops) {
        try {
          results.push({ ok: true, v: this.transaction(op) });
        } catch (e) {
          results.push({ ok: false, e });
        }
      }
    });
    return results;
  }

  /** True until `close()`. */
  get isOpen(): boolean {
    return this.#db.open;
  }

  /** A SQLite pragma's value (read-only inspection for tests and diagnostics, e.g. `journal_mode`). */
  pragma(name: 'journal_mode' | 'synchronous'): unknown {
    return this.#db.pragma(name, { simple: true });
  }

  /**
   * Adds chunks from the link to `peer` (whole items); returns how many were stored. Chunks of a block
   * already supplied once (even if consumed since), duplicates and overflow are dropped.
   */
  addChunks(peer: string, chunks: readonly ChunkInput[]): number {
    let added = 0;
    this.transaction(() => {
      const byBlock = new Map<string, ChunkInput[]>();
      for (const c of chunks) {
        let list = byBlock.get(c.blockId);
        if (!list) byBlock.set(c.blockId, (list = []));
        list.push(c);
      }
      for (const [blockId, list] of byBlock) {
        if (this.beginItem(peer, blockId) !== 0) continue;
        added += this.storeItemSlice(peer, blockId, list, list.length, list.length);
      }
    });
    return added;
  }

  /**
   * Starts storing supply item `blockId` from `peer`: returns the index of its first chunk still to be
   * stored — 0 for a new item, where an earlier attempt stopped (a crash mid-item), or -1 when the item
   * was stored completely before (then it is ignored: material consumed since must never return).
   */
  beginItem(peer: string, blockId: string): number {
    if (this.#st.insertSupplied.run(peer, blockId).changes === 1) return 0;
    const p = this.#st.selectProgress.get(peer, blockId) as { upto: number } | undefined;
    return p ? p.upto : -1;
  }

  /**
   * Stores `chunks` of item `blockId` (begun with `beginItem`) in one transaction; `upto` is the index
   * after the last of them, `total` the item's chunk count. Records the progress (or, at the end, the
   * item as complete and `mark`, how far a southbound file was read). Returns chunks stored. Not synced
   * here: the caller makes it durable (`syncWal`) off the event loop.
   */
  storeItemSlice(
    peer: string,
    blockId: string,
    chunks: readonly ChunkInput[],
    upto: number,
    total: number,
    mark?: SupplyMark,
  ): number {
    const l = this.#own(peer);
    let added = 0;
    let dropped = 0;
    const json = new Map<readonly string[], string>();
    const text = (a: readonly string[]) => {
      let t = json.get(a);
      if (t === undefined) json.set(a, (t = JSON.stringify(a)));
      return t;
    };
    // The chunks stored go into runs of up to RUN_CHUNKS, each sealed once (./store-runs.ts): a run row
    // is inserted first (its seq names it in the chunk rows), its chunk rows next (a duplicate ID is
    // ignored and takes no slot, so a run never holds bytes no chunk row points at), then it is sealed.
    let run: { seq: number; chunks: { id: string; mine: number; material: Uint8Array }[] } | undefined;
    const closeRun = () => {
      if (!run) return;
      const { seq, chunks: packed } = run;
      run = undefined;
      if (packed.length === 0) {
        this.#st.deleteRun.run(seq);
        return;
      }
      const { plain, manifest } = packRun(packed);
      this.#st.sealRun.run(
        packed.length,
        manifest,
        this.sealing.seal('chunk_runs', { seq, peer, manifest }, plain),
        seq,
      );
      plain.fill(0);
    };
    this.transaction(() => {
      // The other connection's chunks count too: read again in the supply role (the main one may have
      // consumed or stored some); the supply worker's as last reported in the main role.
      if (this.#role === 'supply') this.#refreshOther(peer);
      const o = this.#other.get(peer);
      const base = o ? o.mineChunks + o.theirChunks : 0;
      for (const c of chunks) {
        if (base + l.mineChunks + l.theirChunks >= this.maxChunksPerPeer) {
          dropped++;
          continue;
        }
        const mine = c.mine ? 1 : 0;
        const bytes = c.material.length;
        const tomb = this.#tombs.size > 0 ? this.#tombs.get(c.id) : undefined;
        let erased = 0;
        if (tomb) {
          this.#touched = true;
          this.#tombs.delete(c.id);
          this.#st.deleteTombstone.run(c.id);
          // Only the chunk's owner may erase it (a tombstone naming our own chunk came from a bad notice).
          if (tomb.peer === peer && !c.mine) erased = (tomb.erased & byteMask(0, bytes)) >>> 0;
          if (erased !== 0 && usedBytes(erased) >= bytes) {
            this.#erasedOnArrival.set(peer, (this.#erasedOnArrival.get(peer) ?? 0) + 1);
            continue;
          }
        }
        if (run?.chunks.length === RUN_CHUNKS) closeRun();
        run ??= { seq: Number(this.#st.insertRun.run(peer).lastInsertRowid), chunks: [] };
        const r = this.#st.insertChunk.run(
          c.id,
          peer,
          mine,
          EMPTY,
          rankOf(c.provenance),
          text(c.path),
          text(c.exposedTo),
          c.blockId,
          run.seq,
          run.chunks.length,
          bytes,
        );
        if (r.changes === 0) continue;
        run.chunks.push({ id: c.id, mine, material: c.material });
        added++;
        if (erased !== 0) {
          this.#used.set(c.id, erased);
          this.#st.upsertUse.run(c.id, erased);
        }
        if (c.mine) {
          l.mineChunks++;
          l.mineBytes += bytes;
        } else l.theirChunks++;
      }
      closeRun();
      if (added > 0) this.#savePool(peer);
      if (upto < total) this.#st.upsertProgress.run(peer, blockId, upto);
      else this.#st.deleteProgress.run(peer, blockId);
      if (mark) this.#st.upsertOffset.run(mark.source, mark.ino, mark.offset, mark.line);
    });
    if (dropped > 0) this.#dropped.set(peer, (this.#dropped.get(peer) ?? 0) + dropped);
    return added;
  }

  /** Chunks of new supply from `peer` dropped at `maxChunksPerPeer` since the store opened. */
  droppedChunks(peer: string): number {
    return (this.#dropped.get(peer) ?? 0) + (this.#otherDropped.get(peer) ?? 0);
  }

  /** Chunks from `peer` dropped on arrival since the store opened: their owner had erased them (tombstones). */
  erasedOnArrival(peer: string): number {
    return (this.#erasedOnArrival.get(peer) ?? 0) + (this.#otherErased.get(peer) ?? 0);
  }

  /** Supply role: the main connection's level of `peer` and the tombstones, as committed now. */
  #refreshOther(peer: string): void {
    const r = this.#st.selectPool.get(peer) as
      { mine_bytes: number; mine_chunks: number; their_chunks: number } | undefined;
    if (r)
      this.#other.set(peer, {
        mineBytes: r.mine_bytes,
        mineChunks: r.mine_chunks,
        theirChunks: r.their_chunks,
      });
    this.#tombs.clear();
    for (const t of this.#st.selectTombstones.all() as { id: string; peer: string; erased: number }[])
      this.#tombs.set(t.id, { peer: t.peer, erased: t.erased });
  }

  /** Chunk IDs with a tombstone (for audits and tests; never material). */
  tombstoneIds(): string[] {
    return [...this.#tombs.keys()];
  }

  /**
   * Records, before any message of it leaves, that this KME is the source of relayed key `keyId` for
   * destination `peer`, which will store it as chunks `chunkIds` (the durable intent of a relay).
   */
  beginRelay(
    peer: string,
    keyId: string,
    chunkIds: readonly string[],
    sizeBits: number,
    nowMs: number,
  ): void {
    this.#st.insertRelayPending.run(keyId, peer, JSON.stringify(chunkIds), sizeBits, nowMs);
  }

  /**
   * Settles relayed key `keyId` begun with `beginRelay`: if this KME stored its copy (`supplied`), the
   * intent is just forgotten; otherwise it becomes an erase notice for the destination (pushed until
   * acknowledged; the destination erases its copy, or keeps a tombstone if it never stored one).
   * Returns the destination when a notice was queued, else undefined.
   */
  settleRelay(keyId: string, nowMs: number): string | undefined {
    return this.transaction(() => {
      const r = this.#st.selectRelayPending.get(keyId) as
        { peer: string; chunk_ids: string; size_bits: number } | undefined;
      if (!r) return undefined;
      this.#st.deleteRelayPending.run(keyId);
      if (this.#st.selectSupplied.get(r.peer, keyId)) return undefined;
      // Master and slave name this KME's relay identity; `slaves: []` makes it an erase notice.
      this.#st.insertOutbox.run(keyId, r.peer, r.chunk_ids, r.size_bits, `relay:source`, '[]', nowMs, 0);
      return r.peer;
    });
  }

  /** Relayed keys begun and not settled: `{ keyId, peer, createdMs }`, oldest first. */
  pendingRelays(): { keyId: string; peer: string; createdMs: number }[] {
    return (
      this.#st.selectRelayPendingAll.all() as { key_id: string; peer: string; created_ms: number }[]
    ).map((r) => ({ keyId: r.key_id, peer: r.peer, createdMs: r.created_ms }));
  }

  /** Forgets tombstones written before `beforeMs` (their chunk never arrived); returns how many. */
  expireTombstones(beforeMs: number): number {
    const ids = (this.#st.expiredTombstones.all(beforeMs) as { id: string }[]).map((r) => r.id);
    this.transaction(() => {
      for (const id of ids) {
        this.#st.deleteTombstone.run(id);
        this.#tombs.delete(id);
      }
    });
    return ids.length;
  }

  /** Records how far a southbound file was read (when its last items were ignored as seen before). */
  saveMark(mark: SupplyMark): void {
    this.#st.upsertOffset.run(mark.source, mark.ino, mark.offset, mark.line);
  }

  /** How far southbound file `source` was read and stored (undefined: never). */
  supplyOffset(source: string): SupplyMark | undefined {
    const r = this.#st.selectOffset.get(source) as { ino: number; offset: number; line: number } | undefined;
    return r && { source, ...r };
  }

  /**
   * Forms `number` keys of `sizeBits` from this KME's own chunks of the link to `peer`, erases the chunks,
   * logs the delivery to `master`, and keeps a copy for `localSlaves` (slaves served by this KME).
   * Throws KMS_KEY_EXHAUSTED (nothing changed) when the pool is too small.
   */
  takeForMaster(req: MasterTake): FormedKey[] {
    return this.#formForMaster(req, (k) =>
      this.#st.logDelivery.run(k.keyId, 'master', req.master, req.nowMs),
    );
  }

  /**
   * A lease (./lease.ts): forms keys exactly as `takeForMaster` does — chunks erased, copies for local
   * slaves, reservations for remote ones — but records each key as leased to `master` instead of delivered.
   * `confirmLeased` turns a leased key into a delivery; `discardLeased` erases what is left after a stop.
   */
  leaseForMaster(req: MasterTake): FormedKey[] {
    return this.#formForMaster(req, (k) =>
      this.#st.insertLeased.run(k.keyId, req.peer, req.master, req.nowMs),
    );
  }

  /** Logs leased keys `keyIds` as delivered to `master` (their lease entries go). */
  confirmLeased(master: string, keyIds: readonly string[], nowMs: number): void {
    for (const id of keyIds) {
      if (this.#st.deleteLeased.run(id).changes !== 1)
        throw new Error(`key ${id} is not leased (broken invariant: a lease key served twice)`);
      this.#st.logDelivery.run(id, 'master', master, nowMs);
    }
  }

  /**
   * Erases every key still leased: not confirmed as delivered before the process stopped, so possibly
   * delivered and never to be served again. Their copies for local slaves go too, and their reservations
   * not yet sent to the peer become erase notices; each is logged in `discarded`. Returns how many keys were discarded.
   */
  discardLeased(nowMs: number): number {
    const rows = this.#db.prepare('SELECT key_id, peer, master FROM leased').all() as {
      key_id: string;
      peer: string;
      master: string;
    }[];
    this.transaction(() => {
      for (const r of rows) {
        this.#st.deleteKey.run(r.key_id);
        // An unsent reservation becomes an erase notice: the peer erases its copy of the chunks too.
        this.#st.eraseOnlyOutboxKey.run(r.peer, r.key_id);
        this.#st.insertDiscarded.run(r.key_id, r.master, nowMs);
        this.#st.deleteLeased.run(r.key_id);
      }
    });
    return rows.length;
  }

  #formForMaster(req: MasterTake, record: (k: FormedKey) => void): FormedKey[] {
    const bytes = req.sizeBits / 8;
    const total = this.level(req.peer);
    const l = this.#own(req.peer);
    if (total.mineBytes < bytes * req.number) throw exhausted(req.peer, req.number, req.sizeBits, total);
    return this.transaction(() => {
      const out: FormedKey[] = [];
      // Unless asked otherwise, never material that protects nothing (simulated-deterministic).
      const maxRank = req.maxProvenanceRank ?? LAST_PROTECTING_RANK;
      // Enough rows for full-size chunks (+1: the first may be partly used); short (tail) chunks fall
      // back to iterating.
      const want = Math.ceil((bytes * req.number) / CHUNK_SIZE) + 1;
      const first = this.#st.selectMine.all(req.peer, maxRank, want) as ChunkRow[];
      const rows = first.length < want ? first : this.#more(first, req.peer, maxRank);
      // Rows are opened (decrypted) as the cut reads them and wiped once the keys are formed; each run
      // they come from is opened once and sealed again once, without the chunks used up.
      const opened: ChunkRow[] = [];
      const runs = this.#runs();
      const plain = function* (this: KeyStore) {
        for (const sealed of rows) {
          const row = this.#plain(sealed, runs);
          opened.push(row);
          yield row;
        }
      }.call(this);
      try {
        const cut = cutKeys(plain, (id) => nextFree(this.#used.get(id) ?? 0), bytes, req.number);
        if (cut.length < req.number) throw exhausted(req.peer, req.number, req.sizeBits, total);
        for (const pieces of cut) out.push(formKeyFromPieces(pieces, req.sizeBits));
        for (const pieces of cut) for (const p of pieces) this.#consume(p, l, runs);
        runs.flush();
      } finally {
        for (const r of opened) r.material.fill(0);
        runs.wipe();
      }
      const remote = req.remoteSlaves ?? [];
      const slaves = JSON.stringify(remote);
      for (const k of out) {
        record(k);
        if (req.localSlaves.length > 0) this.#insertKey(req.peer, k, req.master, req.localSlaves, req.nowMs);
        if (remote.length > 0 || req.eraseAtPeer)
          this.#st.insertOutbox.run(
            k.keyId,
            req.peer,
            JSON.stringify(k.chunkIds),
            req.sizeBits,
            req.master,
            slaves,
            req.nowMs,
            k.offset,
          );
      }
      this.#savePool(req.peer);
      return out;
    });
  }

  /**
   * Applies a peer's reservation: chunks `chunkIds` (owned by `peer`) become key `keyId` for `slaves`
   * served here. All-or-nothing; throws KMS_PEER_UNAVAILABLE if a chunk is missing or not the peer's.
   * An erase notice (no slaves) erases the bytes it names; a chunk not stored here yet gets a tombstone
   * instead (its bytes counted as 32-byte chunks, the length every chunk but a block's last has), so the
   * copy is dropped when it arrives.
   */
  applyReservation(peer: string, r: ReservationRecord, nowMs: number, savePool = true): void {
    const runs = this.#runs();
    try {
      this.#applyReservation(peer, r, nowMs, runs);
      runs.flush();
    } finally {
      runs.wipe();
    }
    if (savePool) this.#savePool(peer);
  }

  /** `applyReservation` reading and erasing through `runs` (the caller flushes them). */
  #applyReservation(peer: string, r: ReservationRecord, nowMs: number, runs: OpenRuns): void {
    const l = this.#own(peer);
    // Idempotent: a reservation seen before (pushed and pulled, or re-sent after a crash) is a no-op.
    if (this.#st.selectReceived.get(r.keyId)) return;
    const rows: ChunkRow[] = [];
    // An erase notice may name chunks whose copy has not arrived here yet: they get tombstones.
    const eraseOnly = r.slaves.length === 0;
    const absent = new Set<ChunkRow>();
    for (const id of r.chunkIds) {
      const row = this.#st.selectChunk.get(id) as ChunkRow | undefined;
      if (!row && eraseOnly) {
        const stand = {
          id,
          peer,
          mine: 0,
          material: new Uint8Array(MAX_CHUNK_BYTES),
          run: null,
          slot: null,
          bytes: null,
        } as unknown as ChunkRow;
        absent.add(stand);
        rows.push(stand);
        continue;
      }
      if (!row || row.peer !== peer || row.mine !== 0) {
        for (const x of rows) x.material.fill(0);
        throw new QkdnetError(
          'KMS_PEER_UNAVAILABLE',
          `Cannot reserve key ${r.keyId} for KME "${peer}": chunk ${id} is ${row ? 'not owned by that KME' : 'not stored here'}`,
        );
      }
      rows.push(this.#plain(row, runs));
    }
    const pieces = piecesOf(rows, r.offset ?? 0, r.sizeBits / 8);
    // Every byte goes to one key: a piece overlapping bytes already used here is refused.
    const overlaps = (p: Piece) =>
      !absent.has(p.row) && ((this.#used.get(p.row.id) ?? 0) & byteMask(p.start, p.length)) !== 0;
    if (!pieces || pieces.some(overlaps)) {
      for (const row of rows) row.material.fill(0);
      throw new QkdnetError(
        'KMS_PEER_UNAVAILABLE',
        `Cannot reserve key ${r.keyId}: the chunks do not hold those ${r.sizeBits} bits`,
      );
    }
    this.#st.insertReceived.run(r.keyId);
    for (const p of pieces) {
      if (!absent.has(p.row)) {
        this.#consume(p, l, runs);
        continue;
      }
      const erased = byteMask(p.start, p.length);
      const t = this.#tombs.get(p.row.id);
      this.#tombs.set(p.row.id, { peer, erased: ((t?.erased ?? 0) | erased) >>> 0 });
      this.#st.upsertTombstone.run(p.row.id, peer, erased, nowMs);
    }
    // No slaves: an erase notice (the owner delivered the key elsewhere or abandoned it) — copy erased.
    if (!eraseOnly) {
      const k = formKeyFromPieces(pieces, r.sizeBits, r.keyId);
      this.#insertKey(peer, k, r.master, r.slaves, nowMs);
      k.key.fill(0);
    }
    for (const row of rows) row.material.fill(0);
  }

  /**
   * Applies reservations `rs` of `peer` in the caller's transaction; returns the key IDs refused. Each is
   * all-or-nothing without a savepoint of its own: `applyReservation` refuses (QkdnetError) before it
   * writes a row or touches a mirror, and any other error fails the whole transaction. The pool level is
   * written once, after the last (one SAVEPOINT/RELEASE pair and one pool upsert fewer per key).
   */
  applyReservations(peer: string, rs: readonly ReservationRecord[], nowMs: number): string[] {
    const refused: string[] = [];
    // One opening and one re-sealing per run for the whole batch (a refused reservation erased nothing).
    const runs = this.#runs();
    try {
      for (const r of rs) {
        try {
          this.#applyReservation(peer, r, nowMs, runs);
        } catch (e) {
          if (!(e instanceof QkdnetError)) throw e;
          refused.push(r.keyId);
        }
      }
      runs.flush();
    } finally {
      runs.wipe();
    }
    this.#savePool(peer);
    return refused;
  }

  /**
   * Delivers keys `keyIds` to `slave`, named by `master`: all-or-nothing. Unknown or already delivered →
   * KMS_KEY_NOT_FOUND (400); the caller is not a slave the master named → KMS_UNAUTHORIZED (401).
   */
  takeForSlave(
    slave: string,
    master: string,
    keyIds: readonly string[],
    nowMs: number,
    opts: { testSae?: boolean } = {},
  ): FormedKey[] {
    return this.transaction(() => {
      const out: FormedKey[] = [];
      for (const keyId of keyIds) {
        const found = this.#st.selectKey.get(keyId) as KeyRow | undefined;
        const { row, meta, rest } = checkSlaveTake(keyId, found, slave, master, opts.testSae === true);
        if (rest.length === 0) this.#st.deleteKey.run(keyId);
        else this.#st.updatePending.run(JSON.stringify(rest), keyId);
        this.#st.logDelivery.run(keyId, 'slave', slave, nowMs);
        out.push({
          keyId,
          key: this.sealing.open('keys', row, row.material),
          sizeBits: row.size_bits,
          chunkIds: [],
          offset: 0,
          chunks: [],
          meta,
        });
      }
      return out;
    });
  }

  /** Up to `limit` unacknowledged reservations for `peer`, oldest first (all of `keyIds` if given). */
  outbox(peer: string, limit: number, keyIds?: readonly string[]): OutboxRecord[] {
    let rows: OutboxRow[];
    if (keyIds) {
      // Pulls are rare and the outbox short (entries leave once acknowledged): a scan is fine.
      const want = new Set(keyIds);
      rows = (this.#st.selectOutboxAll.all(peer) as OutboxRow[]).filter((r) => want.has(r.key_id));
    } else rows = this.#st.selectOutbox.all(peer, limit) as OutboxRow[];
    return rows.map((r) => ({
      seq: r.seq,
      keyId: r.key_id,
      chunkIds: JSON.parse(r.chunk_ids) as string[],
      sizeBits: r.size_bits,
      master: r.master,
      slaves: JSON.parse(r.slaves) as string[],
      ...(r.chunk_offset ? { offset: r.chunk_offset } : {}),
    }));
  }

  /** Forgets the reservations for `peer` up to outbox position `seq` (the peer acknowledged them). */
  clearOutbox(peer: string, seq: number): void {
    this.#st.deleteOutbox.run(peer, seq);
  }

  /** Forgets the one reservation `keyId` for `peer` (the peer applied it with a relay message). */
  clearOutboxKey(peer: string, keyId: string): void {
    this.#st.deleteOutboxKey.run(peer, keyId);
  }

  /**
   * Turns the unacknowledged reservation `keyId` for `peer` into an erase notice (no slaves): when it
   * reaches the peer, the peer erases its copy of the chunks instead of keeping a key nobody will fetch.
   * Returns true if there was such a reservation.
   */
  abandonReservation(peer: string, keyId: string): boolean {
    return this.#st.eraseOnlyOutboxKey.run(peer, keyId).changes > 0;
  }

  /**
   * Erases relay link keys (master `relay:…`) formed here before `beforeMs` and never fetched: orphans of
   * relay hops that failed after their reservation was applied. Returns how many.
   */
  reclaimRelayKeys(beforeMs: number): number {
    return this.#st.reclaimRelayKeys.run(beforeMs).changes;
  }

  /** True when `keyId` waits here for a slave or was delivered from here. */
  knows(keyId: string): boolean {
    return Boolean(this.#st.selectKey.get(keyId) || this.#st.selectReceived.get(keyId));
  }

  /** Peers with unacknowledged reservations. */
  outboxPeers(): string[] {
    return (this.#db.prepare('SELECT DISTINCT peer FROM outbox').all() as { peer: string }[]).map(
      (r) => r.peer,
    );
  }

  /** Keys waiting for local slaves. */
  pendingKeyCount(): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM keys').get() as { n: number }).n;
  }

  /** Chunk ids stored (for audits and tests; never material). */
  chunkIds(): string[] {
    return (this.#db.prepare('SELECT id FROM chunks ORDER BY seq').all() as { id: string }[]).map(
      (r) => r.id,
    );
  }

  /** Key ids waiting for slaves (for audits and tests). */
  keyIds(): string[] {
    return (this.#db.prepare('SELECT id FROM keys').all() as { id: string }[]).map((r) => r.id);
  }

  /** The delivery log (no material). */
  deliveries(): Delivery[] {
    return this.#db.prepare('SELECT key_id AS keyId, role, sae FROM deliveries').all() as Delivery[];
  }

  /**
   * Makes every transaction committed so far durable: fdatasync of the WAL file on the libuv thread pool
   * (group mode; SQLite already synced inside COMMIT in full mode). Resolves when the data is on disk.
   */
  syncWal(): Promise<void> {
    const fd = this.#walFd;
    if (fd === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
  }

  /**
   * Moves WAL content into the database and truncates the WAL (erases old frames holding keys). `FULL`
   * copies without truncating (tests use it to inspect both files).
   */
  checkpoint(mode: 'TRUNCATE' | 'FULL' = 'TRUNCATE'): void {
    this.#db.pragma(`wal_checkpoint(${mode})`);
    privatizeFiles(...this.#files);
  }

  /** Checkpoints and closes the file (recorded as a clean close: ./slave-copies.ts). */
  close(): void {
    if (!this.#db.open) return;
    // Checkpointed into the synced database file with everything before it.
    this.#db.prepare("INSERT OR REPLACE INTO store_state (k, v) VALUES ('clean', '1')").run();
    this.checkpoint();
    this.#db.close();
    if (this.#walFd !== undefined) closeSync(this.#walFd);
    this.sealing.destroy();
    this.#lock?.release();
  }

  /** `row` with its material opened (a fresh plaintext buffer the caller zeroes), from its run if it has one. */
  #plain(row: ChunkRow, runs: OpenRuns): ChunkRow {
    if (row.run !== null) return { ...row, material: runs.chunk(row) };
    return { ...row, material: this.sealing.open('chunks', row, row.material) };
  }

  /** The runs one call opens (./store-runs.ts): flushed in the call's transaction, wiped after it. */
  #runs(): OpenRuns {
    const st = this.#st;
    return new OpenRuns({
      load: (seq) => st.selectRun.get(seq) as RunRow | undefined,
      open: (row) => this.sealing.open('chunk_runs', row, row.material),
      seal: (row, plain) => this.sealing.seal('chunk_runs', row, plain),
      update: (seq, live, material) => st.updateRun.run(live, material, seq),
      remove: (seq) => st.deleteRun.run(seq),
    });
  }

  /** Rows after `first` (used when tail chunks are shorter than CHUNK_SIZE). */
  *#more(first: readonly ChunkRow[], peer: string, maxRank: number): Generator<ChunkRow> {
    yield* first;
    const last = first.at(-1);
    yield* this.#st.selectMineFrom.iterate(peer, maxRank, last ? last.seq : -1) as IterableIterator<ChunkRow>;
  }

  /**
   * Marks piece `p` used: the chunk is deleted once all its bytes are used, else its use is recorded.
   * Pool level: this KME's bytes drop by the piece; chunk counts only when a chunk goes.
   */
  #consume(p: Piece, l: PoolLevel, runs: OpenRuns): void {
    const mine = p.row.mine === 1;
    const used = ((this.#used.get(p.row.id) ?? 0) | byteMask(p.start, p.length)) >>> 0;
    if (mine) l.mineBytes -= p.length;
    if (usedBytes(used) >= p.row.material.length) {
      this.#st.deleteChunk.run(p.row.seq);
      if (p.row.run !== null) runs.erase(p.row);
      if (this.#used.delete(p.row.id)) this.#st.deleteUse.run(p.row.id);
      if (mine) l.mineChunks--;
      else l.theirChunks--;
    } else {
      this.#used.set(p.row.id, used);
      this.#st.upsertUse.run(p.row.id, used);
    }
  }

  #insertKey(peer: string, k: FormedKey, master: string, slaves: readonly string[], nowMs: number): void {
    this.#st.insertKey.run(
      k.keyId,
      peer,
      this.sealing.seal('keys', { id: k.keyId, peer, master }, k.key),
      k.sizeBits,
      master,
      JSON.stringify(slaves),
      JSON.stringify(slaves),
      JSON.stringify(k.meta),
      nowMs,
    );
  }
}

/**
 * The checks of a slave's request for key `keyId` (stored as `row`, if at all): unknown or already
 * delivered to this slave → KMS_KEY_NOT_FOUND; not named by `master` for this slave, or a test key for a
 * slave that is not a test SAE → KMS_UNAUTHORIZED. Returns the key's metadata and the slaves still to fetch it.
 */
export function checkSlaveTake<R extends Pick<KeyRow, 'pending' | 'slaves' | 'master' | 'meta'>>(
  keyId: string,
  row: R | undefined,
  slave: string,
  master: string,
  testSae: boolean,
): { row: R; meta: KeyMeta; rest: string[] } {
  const pending: string[] = row ? JSON.parse(row.pending) : [];
  if (!row || (!pending.includes(slave) && JSON.parse(row.slaves).includes(slave)))
    throw new QkdnetError('KMS_KEY_NOT_FOUND', `Key ${keyId} is not stored here or was already delivered`);
  if (row.master !== master || !pending.includes(slave))
    throw new QkdnetError(
      'KMS_UNAUTHORIZED',
      `Key ${keyId} was not requested for SAE "${slave}" by master SAE "${master}"`,
    );
  const meta = JSON.parse(row.meta) as KeyMeta;
  if (rankOf(meta.provenance) > LAST_PROTECTING_RANK && !testSae)
    throw new QkdnetError(
      'KMS_UNAUTHORIZED',
      `Key ${keyId} is a ${meta.provenance} test key; SAE "${slave}" is not configured as a test SAE`,
    );
  return { row, meta, rest: pending.filter((s) => s !== slave) };
}

function exhausted(peer: string, n: number, sizeBits: number, l: PoolLevel): QkdnetError {
  return new QkdnetError(
    'KMS_KEY_EXHAUSTED',
    `Cannot form ${n} key(s) of ${sizeBits} bits from the link to "${peer}": ${l.mineBytes * 8} bits stored`,
  );
}
