/**
 * The KME core: ETSI GS QKD 014 V1.1.1 semantics without HTTP. `status` (§5.1), `encKeys` ("Get key",
 * §5.2) for a master SAE and `decKeys` ("Get key with key IDs", §5.3) for a slave SAE, with the checks the
 * spec assigns to 400 and 401 and the 503 for missing key material (§5.2–5.3 status codes). A key for a
 * slave behind a peer KME is reserved in the same durable transaction that hands it to the master (an
 * outbox entry, ./peer.ts): from then on only the named slaves can obtain it, at either KME. The entry is
 * pushed to the peer in the background and pulled by the peer on demand. Writes go through group commit
 * (./batcher.ts): an answer leaves only after its transaction is on disk — except keys served from a
 * durable lease (./lease.ts), whose confirmation needs no fsync of its own. Southbound supply runs in
 * slices off the hot path (./supply-pump.ts).
 */
import {
  isQkdnetError,
  LAST_PROTECTING_RANK,
  QkdnetError,
  PROVENANCE_ORDER,
  type Alert,
  type Provenance,
} from '../common/index.ts';
import type { GroupCommitter } from './batcher.ts';
import { keyLimits, type KeyLimits, type KmeConfig } from './config.ts';
import type { PeerLink } from './peer.ts';
import { SaeQuotas } from './quota.ts';
import { relaySaeId } from './relay-route.ts';
import {
  KeyStore,
  TOMBSTONE_TTL_MS,
  type FormedKey,
  type MasterTake,
  type OutboxRecord,
  type ReservationRecord,
} from './store.ts';
import { SqliteBackend, type KeyBackend } from './store-backend.ts';
import { LeaseBook } from './lease.ts';
import { chunkCutter, chunksFor, type SupplyItem } from './supply.ts';
import type { SupplyPump } from './supply-pump.ts';
import type { SupplyMark } from './store.ts';

/** Where the core reports background events (pino-compatible). */
export interface CoreLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Delay before re-sending reservations to a peer that could not be reached. */
export const PEER_RETRY_MS = 1000;
/** Reservations made within this window travel to the peer in one message (slaves that ask sooner pull). */
export const PUSH_DELAY_MS = 5;
/**
 * Most reservations in one push: the outbox rows are read and the message built on the event loop, and the
 * peer applies them before it answers (a backlog after a peer's outage is sent as several pushes in a row).
 */
export const PUSH_MAX_RESERVATIONS = 1024;
/**
 * Relay link keys are fetched by the next hop within the request that carries their reservation; one
 * still stored after this long belongs to a hop that failed and is erased (`reclaimOrphans`).
 */
export const RELAY_ORPHAN_TTL_MS = 60_000;

/** A key request in camelCase (014 §6.2). */
export interface KeyRequest {
  readonly number?: number | undefined;
  readonly sizeBits?: number | undefined;
  readonly additionalSlaves?: readonly string[] | undefined;
  readonly extensionMandatory?: readonly Record<string, unknown>[] | undefined;
  readonly extensionOptional?: readonly Record<string, unknown>[] | undefined;
}

/** The fields of ETSI GS QKD 014 §6.1 Status, camelCase (shared by the KME and its client). */
export interface Etsi014StatusFields {
  sourceKmeId: string;
  targetKmeId: string;
  masterSaeId: string;
  slaveSaeId: string;
  keySizeBits: number;
  storedKeyCount: number;
  maxKeyCount: number;
  maxKeyPerRequest: number;
  maxKeySizeBits: number;
  minKeySizeBits: number;
  maxSaeIdCount: number;
}

/** Status of the link between a master and a slave as the KME computes it: §6.1 plus its pool. */
export interface KmeStatus extends Etsi014StatusFields {
  poolBits: number;
}

/** Extension names this KME understands (docs/kme.md). */
export const SUPPORTED_EXTENSIONS = ['qkdnet_min_provenance'] as const;

const bad = (m: string) => new QkdnetError('KMS_BAD_REQUEST', m);

/** ETSI 014 logic of one KME over its store. */
export class KmeCore {
  readonly id: string;
  readonly limits: KeyLimits;
  /** The store the core works through (SQLite or PostgreSQL, ./store-backend.ts). */
  readonly backend: KeyBackend;
  /** Per-SAE quotas and rate limits (config `saes[].quota`, `keys.saeQuota`). */
  readonly quotas: SaeQuotas;
  /** Leased keys per role (./lease.ts). */
  readonly leases: LeaseBook;
  /** Keys found leased but unconfirmed when this KME started, and erased (./lease.ts). */
  readonly discardedAtStart: number;
  readonly #local: Set<string>;
  /** SAEs configured `test: true`: the only ones handed simulated-deterministic keys. */
  readonly #test: Set<string>;
  readonly #saeHome = new Map<string, string>();
  readonly #peer: PeerLink | undefined;
  readonly #log: CoreLog | undefined;
  readonly #flushing = new Set<string>();
  readonly #again = new Set<string>();
  readonly #retry = new Map<string, NodeJS.Timeout>();
  readonly #alertListeners = new Set<(a: Alert) => void>();
  #alertSeq = 0;
  readonly #droppedReported = new Map<string, number>();
  #closed = false;
  /** Relayed keys this KME is the source of, in progress in this process (./store.ts `beginRelay`). */
  readonly #relaying = new Set<string>();

  /**
   * `store`: a SQLite KeyStore (wrapped here, its leases left by a previous run discarded now) or an
   * opened backend (./store-pg.ts discards the leases of dead replicas when it opens).
   */
  constructor(config: KmeConfig, store: KeyStore | KeyBackend, peer?: PeerLink, log?: CoreLog) {
    this.id = config.id;
    this.limits = keyLimits(config);
    this.backend = store instanceof KeyStore ? new SqliteBackend(store, log) : store;
    this.quotas = new SaeQuotas(config);
    this.leases = new LeaseBook(this.backend, (p) => this.pushReservations(p));
    this.#peer = peer;
    this.#log = log;
    this.discardedAtStart = this.backend.discardedAtStart;
    if (this.discardedAtStart > 0)
      log?.warn(
        { discarded: this.discardedAtStart },
        `discarded ${this.discardedAtStart} leased keys not confirmed as delivered before the last stop` +
          ' (and, after an unclean stop and a reboot, slave copies received from peers: ./slave-copies.ts)',
      );
    this.#local = new Set(config.saes.map((s) => s.id));
    this.#test = new Set(config.saes.filter((s) => s.test === true).map((s) => s.id));
    for (const p of config.peers ?? []) {
      this.backend.level(p.id);
      for (const s of p.saes) this.#saeHome.set(s, p.id);
    }
  }

  /** The SQLite store (relay hops and tools that work on the file; a PostgreSQL KME has none). */
  get store(): KeyStore {
    return this.#sqlite().store;
  }

  /** The group committer of the SQLite store. */
  get committer(): GroupCommitter {
    return this.#sqlite().committer;
  }

  /** Southbound supply queue of the SQLite store (./supply-pump.ts). */
  get pump(): SupplyPump {
    return this.#sqlite().pump;
  }

  #sqlite(): SqliteBackend {
    if (this.backend instanceof SqliteBackend) return this.backend;
    throw new QkdnetError(
      'CONFIG_INVALID',
      `KME "${this.id}": this feature needs the SQLite store (trusted-node relay, store-key rotation)`,
    );
  }

  /** True when `sae` is served by this KME. */
  isLocal(sae: string): boolean {
    return this.#local.has(sae);
  }

  /** The configured peer KME that serves `sae` (undefined: served here or unknown). */
  homeOf(sae: string): string | undefined {
    return this.#saeHome.get(sae);
  }

  /**
   * Adds key material from the link to `peerId` (southbound). A small item with nothing queued is stored
   * at once (returns the chunks stored); otherwise it is queued and stored in slices off the hot path
   * (returns 0; `settled()` resolves when everything supplied so far is stored and durable). The key
   * bytes are copied: the caller may erase its array at once. `mark` says how far a southbound file was
   * read with this item (stored with its last chunks).
   */
  supply(peerId: string, item: SupplyItem, mark?: SupplyMark): number {
    const key = Uint8Array.from(item.key);
    const cutter = chunkCutter(this.id, peerId, { ...item, key });
    const { now, stored } = this.backend.supply(peerId, cutter.blockId, cutter, key, mark);
    this.#reportDropped(peerId);
    if (now === 0) void stored.then(() => this.#reportDropped(peerId));
    return now;
  }

  /**
   * What the supply worker thread (./supply-thread.ts) committed for the link to `peerId`: its part of the
   * pool level and drop counters; raises the drop alert as `supply` does.
   */
  noteSupply(peerId: string, note: Parameters<KeyStore['noteSupply']>[1]): void {
    this.store.noteSupply(peerId, note);
    this.#reportDropped(peerId);
  }

  /**
   * Chunks dropped at the per-peer limit (`keys.maxChunksPerPeer`) since the last report raise a
   * `supply-dropped` alert (and the metric `qkdnet_kme_supply_dropped_chunks_total`) instead of vanishing.
   */
  #reportDropped(peerId: string): void {
    const total = this.backend.droppedChunks(peerId);
    const dropped = total - (this.#droppedReported.get(peerId) ?? 0);
    if (dropped <= 0) return;
    this.#droppedReported.set(peerId, total);
    this.raise({
      severity: 'warning',
      kind: 'supply-dropped',
      linkId: peerId,
      evidence: { statistic: 'chunks-dropped', value: dropped, threshold: this.backend.maxChunksPerPeer },
      action: 'notify',
      message: `KME "${this.id}" dropped ${dropped} new chunk(s) from the link to "${peerId}": the store holds the per-peer maximum of ${this.backend.maxChunksPerPeer} chunks`,
    });
  }

  /** Resolves when every item supplied so far is stored and synced. */
  settled(): Promise<void> {
    return this.backend.settled();
  }

  /** Subscribes to this KME's alerts (dropped supply, …); returns the unsubscribe function. */
  onAlert(listener: (a: Alert) => void): () => void {
    this.#alertListeners.add(listener);
    return () => this.#alertListeners.delete(listener);
  }

  /** Raises an alert of this KME: logged at error level and sent to every `onAlert` listener. */
  raise(a: Omit<Alert, 'id' | 'timeNs' | 'nodeId'>): Alert {
    const alert: Alert = {
      id: `kme-${this.id}-${String(++this.#alertSeq).padStart(6, '0')}`,
      timeNs: Date.now() * 1e6,
      nodeId: this.id,
      ...a,
    };
    this.#log?.error({ alert }, alert.message);
    for (const l of this.#alertListeners) l(alert);
    return alert;
  }

  /**
   * A reservation for `peerId` whose relay message never got through becomes an erase notice (pushed in
   * the background until acknowledged), so the peer erases its copy of the link key.
   */
  abandonReservation(peerId: string, keyId: string): void {
    if (this.store.abandonReservation(peerId, keyId)) this.pushReservations(peerId);
  }

  /**
   * Before the first message of a relay leaves: records durably (with the caller's next WAL sync) that
   * this KME is the source of relayed key `keyId` of `keyBytes` bytes for destination `dst`. The
   * intent is settled by `finishRelay`; one left by a crash is settled by `reconcileRelays`.
   */
  beginRelay(dst: string, keyId: string, keyBytes: number): void {
    // The destination stores the key under the chunk IDs this cut gives (IDs do not depend on bytes).
    const item = { keyId, key: new Uint8Array(keyBytes), provenance: 'qkd-relayed' as const, path: [] };
    const ids = chunksFor(dst, this.id, item).map((c) => c.id);
    this.store.beginRelay(dst, keyId, ids, keyBytes * 8, Date.now());
    this.#relaying.add(keyId);
  }

  /**
   * Settles relayed key `keyId`: after this KME stored its copy (durably), the intent goes; otherwise
   * (the relay failed or was aborted) it becomes an erase notice for the destination, pushed until
   * acknowledged, so the destination's copy never outlives the failure.
   */
  finishRelay(keyId: string): void {
    this.#relaying.delete(keyId);
    const dst = this.store.settleRelay(keyId, Date.now());
    if (dst !== undefined) this.pushReservations(dst);
  }

  /**
   * Settles relay intents no relay of this process is working on: those of a process that crashed
   * between the destination's confirmation and its own durable store (the destination's copy would be
   * orphaned) or before. Run at start-up and with the periodic sweep; returns how many became erase
   * notices.
   */
  reconcileRelays(): number {
    let notices = 0;
    for (const r of this.store.pendingRelays()) {
      if (this.#relaying.has(r.keyId)) continue;
      const dst = this.store.settleRelay(r.keyId, Date.now());
      if (dst === undefined) continue;
      notices++;
      this.pushReservations(dst);
    }
    if (notices > 0)
      this.#log?.warn(
        { notices },
        'relayed keys left unfinished by an earlier process: destinations told to erase',
      );
    return notices;
  }

  /**
   * Erases orphaned relay link keys (older than RELAY_ORPHAN_TTL_MS) and forgets tombstones older than
   * TOMBSTONE_TTL_MS (./store.ts), on either store; resolves with how many relay keys were erased.
   */
  async reclaimOrphans(nowMs: number): Promise<number> {
    const n = await this.backend.reclaimRelayKeys(nowMs - RELAY_ORPHAN_TTL_MS);
    if (n > 0) this.#log?.warn({ reclaimed: n }, 'erased orphaned relay link keys of failed hops');
    const t = await this.backend.expireTombstones(nowMs - TOMBSTONE_TTL_MS);
    if (t > 0) this.#log?.warn({ expired: t }, 'tombstones expired: their chunks never arrived');
    return n;
  }

  /**
   * Per-SAE quota (./quota.ts) of a request by `sae` taking `number` × `sizeBits` from each pool of
   * `peers`: the other SAEs' reserves stay in every pool, and the rate budget pays first. Throws
   * KMS_QUOTA_EXCEEDED (nothing taken); returns the refund for a request that fails later.
   */
  #chargeQuota(sae: string, peers: readonly string[], number: number, sizeBits: number): () => void {
    const keep = this.quotas.keepFor(sae);
    for (const peer of peers)
      if (keep > 0 && this.backend.level(peer).mineBytes * 8 - keep < number * sizeBits)
        throw new QkdnetError(
          'KMS_QUOTA_EXCEEDED',
          `Cannot serve ${number} key(s) of ${sizeBits} bits to SAE "${sae}": ${keep} bits of the pool to "${peer}" are reserved for other SAEs`,
        );
    return this.quotas.charge(sae, number * sizeBits * peers.length, Date.now());
  }

  /**
   * Charges a relayed key of `keyBytes` bytes requested by local SAE `sae` to its quota: the source's
   * link keys on the first hop of every path (`firstHops`, one per path) are that SAE's use of those
   * pools — reserves of other SAEs stay, the rate budget pays keyBytes × 8 × paths. Throws
   * KMS_UNAUTHORIZED (not an SAE of this KME) or KMS_QUOTA_EXCEEDED; returns the refund for a relay that
   * takes no link key after all.
   */
  chargeRelay(sae: string, firstHops: readonly string[], keyBytes: number): () => void {
    this.#checkCaller(sae);
    return this.#chargeQuota(sae, firstHops, 1, keyBytes * 8);
  }

  /** 014 §5.1 Get status, asked by `caller` (the master) about `slave`. */
  status(caller: string, slave: string): KmeStatus {
    this.#checkCaller(caller);
    const pool = this.#poolFor(caller, [slave]);
    const l = this.backend.level(pool.peer ?? '');
    const k = this.limits;
    return {
      sourceKmeId: this.id,
      targetKmeId: pool.remote ? pool.peer! : this.id,
      masterSaeId: caller,
      slaveSaeId: slave,
      keySizeBits: k.defaultSizeBits,
      storedKeyCount: Math.floor(
        (l.mineBytes * 8 + this.leases.leasedBits(caller, slave)) / k.defaultSizeBits,
      ),
      maxKeyCount: Math.floor((k.maxChunksPerPeer * 128) / k.defaultSizeBits),
      maxKeyPerRequest: k.maxPerRequest,
      maxKeySizeBits: k.maxSizeBits,
      minKeySizeBits: k.minSizeBits,
      maxSaeIdCount: k.maxSaeIdCount,
      poolBits: l.mineBytes * 8,
    };
  }

  /** 014 §5.2 Get key: `caller` (master) asks keys for `slave` (+ additional slaves). */
  async encKeys(caller: string, slave: string, req: KeyRequest): Promise<FormedKey[]> {
    this.#checkCaller(caller);
    const k = this.limits;
    const number = req.number ?? 1;
    const sizeBits = req.sizeBits ?? k.defaultSizeBits;
    if (!Number.isSafeInteger(number) || number < 1 || number > k.maxPerRequest)
      throw bad(`Cannot serve ${number} keys: number must be 1..${k.maxPerRequest}`);
    if (
      !Number.isSafeInteger(sizeBits) ||
      sizeBits % 8 !== 0 ||
      sizeBits < k.minSizeBits ||
      sizeBits > k.maxSizeBits
    )
      throw bad(
        `Cannot serve keys of ${sizeBits} bits: size must be a multiple of 8 in ${k.minSizeBits}..${k.maxSizeBits}`,
      );
    const extra = req.additionalSlaves ?? [];
    if (extra.length > k.maxSaeIdCount)
      throw bad(`Cannot name ${extra.length} additional slaves: max_SAE_ID_count is ${k.maxSaeIdCount}`);
    const slaves = [slave, ...extra];
    if (new Set(slaves).size !== slaves.length) throw bad('additional_slave_SAE_IDs repeats a slave');
    // Test keys (simulated-deterministic) only when the master and every slave served here are test SAEs;
    // a remote slave's own KME checks it in turn (decKeys).
    const testOnly = [caller, ...slaves.filter((s) => this.#local.has(s))].every((s) => this.#test.has(s));
    const maxRank = Math.min(
      this.#extensions(req),
      testOnly ? PROVENANCE_ORDER.length - 1 : LAST_PROTECTING_RANK,
    );
    const pool = this.#poolFor(caller, slaves);
    if (pool.peer === undefined)
      throw new QkdnetError('KMS_KEY_EXHAUSTED', `Cannot serve keys: KME "${this.id}" has no link`);
    const localSlaves = slaves.filter((s) => this.#local.has(s));
    const remoteSlaves = slaves.filter((s) => !this.#local.has(s));
    const peer = pool.peer;
    const refund = this.#chargeQuota(caller, [peer], number, sizeBits);
    try {
      return await this.#serveMaster(peer, number, {
        peer,
        master: caller,
        slaves,
        localSlaves,
        remoteSlaves,
        // All slaves here: the link's other KME holds the same chunks; it is told to erase them.
        eraseAtPeer: true,
        sizeBits,
        maxProvenanceRank: maxRank,
      });
    } catch (e) {
      refund();
      throw e;
    }
  }

  async #serveMaster(
    peer: string,
    number: number,
    take: Omit<MasterTake, 'number' | 'nowMs'>,
  ): Promise<FormedKey[]> {
    const sizeBits = take.sizeBits;
    if (LeaseBook.fits(number, sizeBits)) {
      try {
        return await this.leases.serve(take, number);
      } catch (e) {
        throw storeFailed(e);
      }
    }
    const keys = await this.#commit(this.backend.takeForMaster({ ...take, number, nowMs: Date.now() }));
    this.pushReservations(peer);
    return keys;
  }

  /** 014 §5.3 Get key with key IDs: `caller` (slave) fetches keys that `master` asked for. */
  async decKeys(caller: string, master: string, keyIds: readonly string[]): Promise<FormedKey[]> {
    this.#checkCaller(caller);
    if (!this.#local.has(master) && !this.#saeHome.has(master))
      throw bad(`Cannot fetch keys for master SAE "${master}": unknown SAE`);
    if (keyIds.length === 0 || keyIds.length > this.limits.maxPerRequest)
      throw bad(
        `Cannot fetch ${keyIds.length} keys: between 1 and ${this.limits.maxPerRequest} key_IDs allowed`,
      );
    const ids = keyIds.map((s) => s.toLowerCase());
    if (new Set(ids).size !== ids.length) throw bad('key_IDs repeats a key_ID');
    const take = () =>
      this.#commit(
        this.backend.takeForSlave(caller, master, ids, Date.now(), { testSae: this.#test.has(caller) }),
      );
    const home = this.#saeHome.get(master);
    try {
      return await take();
    } catch (e) {
      if (!isQkdnetError(e, 'KMS_KEY_NOT_FOUND') || home === undefined || !this.#peer) throw e;
      // The owner's reservation may not have been pushed yet: pull it, then try once more (also when a
      // push landed in the same batch as the first attempt).
      const known = await this.#commit(Promise.all(ids.map((id) => this.backend.knows(id))));
      const missing = ids.filter((_, i) => !known[i]);
      if (missing.length > 0) {
        const rs = await this.#peer.lookup(home, missing);
        if (rs.length > 0) await this.receiveReservations(home, rs);
      }
      return take();
    }
  }

  /**
   * Sends the unacknowledged reservations for `peerId` (in batches, in the background; retried every
   * PEER_RETRY_MS while the peer is unreachable). Called after every delivery and at start.
   */
  pushReservations(peerId: string): void {
    if (this.#closed || !this.#peer) return;
    if (this.#flushing.has(peerId)) {
      this.#again.add(peerId);
      return;
    }
    this.#flushing.add(peerId);
    void new Promise((r) => setTimeout(r, PUSH_DELAY_MS))
      .then(() => this.#flush(peerId))
      .catch((e: Error) => this.#log?.error({ peer: peerId, err: e.message }, 'reservation push failed'))
      .finally(() => {
        this.#flushing.delete(peerId);
        if (this.#again.delete(peerId)) this.pushReservations(peerId);
      });
  }

  /** Stops background pushes and the supply queue; forgets unserved leases (before the store closes). */
  stop(): void {
    this.#closed = true;
    this.backend.stop();
    this.leases.clear();
    for (const t of this.#retry.values()) clearTimeout(t);
  }

  async #flush(peerId: string): Promise<void> {
    while (!this.#closed) {
      const rs = await this.backend.outbox(peerId, PUSH_MAX_RESERVATIONS);
      if (rs.length === 0) return;
      let refused: string[];
      try {
        refused = await this.#peer!.send(peerId, rs);
      } catch (e) {
        this.#log?.warn(
          { peer: peerId, pending: rs.length, err: (e as Error).message },
          'reservations not delivered; will retry',
        );
        if (!this.#retry.has(peerId) && !this.#closed) {
          const t = setTimeout(() => {
            this.#retry.delete(peerId);
            this.pushReservations(peerId);
          }, PEER_RETRY_MS);
          t.unref();
          this.#retry.set(peerId, t);
        }
        return;
      }
      if (refused.length > 0)
        this.#log?.error(
          { peer: peerId, refused: refused.length },
          'peer refused reservations: key material out of step',
        );
      if (this.#closed) return;
      await this.#commit(this.backend.clearOutbox(peerId, rs.at(-1)!.seq));
    }
  }

  /**
   * Applies reservations from peer KME `peerId`, each all-or-nothing; resolves with the key IDs refused
   * (chunks missing or not the peer's) once the accepted ones are durable.
   */
  async receiveReservations(peerId: string, rs: readonly ReservationRecord[]): Promise<string[]> {
    for (const r of rs) {
      // An erase notice (no slaves) may only erase chunks the peer owns: nothing else to check.
      if (r.slaves.length === 0) continue;
      // A relay link key pushed after its hop failed (its orphan is reclaimed here by age).
      if (r.master === relaySaeId(peerId)) {
        if (r.slaves.length !== 1 || r.slaves[0] !== relaySaeId(this.id))
          throw new QkdnetError('KMS_UNAUTHORIZED', `A relay reservation from "${peerId}" names another KME`);
        continue;
      }
      for (const s of r.slaves)
        if (!this.#local.has(s))
          throw new QkdnetError(
            'KMS_PEER_UNAVAILABLE',
            `Cannot reserve key ${r.keyId}: SAE "${s}" is not served here`,
          );
      if (this.#saeHome.get(r.master) !== peerId)
        throw new QkdnetError('KMS_UNAUTHORIZED', `KME "${peerId}" does not serve master SAE "${r.master}"`);
    }
    return this.#commit(this.backend.applyReservations(peerId, rs, Date.now()));
  }

  #checkCaller(caller: string): void {
    if (!this.#local.has(caller))
      throw new QkdnetError(
        'KMS_UNAUTHORIZED',
        `The client certificate names no SAE served by KME "${this.id}"`,
      );
  }

  /** Which link's pool serves `master` → `slaves`; remote slaves must share one peer KME. */
  #poolFor(master: string, slaves: readonly string[]): { peer: string | undefined; remote: boolean } {
    let peer: string | undefined;
    for (const s of slaves) {
      if (s === master) throw bad(`SAE "${s}" cannot be its own slave`);
      if (this.#local.has(s)) continue;
      const home = this.#saeHome.get(s);
      if (home === undefined) throw bad(`Cannot serve slave SAE "${s}": unknown to KME "${this.id}"`);
      if (peer !== undefined && peer !== home)
        throw bad(`Cannot serve slaves behind two KMEs ("${peer}", "${home}") in one request`);
      peer = home;
    }
    if (peer !== undefined) return { peer, remote: true };
    // All slaves are local: draw from the fullest link pool (the key never leaves this KME).
    let best: string | undefined;
    const b = this.backend;
    for (const p of b.peers())
      if (best === undefined || b.level(p).mineBytes > b.level(best).mineBytes) best = p;
    return { peer: best, remote: false };
  }

  /** Checks extensions; returns the highest provenance rank the request admits. */
  #extensions(req: KeyRequest): number {
    let maxRank = PROVENANCE_ORDER.length - 1;
    const apply = (ext: Record<string, unknown>, mandatory: boolean) => {
      if (typeof ext !== 'object' || ext === null || Array.isArray(ext))
        throw bad('an extension is not an object');
      for (const [name, value] of Object.entries(ext)) {
        if (name !== 'qkdnet_min_provenance') {
          if (mandatory) throw bad(`Unsupported mandatory extension "${name.slice(0, 64)}"`);
          continue;
        }
        const rank = PROVENANCE_ORDER.indexOf(value as Provenance);
        if (rank < 0) throw bad(`qkdnet_min_provenance must be one of ${PROVENANCE_ORDER.join(', ')}`);
        maxRank = Math.min(maxRank, rank);
      }
    };
    for (const e of req.extensionMandatory ?? []) apply(e, true);
    for (const e of req.extensionOptional ?? []) apply(e, false);
    return maxRank;
  }

  /**
   * The peer KME's pull (`POST /api/v1/kme/{self}/lookup`): the outbox reservations among `keyIds` for
   * `peerId`. A store failure is KMS_STORE_FAILED (503), as on every other route.
   */
  async lookup(peerId: string, keyIds: readonly string[]): Promise<OutboxRecord[]> {
    return this.#commit(this.backend.outbox(peerId, keyIds.length, keyIds));
  }

  /** Awaits a store operation; a failure that is not a handled condition becomes KMS_STORE_FAILED (503). */
  async #commit<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } catch (e) {
      throw storeFailed(e);
    }
  }
}

/** A store failure as the KME reports it: handled conditions pass, anything else is KMS_STORE_FAILED. */
function storeFailed(e: unknown): QkdnetError {
  if (e instanceof QkdnetError) return e;
  return new QkdnetError('KMS_STORE_FAILED', `The key store could not commit: ${(e as Error).message}`);
}
