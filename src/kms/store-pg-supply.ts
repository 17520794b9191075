/**
 * Southbound supply into the PostgreSQL key store (./store-pg.ts): the SQLite pump's contract
 * (./supply-pump.ts) — items stored in order, a slice of SLICE_CHUNKS chunks per transaction with the
 * item's progress, an item stored completely once never stored again — over asynchronous transactions.
 * Replicas of one KME may be fed the same items (each reads the same device file): `supplied` and the
 * chunks' unique ids make the second copy a no-op, whichever replica commits first.
 */
import type pg from 'pg';
import { PROVENANCE_ORDER } from '../common/index.ts';
import type { PoolLevel, SupplyMark } from './store.ts';
import type { PgSealing } from './store-pg-seal.ts';
import type { ChunkCutter } from './supply.ts';
import { byteMask, usedBytes } from './chunk-use.ts';

/** Chunks per supply transaction (one multi-row INSERT). */
export const SLICE_CHUNKS = 2048;

type Tx = <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>;
type PoolRow = { peer: string; mine_bytes: string; mine_chunks: string; their_chunks: string };

/** The supply queue of one PostgreSQL replica. */
export class PgSupply {
  readonly #tx: Tx;
  readonly #sealing: PgSealing;
  readonly #max: number;
  readonly #onLevel: (peer: string, row: PoolRow) => void;
  readonly #log: { error(obj: object, msg: string): void } | undefined;
  readonly #dropped = new Map<string, number>();
  readonly #erasedOnArrival = new Map<string, number>();
  #chain: Promise<void> = Promise.resolve();
  #backlog = 0;
  #keys = new Set<Uint8Array>();
  #stopped = false;

  constructor(
    tx: Tx,
    sealing: PgSealing,
    maxChunksPerPeer: number,
    onLevel: (peer: string, row: PoolRow) => void,
    log?: { error(obj: object, msg: string): void },
  ) {
    this.#tx = tx;
    this.#sealing = sealing;
    this.#max = maxChunksPerPeer;
    this.#onLevel = onLevel;
    this.#log = log;
  }

  /** Chunks waiting to be stored. */
  get backlog(): number {
    return this.#backlog;
  }

  /** Chunks dropped at the per-peer limit since this replica started. */
  dropped(peer: string): number {
    return this.#dropped.get(peer) ?? 0;
  }

  /** Chunks from `peer` dropped on arrival since this replica started: an erase notice came first. */
  erasedOnArrival(peer: string): number {
    return this.#erasedOnArrival.get(peer) ?? 0;
  }

  /** Queues one item (`key` is ours: erased when done); `stored` resolves with the chunks it added. */
  supply(
    peer: string,
    blockId: string,
    cutter: ChunkCutter,
    key: Uint8Array,
    mark?: SupplyMark,
  ): { now: number; stored: Promise<number> } {
    if (this.#stopped) throw new Error('supply after the KME stopped');
    this.#backlog += cutter.total;
    this.#keys.add(key);
    const stored = this.#chain.then(async () => {
      let added = 0;
      try {
        if (!this.#stopped) added = await this.#store(peer, blockId, cutter, mark);
      } catch (e) {
        this.#log?.error({ err: (e as Error).message, peer }, 'southbound supply failed');
      } finally {
        key.fill(0);
        this.#keys.delete(key);
        this.#backlog -= cutter.total;
      }
      return added;
    });
    this.#chain = stored.then(() => undefined);
    return { now: 0, stored };
  }

  /** Resolves when every item queued so far is stored (committed). */
  settled(): Promise<void> {
    return this.#chain;
  }

  /** Drops the queue: items not stored yet are erased from memory. */
  stop(): void {
    this.#stopped = true;
    for (const k of this.#keys) k.fill(0);
  }

  async #store(peer: string, blockId: string, cutter: ChunkCutter, mark?: SupplyMark): Promise<number> {
    let next = -2;
    let added = 0;
    const total = cutter.total;
    do {
      added += await this.#tx(async (c) => {
        if (next === -2) {
          const fresh = await c.query(
            'INSERT INTO supplied (peer, block_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
            [peer, blockId],
          );
          if (fresh.rowCount === 1) next = 0;
          else {
            const p = await c.query('SELECT upto FROM supply_progress WHERE peer = $1 AND block_id = $2', [
              peer,
              blockId,
            ]);
            next = p.rows.length > 0 ? Number(p.rows[0].upto) : total;
          }
        }
        if (next >= total) {
          if (mark) await saveMark(c, mark);
          return 0;
        }
        const upto = Math.min(total, next + SLICE_CHUNKS);
        const n = await this.#slice(c, peer, blockId, cutter, next, upto, upto === total ? mark : undefined);
        next = upto;
        return n;
      });
    } while (next < total && !this.#stopped);
    return added;
  }

  async #slice(
    c: pg.PoolClient,
    peer: string,
    blockId: string,
    cutter: ChunkCutter,
    from: number,
    upto: number,
    mark: SupplyMark | undefined,
  ): Promise<number> {
    await c.query('INSERT INTO pools VALUES ($1, 0, 0, 0) ON CONFLICT DO NOTHING', [peer]);
    const pool = (await c.query<PoolRow>('SELECT * FROM pools WHERE peer = $1 FOR UPDATE', [peer])).rows[0]!;
    const room = Math.max(0, this.#max - Number(pool.mine_chunks) - Number(pool.their_chunks));
    const chunks = cutter.slice(from, upto);
    let keep = chunks.slice(0, room);
    if (chunks.length > keep.length)
      this.#dropped.set(peer, this.dropped(peer) + chunks.length - keep.length);
    // Tombstones (./store-pg.ts): a copy whose owner's erase notice came first is dropped, or keeps
    // only the bytes the notice did not erase. Only the owner may erase: a tombstone from another peer,
    // or naming our own chunk, is forgotten without effect (as SQLite's ./store.ts `addChunks`).
    const tombs = await c.query<{ id: string; peer: string; erased: number }>(
      'DELETE FROM tombstones WHERE id = ANY($1::text[]) RETURNING id, peer, erased',
      [keep.map((ch) => ch.id)],
    );
    const erasedOf = new Map<string, number>();
    if (tombs.rows.length > 0) {
      const byId = new Map(tombs.rows.map((t) => [t.id, t]));
      keep = keep.filter((ch) => {
        const t = byId.get(ch.id);
        if (!t || t.peer !== peer || ch.mine) return true;
        const erased = (t.erased & byteMask(0, ch.material.length)) >>> 0;
        if (erased === 0) return true;
        if (usedBytes(erased) >= ch.material.length) {
          this.#erasedOnArrival.set(peer, this.erasedOnArrival(peer) + 1);
          return false;
        }
        erasedOf.set(ch.id, erased);
        return true;
      });
    }
    const plainBytes = new Map(keep.map((ch) => [ch.id, ch.material.length]));
    const cols = {
      used: keep.map((ch) => (erasedOf.get(ch.id) ?? 0) | 0),
      id: keep.map((ch) => ch.id),
      mine: keep.map((ch) => (ch.mine ? 1 : 0)),
      material: keep.map((ch) => this.#sealing.seal('chunks', [ch.id, peer, ch.mine ? 1 : 0], ch.material)),
      rank: keep.map((ch) => PROVENANCE_ORDER.indexOf(ch.provenance)),
      path: keep.map((ch) => JSON.stringify(ch.path)),
      exposed: keep.map((ch) => JSON.stringify(ch.exposedTo)),
      block: keep.map((ch) => ch.blockId),
    };
    for (const ch of chunks) ch.material.fill(0);
    const ins = await c.query<{ id: string; mine: number }>(
      `INSERT INTO chunks (id, peer, mine, material, prov_rank, path, exposed, block_id, used)
       SELECT id, $2, mine, material, rank, path, exposed, block, used FROM
       unnest($1::text[], $3::smallint[], $4::bytea[], $5::int[], $6::text[], $7::text[], $8::text[], $9::int[])
       AS u(id, mine, material, rank, path, exposed, block, used)
       ON CONFLICT (id) DO NOTHING RETURNING id, mine`,
      [cols.id, peer, cols.mine, cols.material, cols.rank, cols.path, cols.exposed, cols.block, cols.used],
    );
    const d = { mineBytes: 0, mineChunks: 0, theirChunks: 0 } satisfies PoolLevel;
    for (const r of ins.rows)
      if (r.mine === 1) {
        d.mineChunks++;
        d.mineBytes += plainBytes.get(r.id)!;
      } else d.theirChunks++;
    const p = await c.query<PoolRow>(
      `UPDATE pools SET mine_bytes = mine_bytes + $2, mine_chunks = mine_chunks + $3,
       their_chunks = their_chunks + $4 WHERE peer = $1 RETURNING *`,
      [peer, d.mineBytes, d.mineChunks, d.theirChunks],
    );
    this.#onLevel(peer, p.rows[0]!);
    if (upto < cutter.total)
      await c.query(
        `INSERT INTO supply_progress (peer, block_id, upto) VALUES ($1, $2, $3)
         ON CONFLICT (peer, block_id) DO UPDATE SET upto = excluded.upto`,
        [peer, blockId, upto],
      );
    else await c.query('DELETE FROM supply_progress WHERE peer = $1 AND block_id = $2', [peer, blockId]);
    if (mark) await saveMark(c, mark);
    return ins.rows.length;
  }
}

function saveMark(c: pg.PoolClient, m: SupplyMark): Promise<unknown> {
  return c.query(
    `INSERT INTO supply_offsets (source, ino, "offset", line) VALUES ($1, $2, $3, $4)
     ON CONFLICT (source) DO UPDATE SET ino = excluded.ino, "offset" = excluded."offset", line = excluded.line`,
    [m.source, m.ino, m.offset, m.line],
  );
}
