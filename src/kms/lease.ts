/**
 * Durable key leases: enc_keys without an fsync per answer, never a key twice to a role across kill -9 or
 * power loss.
 *
 * A lease is a batch of keys formed ahead of demand for one role — master SAE, its slaves, key size,
 * provenance bound — in ONE durable transaction (one fsync for many keys): the chunks are erased from the
 * pool, copies for local slaves and reservations for remote ones are written exactly as for a direct
 * delivery, and each key is recorded as `leased` (its ID only; the master's copy lives in memory). A request
 * is then served from the lease in memory; its keys are confirmed (lease entry → delivery log) in the next
 * group-commit batch, and the answer leaves after that COMMIT but without waiting for its fsync.
 *
 * Once only, the argument (docs/kme.md "Durable leases"):
 *  1. A key reaches a master only from an in-memory lease, and a lease is in memory only after its
 *     transaction is durable. The chunks it used were erased in that transaction, so no later lease or
 *     delivery can use them again — in this process or after any restart.
 *  2. A key leaves the in-memory lease (splice) before its answer is written, so this process serves it at
 *     most once.
 *  3. After a stop of any kind, every key still `leased` — never served, or served with its confirmation
 *     lost — is erased at the next start and never served (`KeyStore.discardLeased`), with its local slave
 *     copies and unsent reservations. Keys whose confirmation committed are in the delivery log.
 *  Hence no key_ID and no material reaches a master twice. The cost: keys leased but not served when the
 *  KME stopped are discarded (counted, logged, and the `qkdnet_kme_leased_keys_discarded_total` metric).
 *  After kill -9 the committed confirmations survive (they are in the WAL, only not fsynced), so exactly
 *  the unserved keys are discarded; after a power loss a key served in the last unsynced moment may be
 *  discarded too (its slave copy with it: that one key then fails for its slave, it is never duplicated).
 */
import { isQkdnetError, QkdnetError } from '../common/index.ts';
import type { FormedKey, MasterTake } from './store.ts';
import type { KeyBackend } from './store-backend.ts';

/**
 * Keys in a role's first lease beyond what its first request needs; the target doubles whenever a request
 * had to wait for a lease or ran the lease down to a top-up, up to LEASE_MAX_BITS, so a role that keeps
 * asking soon leases many keys per fsync while a role asked once ties up little of the pool.
 */
export const LEASE_MIN_KEYS = 1;
/**
 * Most key bits one lease holds: 128 keys of 256 bits. A lease is formed in one synchronous transaction on
 * the event loop (≈ 70 µs of CPU per key: chunks opened, cut, erased, leased and outbox rows written), so
 * its size bounds the pause every other request sees: 2²⁰ bits (4,096 such keys) held answers for
 * ≈ 0.3 s and made the p99 latency under 50 connections; 2¹⁵ keeps a lease under ≈ 10 ms and still
 * shares one fsync among 128 keys.
 */
export const LEASE_MAX_BITS = 1 << 15;
/**
 * Keys one slice of a lease forms on SQLite (one transaction in one group-commit batch, ≈ 70 µs of CPU per
 * key): a lease of LEASE_MAX_BITS is formed over several event-loop turns, so no request waits behind more
 * than ≈ 2 ms of formation; one fsync still covers the whole lease.
 */
export const LEASE_SLICE_KEYS = 32;
/** Requests larger than this (bits) are served directly (durable per request), not from a lease. */
export const LEASE_MAX_REQUEST_BITS = 1 << 16;
/** A lease takes at most this fraction of the link's pool, so other roles are not starved. */
const POOL_SHARE = 4;

interface Lease {
  readonly take: Omit<MasterTake, 'number' | 'nowMs'>;
  keys: FormedKey[];
  target: number;
  refill: Promise<void> | undefined;
}

/** The leases of one KME, by role. */
export class LeaseBook {
  readonly #store: KeyBackend;
  readonly #leased: (peer: string) => void;
  readonly #leases = new Map<string, Lease>();

  /** `onLeased(peer)` runs after a lease with outbox entries is durable (to push them to the peer). */
  constructor(store: KeyBackend, onLeased: (peer: string) => void) {
    this.#store = store;
    this.#leased = onLeased;
  }

  /** True when a request of `number` keys of `sizeBits` is served from a lease. */
  static fits(number: number, sizeBits: number): boolean {
    return number * sizeBits <= LEASE_MAX_REQUEST_BITS;
  }

  /** Serves `number` keys for the role of `take` from its lease (leasing more first when needed). */
  async serve(take: Omit<MasterTake, 'number' | 'nowMs'>, number: number): Promise<FormedKey[]> {
    const role = JSON.stringify([
      take.peer,
      take.master,
      take.slaves,
      take.sizeBits,
      take.maxProvenanceRank ?? -1,
    ]);
    let lease = this.#leases.get(role);
    if (!lease) {
      lease = { take, keys: [], target: LEASE_MIN_KEYS, refill: undefined };
      this.#leases.set(role, lease);
    }
    let waited = false;
    while (lease.keys.length < number) {
      waited = true;
      await this.#refill(lease, number);
    }
    const out = lease.keys.splice(0, number);
    // The top-up is started only after this answer's confirmation committed: queued first, the lease's
    // formation (≈ 70 µs of CPU per key) would run in the same batch, ahead of the confirmation.
    const topUp = lease.keys.length <= lease.target / 2;
    // A role that keeps asking gets longer leases: fewer formations (and fsyncs) per key, and fewer
    // moments where one lands next to a request — its own peer's dec_keys, say (docs/performance.md).
    if (waited || topUp)
      lease.target = Math.min(lease.target * 2, Math.max(1, Math.floor(LEASE_MAX_BITS / take.sizeBits)));
    try {
      await this.#store.confirmLeased(
        take.master,
        out.map((k) => k.keyId),
        Date.now(),
      );
    } catch (e) {
      // Not confirmed: the keys are never handed out. The rest of this lease may be discarded too (a
      // replica taken for dead while the database was away): forget it; the next request leases afresh.
      for (const k of [...out, ...lease.keys]) k.key.fill(0);
      lease.keys = [];
      throw e;
    } finally {
      if (topUp) this.#refill(lease, 0).catch(() => undefined);
    }
    return out;
  }

  /** Key bits leased and not yet served whose master is `master` and first slave `slave`. */
  leasedBits(master: string, slave: string): number {
    let bits = 0;
    for (const l of this.#leases.values())
      if (l.take.master === master && l.take.slaves[0] === slave) bits += l.keys.length * l.take.sizeBits;
    return bits;
  }

  /** Forgets the in-memory leases (the KME is stopping; what is left is discarded at the next start). */
  clear(): void {
    for (const l of this.#leases.values()) for (const k of l.keys) k.key.fill(0);
    this.#leases.clear();
  }

  /**
   * Forms `n` keys for `t` in slices of at most `leaseSliceKeys` (SQLite: one per group-commit batch, so
   * requests are answered between slices instead of waiting behind one long transaction), the last slice
   * synced: the fdatasync of the WAL makes every slice before it durable too. Resolves with the keys only
   * then; a failing slice erases the keys formed before it (left `leased` in the store, they are discarded
   * at the next start, never served).
   */
  #form(t: Omit<MasterTake, 'number' | 'nowMs'>, n: number): Promise<FormedKey[]> {
    const slice = Math.max(1, this.#store.leaseSliceKeys);
    if (n <= slice) return this.#store.leaseForMaster({ ...t, number: n, nowMs: Date.now() }, true);
    return this.#formSliced(t, n, slice);
  }

  async #formSliced(t: Omit<MasterTake, 'number' | 'nowMs'>, n: number, slice: number): Promise<FormedKey[]> {
    const keys: FormedKey[] = [];
    try {
      for (let done = 0; done < n;) {
        const m = Math.min(slice, n - done);
        done += m;
        const last = done === n;
        keys.push(...(await this.#store.leaseForMaster({ ...t, number: m, nowMs: Date.now() }, last)));
      }
    } catch (e) {
      for (const k of keys) k.key.fill(0);
      throw e;
    }
    return keys;
  }

  /** Leases more keys for `lease` (durable before use); at least enough for `need` keys in all. */
  #refill(lease: Lease, need: number): Promise<void> {
    lease.refill ??= (async () => {
      const t = lease.take;
      const missing = Math.max(0, need - lease.keys.length);
      // Keys the pool could still give (a key uses whole 256-bit chunks; the rest of its last is discarded).
      const afford = Math.floor(this.#store.level(t.peer).mineChunks / Math.ceil(t.sizeBits / 256));
      const want = Math.max(missing, Math.min(lease.target, Math.floor(afford / POOL_SHARE)));
      if (want === 0)
        throw new QkdnetError(
          'KMS_KEY_EXHAUSTED',
          `Cannot lease keys from the link to "${t.peer}": pool empty`,
        );
      let keys: FormedKey[];
      try {
        keys = await this.#form(t, want);
      } catch (e) {
        // Short tail chunks make `afford` an estimate: settle for what the waiting requests need.
        if (!isQkdnetError(e, 'KMS_KEY_EXHAUSTED') || want <= missing || missing === 0) throw e;
        keys = await this.#form(t, missing);
      }
      lease.keys.push(...keys);
      if ((t.remoteSlaves?.length ?? 0) > 0 || t.eraseAtPeer) this.#leased(t.peer);
    })().finally(() => {
      lease.refill = undefined;
    });
    return lease.refill;
  }
}
