/**
 * The PostgreSQL key store: the KME's store interface (./store-backend.ts) over a database that several
 * replicas of ONE KME (same id, same store key) share. Any replica serves any request; the database, not
 * any process, decides who gets what:
 *  - a master's keys are cut from chunks selected `FOR UPDATE SKIP LOCKED` (the classic queue pattern),
 *    consumed, logged and — for local slaves — copied in ONE transaction committed before the answer
 *    leaves, so two replicas never cut the same bytes;
 *  - a slave's key row is locked, delivered and deleted (or its pending list shortened) in one
 *    transaction: the second replica to ask waits on the lock and then finds it gone;
 *  - a lease (./lease.ts) names the replica holding it; a served lease key is confirmed (lease row
 *    deleted, delivery logged) in a transaction committed BEFORE the answer — if the lease was discarded
 *    meanwhile the delete finds nothing and the key is never handed out. A replica beats its heartbeat
 *    every HEARTBEAT_MS; the leases of one silent for REPLICA_TTL_MS are discarded by any replica (their
 *    slave copies erased, unsent reservations turned into erase notices), exactly as the SQLite store
 *    discards a stopped process's leases at its next start.
 * Pool figures are cached per replica (refreshed by each own transaction and every heartbeat). Key
 * columns are sealed as in SQLite (./store-pg-seal.ts). Every commit is durable (synchronous_commit on).
 * Schema: ./store-pg-sql.ts, migrations applied at open.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import { LAST_PROTECTING_RANK, QkdnetError } from '../common/index.ts';
import {
  byteMask,
  cutKeys,
  formKeyFromPieces,
  MAX_CHUNK_BYTES,
  nextFree,
  piecesOf,
  usedBytes,
} from './chunk-use.ts';
import type { KeyBackend } from './store-backend.ts';
import { checkSlaveTake } from './store.ts';
import type {
  Delivery,
  FormedKey,
  MasterTake,
  OutboxRecord,
  PoolLevel,
  ReservationRecord,
  SupplyMark,
} from './store.ts';
import type { Keyring } from './store-crypto.ts';
import { migratePg, type PgChunkRow } from './store-pg-sql.ts';
import { PgSealing } from './store-pg-seal.ts';
import type { ChunkRow, KeyRow } from './store-sql.ts';
import { PgSupply } from './store-pg-supply.ts';
import type { ChunkCutter } from './supply.ts';

/** How often a replica records that it is alive (and refreshes its pool figures), ms. */
export const HEARTBEAT_MS = 1000;
/** A replica silent this long is dead: its leases are discarded by the others, ms. */
export const REPLICA_TTL_MS = 10_000;
const CHUNK_SIZE = 32;
/** Attempts of a transaction aborted by a deadlock or serialization failure. */
const TX_ATTEMPTS = 3;
/** The database's clock in ms (every replica compares heartbeats on one clock). */
const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/** Options of `PgKeyStore.open`. */
export interface PgStoreOptions {
  /** `postgres://user@host:port/db` (libpq URL; password and TLS options as the pg client reads them). */
  readonly url: string;
  readonly keyring: Keyring | null;
  readonly maxChunksPerPeer?: number;
  /** Connections per replica (default 8). */
  readonly poolSize?: number;
  readonly log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export { isPostgresUrl } from './config.ts';

/** The URL without its password (for logs and errors). */
export function redactUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@]*@/, '$1:***@');
}

type Client = pg.PoolClient;

/** The PostgreSQL store of one replica (see the file header). */
export class PgKeyStore implements KeyBackend {
  readonly kind = 'postgres';
  /** This replica's id in `replicas` and `leased`. */
  readonly replica = randomUUID();
  readonly maxChunksPerPeer: number;
  readonly #pool: pg.Pool;
  readonly #sealing: PgSealing;
  readonly #log: PgStoreOptions['log'];
  readonly #levels = new Map<string, PoolLevel>();
  readonly #supply: PgSupply;
  #discarded = 0;
  #pending = 0;
  /** Bumped by every pool figure a transaction returns (a slower heartbeat read must not undo it). */
  #levelGen = 0;
  #batches = 0;
  #beat: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(pool: pg.Pool, sealing: PgSealing, opts: PgStoreOptions) {
    this.#pool = pool;
    this.#sealing = sealing;
    this.#log = opts.log;
    this.maxChunksPerPeer = opts.maxChunksPerPeer ?? 1_000_000;
    this.#supply = new PgSupply(
      (fn) => this.#tx(fn),
      sealing,
      this.maxChunksPerPeer,
      (peer, l) => this.#setLevel(peer, l),
      opts.log,
    );
  }

  /** Connects, applies migrations, checks the store key, registers this replica and discards dead ones' leases. */
  static async open(opts: PgStoreOptions): Promise<PgKeyStore> {
    // Loaded here, not with this module: a KME on SQLite never pays for the driver at start-up.
    const { default: driver } = await import('pg');
    const pool = new driver.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 8,
      connectionTimeoutMillis: 3000,
      // A replica that stops answering mid-transaction must not hold row locks for long.
      options: '-c idle_in_transaction_session_timeout=10000 -c lock_timeout=5000 -c statement_timeout=10000',
    });
    // An idle connection broken by a database restart: dropped here, a new one is made on demand.
    pool.on('error', (e) => opts.log?.warn({ err: e.message }, 'PostgreSQL connection lost'));
    const where = `the PostgreSQL key store ${redactUrl(opts.url)}`;
    let c: Client | undefined;
    try {
      c = await pool.connect();
      c.on('error', noteLost);
      await migratePg(c);
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock(1903520110)');
      const sealing = await PgSealing.init(c, opts.keyring, where);
      await c.query('COMMIT');
      c.off('error', noteLost);
      c.release();
      c = undefined;
      const s = new PgKeyStore(pool, sealing, opts);
      await s.#tx((t) =>
        t.query(
          `INSERT INTO replicas (id, host, pid, started_ms, seen_ms, key_version) VALUES ($1, $2, $3, ${NOW_MS}, ${NOW_MS}, $4)`,
          [s.replica, hostname(), process.pid, sealing.version],
        ),
      );
      await s.#heartbeat();
      s.#beat = setInterval(() => void s.#heartbeat(), HEARTBEAT_MS);
      s.#beat.unref();
      return s;
    } catch (e) {
      if (c) {
        await c.query('ROLLBACK').catch(() => undefined);
        c.release(true);
      }
      await pool.end().catch(() => undefined);
      if (e instanceof QkdnetError) throw e;
      throw new QkdnetError('KMS_STORE_FAILED', `Cannot open ${where}: ${(e as Error).message}`);
    }
  }

  get discardedAtStart(): number {
    return this.#discarded;
  }
  get backlog(): number {
    return this.#supply.backlog;
  }
  level(peer: string): PoolLevel {
    let l = this.#levels.get(peer);
    if (!l) this.#levels.set(peer, (l = { mineBytes: 0, mineChunks: 0, theirChunks: 0 }));
    return l;
  }
  peers(): string[] {
    return [...this.#levels.keys()];
  }
  droppedChunks(peer: string): number {
    return this.#supply.dropped(peer);
  }
  pendingKeyCount(): number {
    return this.#pending;
  }
  stats(): { batches: number; ops: number } {
    return { batches: this.#batches, ops: this.#batches };
  }

  takeForMaster(req: MasterTake): Promise<FormedKey[]> {
    return this.#formForMaster(req, (c, keys) =>
      insertMany(
        c,
        'deliveries',
        ['key_id', 'role', 'sae', 'at_ms', 'replica'],
        ['text', 'text', 'text', 'int8', 'text'],
        keys.map((k) => [k.keyId, 'master', req.master, req.nowMs, this.replica]),
      ),
    );
  }

  /** One transaction per lease: every COMMIT here is durable (no slices to sync together). */
  readonly leaseSliceKeys = Infinity;

  leaseForMaster(req: MasterTake): Promise<FormedKey[]> {
    return this.#formForMaster(req, (c, keys) =>
      insertMany(
        c,
        'leased',
        ['key_id', 'peer', 'master', 'created_ms', 'replica'],
        ['text', 'text', 'text', 'int8', 'text'],
        keys.map((k) => [k.keyId, req.peer, req.master, req.nowMs, this.replica]),
      ),
    );
  }

  async confirmLeased(master: string, keyIds: readonly string[], nowMs: number): Promise<void> {
    await this.#txRetry(async (c) => {
      const r = await c.query('DELETE FROM leased WHERE key_id = ANY($1) AND replica = $2', [
        keyIds,
        this.replica,
      ]);
      if (r.rowCount !== keyIds.length)
        throw new QkdnetError(
          'KMS_STORE_FAILED',
          'Leased keys were discarded before they could be served (this replica was taken for dead)',
        );
      await insertMany(
        c,
        'deliveries',
        ['key_id', 'role', 'sae', 'at_ms', 'replica'],
        ['text', 'text', 'text', 'int8', 'text'],
        keyIds.map((id) => [id, 'master', master, nowMs, this.replica]),
      );
    });
  }

  takeForSlave(
    slave: string,
    master: string,
    keyIds: readonly string[],
    nowMs: number,
    opts: { testSae?: boolean },
  ): Promise<FormedKey[]> {
    return this.#txRetry(async (c) => {
      // Locked in id order: two replicas asked for overlapping sets cannot deadlock.
      const rows = await c.query<KeyRow>('SELECT * FROM keys WHERE id = ANY($1) ORDER BY id FOR UPDATE', [
        keyIds,
      ]);
      const byId = new Map(rows.rows.map((r) => [r.id, r]));
      const out: FormedKey[] = [];
      const gone: string[] = [];
      const rest: [string, string][] = [];
      try {
        for (const keyId of keyIds) {
          const found = byId.get(keyId);
          const {
            row,
            meta,
            rest: left,
          } = checkSlaveTake(keyId, found, slave, master, opts.testSae === true);
          if (left.length === 0) gone.push(keyId);
          else rest.push([keyId, JSON.stringify(left)]);
          const key = this.#sealing.open('keys', [row.id, row.peer, row.master], row.material);
          out.push({ keyId, key, sizeBits: row.size_bits, chunkIds: [], offset: 0, chunks: [], meta });
        }
        if (gone.length > 0) await c.query('DELETE FROM keys WHERE id = ANY($1)', [gone]);
        for (const [id, p] of rest) await c.query('UPDATE keys SET pending = $1 WHERE id = $2', [p, id]);
        await insertMany(
          c,
          'deliveries',
          ['key_id', 'role', 'sae', 'at_ms', 'replica'],
          ['text', 'text', 'text', 'int8', 'text'],
          keyIds.map((id) => [id, 'slave', slave, nowMs, this.replica]),
        );
      } catch (e) {
        for (const k of out) k.key.fill(0);
        throw e;
      }
      return out;
    });
  }

  async knows(keyId: string): Promise<boolean> {
    const r = await this.#pool.query(
      'SELECT EXISTS (SELECT 1 FROM keys WHERE id = $1) OR EXISTS (SELECT 1 FROM received WHERE key_id = $1) AS k',
      [keyId],
    );
    return r.rows[0].k === true;
  }

  applyReservations(peer: string, rs: readonly ReservationRecord[], nowMs: number): Promise<string[]> {
    return this.#txRetry(async (c) => {
      // One batch of a peer's reservations at a time across replicas (push and pull of the same
      // reservations would otherwise lock the same chunks in opposite orders).
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`apply:${peer}`]);
      const refused: string[] = [];
      for (const r of rs) {
        await c.query('SAVEPOINT r');
        try {
          await this.#applyReservation(c, peer, r, nowMs);
          await c.query('RELEASE SAVEPOINT r');
        } catch (e) {
          await c.query('ROLLBACK TO SAVEPOINT r');
          if (!(e instanceof QkdnetError)) throw e;
          refused.push(r.keyId);
        }
      }
      return refused;
    });
  }

  async outbox(peer: string, limit: number, keyIds?: readonly string[]): Promise<OutboxRecord[]> {
    const r = keyIds
      ? await this.#pool.query<PgOutboxRow>(
          'SELECT * FROM outbox WHERE peer = $1 AND key_id = ANY($2) ORDER BY seq',
          [peer, keyIds],
        )
      : await this.#pool.query<PgOutboxRow>('SELECT * FROM outbox WHERE peer = $1 ORDER BY seq LIMIT $2', [
          peer,
          limit,
        ]);
    return r.rows.map((o) => ({
      seq: Number(o.seq),
      keyId: o.key_id,
      chunkIds: JSON.parse(o.chunk_ids) as string[],
      sizeBits: o.size_bits,
      master: o.master,
      slaves: JSON.parse(o.slaves) as string[],
      ...(o.chunk_offset ? { offset: o.chunk_offset } : {}),
    }));
  }

  async clearOutbox(peer: string, seq: number): Promise<void> {
    await this.#tx((c) => c.query('DELETE FROM outbox WHERE peer = $1 AND seq <= $2', [peer, seq]));
  }

  async outboxPeers(): Promise<string[]> {
    return (await this.#pool.query<{ peer: string }>('SELECT DISTINCT peer FROM outbox')).rows.map(
      (r) => r.peer,
    );
  }

  supply(peer: string, blockId: string, cutter: ChunkCutter, key: Uint8Array, mark?: SupplyMark) {
    this.level(peer);
    return this.#supply.supply(peer, blockId, cutter, key, mark);
  }

  settled(): Promise<void> {
    return this.#supply.settled();
  }

  async supplyOffset(source: string): Promise<SupplyMark | undefined> {
    const r = await this.#pool.query('SELECT ino, "offset", line FROM supply_offsets WHERE source = $1', [
      source,
    ]);
    const row = r.rows[0];
    return row && { source, ino: Number(row.ino), offset: Number(row.offset), line: Number(row.line) };
  }

  async maintain(): Promise<void> {
    await this.#heartbeat();
  }

  /**
   * Store-key rotation while serving (./store-rotation.ts): takes a newer keyring (refused when it
   * lacks a version rows use or fails its checks); resolves true while a rotation runs.
   */
  async setKeyring(ring: Keyring): Promise<boolean> {
    const rotating = await this.#tx((c) => this.#sealing.setKeyring(c, ring));
    await this.#heartbeat(); // the other replicas learn at once that this one holds the new key
    return rotating;
  }

  /** Re-seals up to `limit` rows under an older key (none while a live replica lacks the new key). */
  rekeyStep(limit: number): Promise<number> {
    return this.#tx(async (c) => {
      const behind = await c.query(
        `SELECT 1 FROM replicas WHERE seen_ms >= ${NOW_MS} - $1 AND key_version < $2 LIMIT 1`,
        [REPLICA_TTL_MS, this.#sealing.version],
      );
      return this.#sealing.rekeyStep(c, limit, behind.rowCount! > 0);
    });
  }

  /** True while rows may still be sealed under a retiring store key. */
  get rotating(): boolean {
    return this.#sealing.rotating;
  }

  /** The newest store-key version this replica holds (0: not encrypted). */
  get version(): number {
    return this.#sealing.version;
  }

  erasedOnArrival(peer: string): number {
    return this.#supply.erasedOnArrival(peer);
  }

  async reclaimRelayKeys(beforeMs: number): Promise<number> {
    const r = await this.#tx((c) =>
      c.query("DELETE FROM keys WHERE master LIKE 'relay:%' AND created_ms < $1", [beforeMs]),
    );
    return r.rowCount ?? 0;
  }

  async expireTombstones(beforeMs: number): Promise<number> {
    const r = await this.#tx((c) => c.query('DELETE FROM tombstones WHERE at_ms < $1', [beforeMs]));
    return r.rowCount ?? 0;
  }

  /** Chunk IDs with a tombstone (audits and tests; never material). */
  async tombstoneIds(): Promise<string[]> {
    return (await this.#pool.query<{ id: string }>('SELECT id FROM tombstones ORDER BY id')).rows.map(
      (r) => r.id,
    );
  }

  /** Chunk IDs stored (audits and tests; never material). */
  async chunkIds(): Promise<string[]> {
    return (await this.#pool.query<{ id: string }>('SELECT id FROM chunks ORDER BY seq')).rows.map(
      (r) => r.id,
    );
  }

  /** Key IDs waiting for slaves here (audits and tests; never material). */
  async keyIds(): Promise<string[]> {
    return (await this.#pool.query<{ id: string }>('SELECT id FROM keys ORDER BY id')).rows.map((r) => r.id);
  }

  /** The delivery log (audits and tests; no material). */
  async deliveries(): Promise<Delivery[]> {
    return (await this.#pool.query<Delivery>('SELECT key_id AS "keyId", role, sae FROM deliveries')).rows;
  }

  stop(): void {
    this.#supply.stop();
    clearInterval(this.#beat);
  }

  async close(): Promise<number> {
    if (this.#closed) return 0;
    this.#closed = true;
    this.stop();
    await this.#supply.settled();
    let released = 0;
    try {
      released = await this.#tx(async (c) => {
        const n = await discardLeases(c, 'replica = $1', [this.replica]);
        await c.query('DELETE FROM replicas WHERE id = $1', [this.replica]);
        return n;
      });
    } catch (e) {
      // The database is away: the others (or the next start) discard these leases once the heartbeat is stale.
      this.#log?.warn({ err: (e as Error).message }, 'leases left to expire');
    }
    await this.#pool.end().catch(() => undefined);
    this.#sealing.destroy();
    return released;
  }

  /** Beats, discards dead replicas' leases and refreshes the cached figures; failures are logged only. */
  async #heartbeat(): Promise<void> {
    if (this.#closed) return;
    try {
      const ttl = REPLICA_TTL_MS;
      const discarded = await this.#tx(async (c) => {
        const r = await c.query(`UPDATE replicas SET seen_ms = ${NOW_MS}, key_version = $2 WHERE id = $1`, [
          this.replica,
          this.#sealing.version,
        ]);
        if (r.rowCount === 0)
          await c.query(
            `INSERT INTO replicas (id, host, pid, started_ms, seen_ms, key_version) VALUES ($1, $2, $3, ${NOW_MS}, ${NOW_MS}, $4)`,
            [this.replica, hostname(), process.pid, this.#sealing.version],
          );
        const n = await discardLeases(
          c,
          `replica NOT IN (SELECT id FROM replicas WHERE seen_ms >= ${NOW_MS} - $1)`,
          [ttl],
        );
        await c.query(`DELETE FROM replicas WHERE seen_ms < ${NOW_MS} - $1`, [ttl * 6]);
        return n;
      });
      if (discarded > 0) {
        this.#discarded += discarded;
        this.#log?.warn({ discarded }, `discarded ${discarded} leased keys of replicas that stopped beating`);
      }
      // A transaction of this replica that updated a pool meanwhile has the newer figure: keep it.
      const gen = this.#levelGen;
      const pools = await this.#pool.query<PgPoolRow>('SELECT * FROM pools');
      if (gen === this.#levelGen) for (const p of pools.rows) this.#setLevel(p.peer, p, false);
      this.#pending = Number((await this.#pool.query('SELECT count(*) AS n FROM keys')).rows[0].n);
    } catch (e) {
      this.#log?.warn({ err: (e as Error).message }, 'PostgreSQL heartbeat failed');
    }
  }

  #setLevel(peer: string, p: PgPoolRow, fromTx = true): void {
    if (fromTx) this.#levelGen++;
    const l = this.level(peer);
    l.mineBytes = Number(p.mine_bytes);
    l.mineChunks = Number(p.mine_chunks);
    l.theirChunks = Number(p.their_chunks);
  }

  /**
   * Runs `fn` in one transaction on a pooled connection; resolves after COMMIT. A transaction PostgreSQL
   * aborted as a deadlock victim or serialization failure (nothing of it committed) is run again, up to
   * TX_ATTEMPTS times — only for callers whose `fn` keeps no state across attempts (`retry`).
   */
  async #tx<T>(fn: (c: Client) => Promise<T>, retry = false): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const c = await this.#pool.connect();
      // The server going away mid-transaction: the query rejects; the connection's 'error' event must
      // not go unheard (an unhandled one would end the process).
      c.on('error', noteLost);
      let broken = false;
      try {
        await c.query('BEGIN');
        const v = await fn(c);
        await c.query('COMMIT');
        // A heartbeat read that began before this COMMIT may not have seen it: it must not apply.
        this.#levelGen++;
        this.#batches++;
        return v;
      } catch (e) {
        if (!(e instanceof QkdnetError)) broken = true;
        await c.query('ROLLBACK').catch(() => (broken = true));
        const code = (e as { code?: string }).code;
        if (retry && attempt < TX_ATTEMPTS && (code === '40P01' || code === '40001')) continue;
        throw e;
      } finally {
        c.off('error', noteLost);
        c.release(broken);
      }
    }
  }

  #txRetry<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    return this.#tx(fn, true);
  }

  /** Adds `delta` to the pool of `peer` (the row is locked until COMMIT) and caches the result. */
  async #addPool(c: Client, peer: string, delta: PoolLevel): Promise<void> {
    const r = await c.query<PgPoolRow>(
      `INSERT INTO pools (peer, mine_bytes, mine_chunks, their_chunks) VALUES ($1, $2, $3, $4)
       ON CONFLICT (peer) DO UPDATE SET mine_bytes = pools.mine_bytes + excluded.mine_bytes,
       mine_chunks = pools.mine_chunks + excluded.mine_chunks, their_chunks = pools.their_chunks + excluded.their_chunks
       RETURNING *`,
      [peer, delta.mineBytes, delta.mineChunks, delta.theirChunks],
    );
    this.#setLevel(peer, r.rows[0]!);
  }

  #formForMaster(
    req: MasterTake,
    record: (c: Client, keys: FormedKey[]) => Promise<unknown>,
  ): Promise<FormedKey[]> {
    const bytes = req.sizeBits / 8;
    return this.#txRetry(async (c) => {
      const maxRank = req.maxProvenanceRank ?? LAST_PROTECTING_RANK;
      let limit = Math.ceil((bytes * req.number) / CHUNK_SIZE) + 1;
      const opened: ChunkRow[] = [];
      const used = new Map<string, number>();
      const out: FormedKey[] = [];
      try {
        // Chunks another replica has locked are skipped: it is cutting them right now.
        let cut: ReturnType<typeof cutKeys> = [];
        for (let after = -1; ; limit *= 2) {
          const rows = await c.query<PgChunkRow>(
            'SELECT * FROM chunks WHERE peer = $1 AND mine = 1 AND prov_rank <= $2 AND seq > $3 ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED',
            [req.peer, maxRank, after, limit],
          );
          for (const r of rows.rows) {
            opened.push(this.#plain(r));
            used.set(r.id, r.used >>> 0);
          }
          cut = cutKeys(opened, (id) => nextFree(used.get(id) ?? 0), bytes, req.number);
          if (cut.length === req.number || rows.rows.length < limit) break;
          after = Number(rows.rows.at(-1)!.seq);
        }
        if (cut.length < req.number)
          throw exhausted(req.peer, req.number, req.sizeBits, this.level(req.peer));
        for (const pieces of cut) out.push(formKeyFromPieces(pieces, req.sizeBits));
        const delta = { mineBytes: 0, mineChunks: 0, theirChunks: 0 };
        for (const pieces of cut) for (const p of pieces) consume(used, p, delta);
        await this.#writeUse(c, opened, used);
        await record(c, out);
        if (req.localSlaves.length > 0)
          await this.#insertKeys(c, req.peer, out, req.master, req.localSlaves, req.nowMs);
        const remote = req.remoteSlaves ?? [];
        if (remote.length > 0 || req.eraseAtPeer)
          await insertMany(
            c,
            'outbox',
            ['key_id', 'peer', 'chunk_ids', 'size_bits', 'master', 'slaves', 'created_ms', 'chunk_offset'],
            ['text', 'text', 'text', 'int4', 'text', 'text', 'int8', 'int4'],
            out.map((k) => [
              k.keyId,
              req.peer,
              JSON.stringify(k.chunkIds),
              req.sizeBits,
              req.master,
              JSON.stringify(remote),
              req.nowMs,
              k.offset,
            ]),
          );
        await this.#addPool(c, req.peer, delta);
        return out;
      } catch (e) {
        for (const k of out) k.key.fill(0);
        throw e;
      } finally {
        for (const r of opened) r.material.fill(0);
      }
    });
  }

  async #applyReservation(c: Client, peer: string, r: ReservationRecord, nowMs: number): Promise<void> {
    // Idempotent: a reservation seen before (pushed and pulled, by either replica) is a no-op.
    const fresh = await c.query('INSERT INTO received (key_id) VALUES ($1) ON CONFLICT DO NOTHING', [
      r.keyId,
    ]);
    if (fresh.rowCount === 0) return;
    const found = await c.query<PgChunkRow>(
      'SELECT * FROM chunks WHERE id = ANY($1) ORDER BY seq FOR UPDATE',
      [r.chunkIds],
    );
    const byId = new Map(found.rows.map((x) => [x.id, x]));
    const rows: ChunkRow[] = [];
    const used = new Map<string, number>();
    // An erase notice (no slaves) may name chunks whose copy has not arrived here yet: they get
    // tombstones (./store.ts `applyReservation`; counted as 32-byte chunks, the length of all but a
    // block's last).
    const eraseOnly = r.slaves.length === 0;
    const absent = new Set<ChunkRow>();
    try {
      for (const id of r.chunkIds) {
        const row = byId.get(id);
        if (!row && eraseOnly) {
          const stand = { id, peer, mine: 0, material: new Uint8Array(MAX_CHUNK_BYTES) } as ChunkRow;
          absent.add(stand);
          rows.push(stand);
          continue;
        }
        if (!row || row.peer !== peer || row.mine !== 0)
          throw new QkdnetError(
            'KMS_PEER_UNAVAILABLE',
            `Cannot reserve key ${r.keyId} for KME "${peer}": chunk ${id} is ${row ? 'not owned by that KME' : 'not stored here'}`,
          );
        rows.push(this.#plain(row));
        used.set(row.id, row.used >>> 0);
      }
      const pieces = piecesOf(rows, r.offset ?? 0, r.sizeBits / 8);
      const overlaps = (p: { row: ChunkRow; start: number; length: number }) =>
        !absent.has(p.row) && ((used.get(p.row.id) ?? 0) & byteMask(p.start, p.length)) !== 0;
      if (!pieces || pieces.some(overlaps))
        throw new QkdnetError(
          'KMS_PEER_UNAVAILABLE',
          `Cannot reserve key ${r.keyId}: the chunks do not hold those ${r.sizeBits} bits`,
        );
      const delta = { mineBytes: 0, mineChunks: 0, theirChunks: 0 };
      for (const p of pieces) {
        if (!absent.has(p.row)) {
          consume(used, p, delta);
          continue;
        }
        await c.query(
          `INSERT INTO tombstones (id, peer, erased, at_ms) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO UPDATE SET erased = tombstones.erased | excluded.erased, at_ms = excluded.at_ms`,
          [p.row.id, peer, byteMask(p.start, p.length) | 0, nowMs],
        );
      }
      await this.#writeUse(
        c,
        rows.filter((x) => !absent.has(x)),
        used,
      );
      // No slaves: an erase notice (the owner delivered the key elsewhere or abandoned it) — copy erased.
      if (!eraseOnly) {
        const k = formKeyFromPieces(pieces, r.sizeBits, r.keyId);
        await this.#insertKeys(c, peer, [k], r.master, r.slaves, nowMs);
        k.key.fill(0);
      }
      await this.#addPool(c, peer, delta);
    } finally {
      for (const row of rows) row.material.fill(0);
    }
  }

  /** Writes the use masks of `rows` after a cut: full chunks deleted, partly used ones updated. */
  async #writeUse(c: Client, rows: readonly ChunkRow[], used: Map<string, number>): Promise<void> {
    const gone: number[] = [];
    const part: [number, number][] = [];
    for (const r of rows) {
      const u = used.get(r.id);
      if (u === FULL) gone.push(r.seq);
      else if (u !== undefined && u !== 0) part.push([r.seq, u]);
    }
    if (gone.length > 0) await c.query('DELETE FROM chunks WHERE seq = ANY($1::bigint[])', [gone]);
    if (part.length > 0)
      await c.query(
        'UPDATE chunks SET used = v.used FROM unnest($1::bigint[], $2::int[]) AS v(seq, used) WHERE chunks.seq = v.seq',
        // The column is a signed 32-bit INTEGER: a mask with byte 31 used is stored as its negative twin.
        [part.map((p) => p[0]), part.map((p) => p[1] | 0)],
      );
  }

  async #insertKeys(
    c: Client,
    peer: string,
    keys: readonly FormedKey[],
    master: string,
    slaves: readonly string[],
    nowMs: number,
  ): Promise<void> {
    const s = JSON.stringify(slaves);
    await insertMany(
      c,
      'keys',
      ['id', 'peer', 'material', 'size_bits', 'master', 'slaves', 'pending', 'meta', 'created_ms'],
      ['text', 'text', 'bytea', 'int4', 'text', 'text', 'text', 'text', 'int8'],
      keys.map((k) => [
        k.keyId,
        peer,
        this.#sealing.seal('keys', [k.keyId, peer, master], k.key),
        k.sizeBits,
        master,
        s,
        s,
        JSON.stringify(k.meta),
        nowMs,
      ]),
    );
  }

  #plain(r: PgChunkRow): ChunkRow {
    return {
      seq: Number(r.seq),
      id: r.id,
      peer: r.peer,
      mine: r.mine,
      material: this.#sealing.open('chunks', [r.id, r.peer, r.mine], r.material),
      prov_rank: r.prov_rank,
      path: r.path,
      exposed: r.exposed,
      block_id: r.block_id,
      // The PostgreSQL store seals each chunk in its own row (no runs).
      run: null,
      slot: null,
      bytes: null,
    };
  }
}

/** Listener for a checked-out connection's 'error' event (its query rejects and reports the failure). */
const noteLost = (): void => undefined;

/** Marker in the use map: every byte of the chunk is used (the row is deleted). */
const FULL = -1;

/** Marks piece `p` used in `used` (FULL once its chunk is spent) and adds the change to the pool `delta`. */
function consume(
  used: Map<string, number>,
  p: { row: ChunkRow; start: number; length: number },
  delta: PoolLevel,
): void {
  const mine = p.row.mine === 1;
  const u = ((used.get(p.row.id) ?? 0) | byteMask(p.start, p.length)) >>> 0;
  if (mine) delta.mineBytes -= p.length;
  if (usedBytes(u) >= p.row.material.length) {
    used.set(p.row.id, FULL);
    if (mine) delta.mineChunks--;
    else delta.theirChunks--;
  } else used.set(p.row.id, u);
}

/** Erases leases matching `where` (slave copies, unsent reservations → erase notices); returns how many. */
async function discardLeases(c: Client, where: string, params: unknown[]): Promise<number> {
  const r = await c.query<{ key_id: string; master: string }>(
    `DELETE FROM leased WHERE ${where} RETURNING key_id, master`,
    params,
  );
  if (r.rows.length === 0) return 0;
  const ids = r.rows.map((x) => x.key_id);
  await c.query('DELETE FROM keys WHERE id = ANY($1)', [ids]);
  await c.query(`UPDATE outbox SET slaves = '[]' WHERE key_id = ANY($1)`, [ids]);
  await c.query(
    `INSERT INTO discarded (key_id, master, at_ms) SELECT k, m, ${NOW_MS} FROM unnest($1::text[], $2::text[]) AS d(k, m)`,
    [ids, r.rows.map((x) => x.master)],
  );
  return r.rows.length;
}

/** Inserts `rows` into `table` with one statement (unnest of one array per column). */
export function insertMany(
  c: Client,
  table: string,
  cols: readonly string[],
  types: readonly string[],
  rows: readonly (readonly unknown[])[],
): Promise<pg.QueryResult> {
  const args = cols.map((_, i) => rows.map((r) => r[i]));
  const list = cols.map((x) => (x === 'offset' ? '"offset"' : x)).join(', ');
  const un = types.map((t, i) => `$${i + 1}::${t}[]`).join(', ');
  return c.query(`INSERT INTO ${table} (${list}) SELECT * FROM unnest(${un})`, args);
}

function exhausted(peer: string, n: number, sizeBits: number, l: PoolLevel): QkdnetError {
  return new QkdnetError(
    'KMS_KEY_EXHAUSTED',
    `Cannot form ${n} key(s) of ${sizeBits} bits from the link to "${peer}": about ${l.mineBytes * 8} bits stored`,
  );
}

interface PgOutboxRow {
  seq: string;
  key_id: string;
  chunk_ids: string;
  size_bits: number;
  master: string;
  slaves: string;
  chunk_offset: number;
}

/** A row of `pools` (BIGINT columns arrive as strings). */
export interface PgPoolRow {
  peer: string;
  mine_bytes: string | number;
  mine_chunks: string | number;
  their_chunks: string | number;
}
