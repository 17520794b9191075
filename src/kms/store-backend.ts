/**
 * The store interface the KME core (./core.ts) works through, so that one core runs over either store:
 * the embedded SQLite file (./store.ts, synchronous, batched into durable transactions by the group
 * committer ./batcher.ts) or a PostgreSQL database shared by replicas of one KME (./store-pg.ts). Every
 * operation that changes key state is asynchronous and resolves only once its transaction is committed
 * (and, for SQLite, synced), so an answer never leaves before the write that backs it. Pool figures are
 * synchronous reads of a cache (exact for SQLite; for PostgreSQL refreshed by every transaction of this
 * replica and periodically, so they may lag another replica's work by a moment — they are advice for
 * status and quotas, never the once-only check, which each transaction makes under row locks).
 */
import { GroupCommitter } from './batcher.ts';
import { LEASE_SLICE_KEYS } from './lease.ts';
import type { ChunkCutter } from './supply.ts';
import { SupplyPump } from './supply-pump.ts';
import type {
  FormedKey,
  KeyStore,
  MasterTake,
  OutboxRecord,
  PoolLevel,
  ReservationRecord,
  SupplyMark,
} from './store.ts';

/** What the KME core needs from a key store. */
export interface KeyBackend {
  /** `sqlite` or `postgres`. */
  readonly kind: 'sqlite' | 'postgres';
  /** Most chunks kept per peer (supply beyond is dropped and reported). */
  readonly maxChunksPerPeer: number;
  /**
   * Keys erased at start: leased keys found unconfirmed (./lease.ts) and, after an unclean stop and a new
   * boot, slave copies received from peers (./slave-copies.ts).
   */
  readonly discardedAtStart: number;
  /** Pool level of the link to `peer` (cached; do not mutate). */
  level(peer: string): PoolLevel;
  /** Peers with a pool. */
  peers(): string[];
  /** Chunks of new supply from `peer` dropped at `maxChunksPerPeer` since the store opened. */
  droppedChunks(peer: string): number;
  /**
   * Chunks from `peer` dropped on arrival since the store opened because an erase notice had already
   * erased them (tombstones, ./store.ts). Optional: a store without tombstones reports none.
   */
  erasedOnArrival?(peer: string): number;
  /** Keys waiting for local slaves (cached for PostgreSQL). */
  pendingKeyCount(): number;
  /** Chunks of southbound supply waiting to be stored. */
  readonly backlog: number;
  /** Transactions committed and operations run (metrics, benchmark). */
  stats(): { batches: number; ops: number };
  /** ./store.ts `takeForMaster`, committed before it resolves. */
  takeForMaster(req: MasterTake): Promise<FormedKey[]>;
  /**
   * ./store.ts `leaseForMaster`, committed (and durable) before it resolves. `durable: false` (SQLite):
   * committed — in the WAL — but not synced; the lease's last slice, durable, syncs it with the rest
   * (./lease.ts). PostgreSQL commits every transaction durably and ignores it.
   */
  leaseForMaster(req: MasterTake, durable?: boolean): Promise<FormedKey[]>;
  /**
   * Most keys one lease transaction forms: SQLite forms a long lease in slices, one per group-commit batch,
   * so the requests between slices are answered (./lease.ts); PostgreSQL in one transaction (Infinity).
   */
  readonly leaseSliceKeys: number;

  /** Leased keys become deliveries to `master`; resolves once a served key can no longer be discarded. */
  confirmLeased(master: string, keyIds: readonly string[], nowMs: number): Promise<void>;
  /** ./store.ts `takeForSlave`, committed before it resolves. */
  takeForSlave(
    slave: string,
    master: string,
    keyIds: readonly string[],
    nowMs: number,
    opts: { testSae?: boolean },
  ): Promise<FormedKey[]>;
  /** True when `keyId` waits here for a slave or was received here. */
  knows(keyId: string): Promise<boolean>;
  /** Applies reservations of `peer`, each all-or-nothing; resolves with the refused key IDs. */
  applyReservations(peer: string, rs: readonly ReservationRecord[], nowMs: number): Promise<string[]>;
  /** Unacknowledged reservations for `peer` (./store.ts `outbox`). */
  outbox(peer: string, limit: number, keyIds?: readonly string[]): Promise<OutboxRecord[]>;
  /** Forgets reservations for `peer` up to `seq` (acknowledged). */
  clearOutbox(peer: string, seq: number): Promise<void>;
  /** Peers with unacknowledged reservations. */
  outboxPeers(): Promise<string[]>;
  /**
   * Southbound: stores the chunks of one item (the pump's contract, ./supply-pump.ts): `now` chunks stored
   * at once, `stored` resolves with the chunks added once durable.
   */
  supply(
    peer: string,
    blockId: string,
    cutter: ChunkCutter,
    key: Uint8Array,
    mark?: SupplyMark,
  ): { now: number; stored: Promise<number> };
  /** Resolves when everything supplied so far is stored and durable. */
  settled(): Promise<void>;
  /** How far southbound file `source` was read and stored. */
  supplyOffset(source: string): Promise<SupplyMark | undefined>;
  /**
   * Erases relay link keys (master `relay:…`) formed before `beforeMs` and never fetched (orphans of
   * failed relay hops); resolves with how many, once committed.
   */
  reclaimRelayKeys(beforeMs: number): Promise<number>;
  /** Forgets tombstones written before `beforeMs` (their chunk never arrived); resolves with how many. */
  expireTombstones(beforeMs: number): Promise<number>;
  /** Periodic housekeeping (checkpoint, orphan relay keys, expired replicas' leases). */
  maintain(nowMs: number): Promise<void>;
  /** Stops background work and drops the supply queue (before `close`). */
  stop(): void;
  /** Erases leases this process holds and closes the store. */
  close(nowMs: number): Promise<number>;
}

/**
 * Most reservations of a peer's push applied in one transaction on SQLite (≈ 100 µs of CPU each: chunk
 * opened, key formed and sealed, five row writes), so a push of hundreds holds no other request for more
 * than a few milliseconds; the push is still made durable by one fsync (`applyReservations`).
 */
export const APPLY_SLICE_RESERVATIONS = 32;

/** The SQLite store behind the async interface: each operation joins the next group-commit batch. */
export class SqliteBackend implements KeyBackend {
  readonly kind = 'sqlite';
  readonly store: KeyStore;
  readonly committer: GroupCommitter;
  readonly pump: SupplyPump;
  readonly discardedAtStart: number;

  constructor(store: KeyStore, log?: { error(obj: object, msg: string): void }) {
    this.store = store;
    this.committer = new GroupCommitter(store);
    this.pump = new SupplyPump(store, log);
    this.discardedAtStart = store.discardLeased(Date.now()) + store.armedDiscardedAtStart;
    for (const id of store.receivedCopyIds()) this.#armed.add(id);
  }

  /** Slave copies whose reservation is on disk: delivered without an fsync of their own (./slave-copies.ts). */
  readonly #armed = new Set<string>();

  get maxChunksPerPeer(): number {
    return this.store.maxChunksPerPeer;
  }
  get backlog(): number {
    return this.pump.backlog + this.store.supplyBacklog;
  }
  level(peer: string): PoolLevel {
    return this.store.level(peer);
  }
  peers(): string[] {
    return this.store.peers();
  }
  droppedChunks(peer: string): number {
    return this.store.droppedChunks(peer);
  }
  erasedOnArrival(peer: string): number {
    return this.store.erasedOnArrival(peer);
  }
  pendingKeyCount(): number {
    return this.store.pendingKeyCount();
  }
  stats(): { batches: number; ops: number } {
    // Each confirmation folded into another's operation still counts as an operation of its batch.
    const c = this.committer.stats();
    return { batches: c.batches, ops: c.ops + this.#folded };
  }
  takeForMaster(req: MasterTake): Promise<FormedKey[]> {
    return this.committer.submit(() => this.store.takeForMaster(req));
  }
  readonly leaseSliceKeys = LEASE_SLICE_KEYS;
  leaseForMaster(req: MasterTake, durable = true): Promise<FormedKey[]> {
    const form = () => this.store.leaseForMaster(req);
    return durable ? this.committer.submit(form) : this.committer.submitLazy(form);
  }

  /** Confirmations waiting for the operation that runs them all (`confirmLeased`). */
  #confirms: { master: string; keyIds: readonly string[]; nowMs: number }[] | undefined;
  #confirmed: Promise<void> | undefined;
  #folded = 0;

  confirmLeased(master: string, keyIds: readonly string[], nowMs: number): Promise<void> {
    // In the WAL before the answer (survives kill -9); a power loss may discard it (./lease.ts, rule 3).
    // The confirmations that arrive before the next batch runs form ONE operation of it: each operation
    // costs a SAVEPOINT/RELEASE pair (≈ 7 µs of CPU per key, about half a confirmation). If one of them
    // failed (a broken invariant: the key was not leased) the savepoint rolls them all back and every
    // request of the group fails — their keys are never handed out and are discarded at the next start,
    // like any key whose confirmation did not commit.
    if (this.#confirms) {
      this.#folded++;
      this.#confirms.push({ master, keyIds, nowMs });
      return this.#confirmed!;
    }
    const group = [{ master, keyIds, nowMs }];
    this.#confirms = group;
    const done = () => {
      if (this.#confirms === group) this.#confirms = undefined;
    };
    this.#confirmed = this.committer.submitLazy(() => {
      done(); // later confirmations form the next group
      for (const c of group) this.store.confirmLeased(c.master, c.keyIds, c.nowMs);
    });
    // A batch that failed before running the group (its BEGIN or COMMIT) ends the group too.
    this.#confirmed.then(done, done);
    return this.#confirmed;
  }
  takeForSlave(
    slave: string,
    master: string,
    keyIds: readonly string[],
    nowMs: number,
    opts: { testSae?: boolean },
  ): Promise<FormedKey[]> {
    const take = () => this.store.takeForSlave(slave, master, keyIds, nowMs, opts);
    // Armed copies only (their reservation fdatasynced): committed in the WAL is enough (./slave-copies.ts).
    if (!keyIds.every((id) => this.#armed.has(id))) return this.committer.submit(take);
    return this.committer.submitLazy(take).then((keys) => {
      for (const id of keyIds) this.#armed.delete(id);
      return keys;
    });
  }
  knows(keyId: string): Promise<boolean> {
    return Promise.resolve(this.store.knows(keyId));
  }
  async applyReservations(peer: string, rs: readonly ReservationRecord[], nowMs: number): Promise<string[]> {
    // In slices of APPLY_SLICE_RESERVATIONS, one group-commit batch each, so requests are answered between
    // them (a push of hundreds of keys was one transaction of 20–100 ms on the event loop). Every slice
    // but the last is committed without an fsync; the last one's fdatasync of the WAL makes every slice
    // before it durable too, and only then is the push answered (the peer clears its outbox after that).
    // A crash in between loses nothing the peer has not still queued: it sends the push again, and the
    // reservations already applied are no-ops (./store.ts `applyReservation`).
    const refused: string[] = [];
    for (let i = 0; i < rs.length; i += APPLY_SLICE_RESERVATIONS) {
      const part = rs.slice(i, i + APPLY_SLICE_RESERVATIONS);
      const apply = () => this.store.applyReservations(peer, part, nowMs);
      const last = i + APPLY_SLICE_RESERVATIONS >= rs.length;
      refused.push(...(await (last ? this.committer.submit(apply) : this.committer.submitLazy(apply))));
    }
    // Resolved after the last batch's fdatasync: these copies are on disk, so armed.
    const no = new Set(refused);
    for (const r of rs) if (r.slaves.length > 0 && !no.has(r.keyId)) this.#armed.add(r.keyId);
    return refused;
  }
  outbox(peer: string, limit: number, keyIds?: readonly string[]): Promise<OutboxRecord[]> {
    return Promise.resolve(this.store.outbox(peer, limit, keyIds));
  }
  clearOutbox(peer: string, seq: number): Promise<void> {
    // Not synced: lost on a power failure, the entries are sent again and the peer applies a reservation
    // it has seen as a no-op (./store.ts `applyReservation`), so one fsync fewer per push.
    return this.committer.submitLazy(() => this.store.clearOutbox(peer, seq));
  }
  outboxPeers(): Promise<string[]> {
    return Promise.resolve(this.store.outboxPeers());
  }
  supply(peer: string, blockId: string, cutter: ChunkCutter, key: Uint8Array, mark?: SupplyMark) {
    return this.pump.supply(peer, blockId, cutter, key, mark);
  }
  settled(): Promise<void> {
    return this.pump.settled();
  }
  supplyOffset(source: string): Promise<SupplyMark | undefined> {
    return Promise.resolve(this.store.supplyOffset(source));
  }
  reclaimRelayKeys(beforeMs: number): Promise<number> {
    return this.committer.submit(() => this.store.reclaimRelayKeys(beforeMs));
  }
  expireTombstones(beforeMs: number): Promise<number> {
    return this.committer.submit(() => this.store.expireTombstones(beforeMs));
  }
  async maintain(): Promise<void> {
    // With a supply worker, its connection checkpoints (./supply-thread.ts): never this thread.
    if (!this.store.supplyWriter) this.store.checkpoint();
  }
  stop(): void {
    this.pump.stop();
  }
  async close(nowMs: number): Promise<number> {
    await this.pump.settled();
    // Leased keys not served are erased now (a clean stop knows they were never delivered).
    const released = this.store.isOpen ? this.store.discardLeased(nowMs) : 0;
    this.store.close();
    return released;
  }
}
