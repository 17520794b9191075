/**
 * Erase-before-arrival and orphan reclaim, one suite run against each store (./tombstone.test.ts: SQLite;
 * ./tombstone-pg.slow.test.ts: PostgreSQL in a throwaway cluster). The two KMEs of a link receive their
 * copies of a block independently, so the owner's erase notice can reach the other KME before that KME's
 * copy of the chunks. The suite checks, through the store interface the KME core uses (./store-backend.ts):
 * the copy is erased whichever comes first; a notice before the copy leaves tombstones that survive
 * reopening the store, the copy is dropped when it arrives (counted) and a partly erased chunk keeps
 * exactly its other bytes; a tombstone naming a chunk this KME owns has no effect; tombstones expire by
 * TOMBSTONE_TTL_MS only, after which a late copy is kept (the documented rule); KmeCore.reclaimOrphans
 * erases relay link keys nobody fetched after RELAY_ORPHAN_TTL_MS only. Notices are produced by a SQLite
 * store playing KME A.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KmeCore, RELAY_ORPHAN_TTL_MS } from './core.ts';
import { reservationOf, testBlock } from './kme-pair.fixture.ts';
import { relaySaeId } from './relay-route.ts';
import { KeyStore, TOMBSTONE_TTL_MS, type MasterTake, type ReservationRecord } from './store.ts';
import type { KeyBackend } from './store-backend.ts';
import { chunkCutter, chunksFor } from './supply.ts';

/** KME B's store as the suite sees it: the core's interface plus the audit reads both stores offer. */
export interface StoreUnderTest {
  readonly backend: KeyBackend;
  tombstoneIds(): Promise<string[]>;
  chunkIds(): Promise<string[]>;
  keyIds(): Promise<string[]>;
  /** Closes the store (a restart: `open` with the same name sees what it committed). */
  close(): Promise<void>;
}

/** Opens KME B's store `name` (a fresh one the first time, the same one again after `close`). */
export type OpenStore = (name: string) => Promise<StoreUnderTest>;

const now = 1_700_000_000_000;
const block = testBlock(11, 'blk-t', 1024); // 32 chunks, 16 owned by each end

/** The request by which KME A takes a relay link key for B: master and slave are the KMEs' relay SAEs. */
export function relayLinkTake(nowMs: number): MasterTake {
  return {
    peer: 'kme-b',
    master: relaySaeId('kme-a'),
    slaves: [relaySaeId('kme-b')],
    localSlaves: [],
    remoteSlaves: [relaySaeId('kme-b')],
    number: 1,
    sizeBits: 256,
    nowMs,
  };
}

/** B's copy of `blk` through the store's supply path; resolves with the chunks stored, once durable. */
async function supplyB(b: StoreUnderTest, blk = block): Promise<number> {
  const item = { ...blk, key: Uint8Array.from(blk.key) };
  const cutter = chunkCutter('kme-b', 'kme-a', item);
  return b.backend.supply('kme-a', cutter.blockId, cutter, item.key).stored;
}

/** A fresh KME A holding its copy of the block. */
function storeA(): KeyStore {
  const a = KeyStore.open({ path: ':memory:' });
  a.addChunks('kme-b', chunksFor('kme-a', 'kme-b', block));
  return a;
}

/** A serves `number` keys of `sizeBits` to a pair of its own SAEs; returns the erase notices for B. */
function serveLocally(a: KeyStore, number: number, sizeBits: number) {
  const keys = a.takeForMaster({
    peer: 'kme-b',
    master: 'sae-a',
    slaves: ['sae-c'],
    localSlaves: ['sae-c'],
    eraseAtPeer: true,
    number,
    sizeBits,
    nowMs: now,
  });
  const notices = a.outbox('kme-b', 100);
  a.clearOutbox('kme-b', notices.at(-1)!.seq);
  assert.equal(notices.length, number);
  assert.ok(notices.every((n) => n.slaves.length === 0));
  return { keys, notices };
}

/** One key A serves to sae-a for slave sae-b at KME B (its reservation goes to B). */
function keyForB(a: KeyStore, sizeBits: number) {
  return a.takeForMaster({
    peer: 'kme-b',
    master: 'sae-a',
    slaves: ['sae-b'],
    localSlaves: [],
    remoteSlaves: ['sae-b'],
    number: 1,
    sizeBits,
    nowMs: now,
  })[0]!;
}

/** An erase notice for one 256-bit key in chunk `chunk`. */
const notice = (keyId: string, chunk: string, sizeBits = 256): ReservationRecord => ({
  keyId,
  chunkIds: [chunk],
  sizeBits,
  master: 'sae-a',
  slaves: [],
});

/** Registers the suite; `label` (`SQLite`, `PostgreSQL`) opens each test name. */
export function tombstoneSuite(label: string, open: OpenStore): void {
  test(`${label}: a notice after the copy arrived erases it at once (no tombstone)`, async () => {
    const a = storeA();
    const b = await open('tomb_after');
    try {
      assert.equal(await supplyB(b), 32);
      const { keys, notices } = serveLocally(a, 2, 256);
      assert.deepEqual(await b.backend.applyReservations('kme-a', notices, now), []);
      const ids = await b.chunkIds();
      for (const k of keys) assert.equal(ids.includes(k.chunkIds[0]!), false);
      assert.deepEqual(await b.tombstoneIds(), []);
      assert.equal(b.backend.level('kme-a').theirChunks, 14);
    } finally {
      a.close();
      await b.close();
    }
  });

  test(`${label}: a chunk whose high bytes are used before its low ones (use mask ≥ 2³¹) is stored and completed`, async () => {
    const a = storeA();
    const b = await open('tomb_high_mask');
    try {
      assert.equal(await supplyB(b), 32);
      const take = (sizeBits: number) => keyForB(a, sizeBits);
      // 96 bits: bytes 0–11 of a chunk; then 256 bits: bytes 12–31 of it and 0–11 of the next.
      const first = take(96);
      const second = take(256);
      assert.equal(second.chunkIds[0], first.chunkIds[0]);
      assert.equal(second.offset, 12);
      // B learns of the second key first: bytes 12–31 used alone, a mask with bit 31 set.
      assert.deepEqual(await b.backend.applyReservations('kme-a', [reservationOf(second)], now), []);
      assert.deepEqual(await b.backend.applyReservations('kme-a', [reservationOf(first)], now), []);
      for (const k of [first, second]) {
        const [got] = await b.backend.takeForSlave('sae-b', 'sae-a', [k.keyId], now, {});
        assert.ok(Buffer.from(got!.key).equals(Buffer.from(k.key)), 'same bytes at both ends');
        got!.key.fill(0);
      }
      assert.equal((await b.chunkIds()).includes(first.chunkIds[0]!), false, 'the spent chunk is gone');
    } finally {
      a.close();
      await b.close();
    }
  });

  test(`${label}: notices before the copy leave durable tombstones; the copy is dropped and counted; a partly erased chunk keeps its other bytes for the next key`, async () => {
    const a = storeA();
    let b = await open('tomb_order');
    try {
      // Two whole chunks, then 8 bits of a third: its other 31 bytes stay in the pool at both ends.
      const whole = serveLocally(a, 2, 256);
      const part = serveLocally(a, 1, 8);
      assert.deepEqual(
        await b.backend.applyReservations('kme-a', [...whole.notices, ...part.notices], now),
        [],
      );
      const erased = whole.keys.map((k) => k.chunkIds[0]!);
      const partial = part.keys[0]!.chunkIds[0]!;
      assert.deepEqual((await b.tombstoneIds()).sort(), [...erased, partial].sort());
      // Durable: the store reopened (a restart, or another replica) sees the same tombstones.
      await b.close();
      b = await open('tomb_order');
      assert.equal((await b.tombstoneIds()).length, 3);
      assert.equal(await supplyB(b), 30, 'two erased copies dropped (of 32), the partly erased one kept');
      const ids = await b.chunkIds();
      for (const id of erased) assert.equal(ids.includes(id), false, 'erased copy dropped');
      assert.equal(ids.includes(partial), true, 'partly erased chunk kept for its other bytes');
      assert.equal(b.backend.erasedOnArrival?.('kme-a'), 2);
      assert.deepEqual(await b.tombstoneIds(), []);
      assert.equal(b.backend.level('kme-a').theirChunks, 14);
      // The erased byte of the partial chunk is never served at B: a reservation naming it is refused…
      const byte = { ...notice('00000000-0000-4000-8000-000000000001', partial, 8), slaves: ['sae-b'] };
      assert.deepEqual(await b.backend.applyReservations('kme-a', [byte], now), [byte.keyId]);
      // …and A's next key, cut from byte 1 of that chunk, is formed at B with the same bytes, none twice.
      const next = keyForB(a, 256);
      assert.equal(next.chunkIds[0], partial);
      assert.equal(next.offset, 1);
      assert.deepEqual(await b.backend.applyReservations('kme-a', [reservationOf(next)], now), []);
      const [got] = await b.backend.takeForSlave('sae-b', 'sae-a', [next.keyId], now, {});
      assert.ok(Buffer.from(got!.key).equals(Buffer.from(next.key)));
      got!.key.fill(0);
    } finally {
      a.close();
      await b.close();
    }
  });

  test(`${label}: a tombstone naming our own chunk has no effect; tombstones expire by TOMBSTONE_TTL_MS, after which a late copy is kept`, async () => {
    const b = await open('tomb_ttl');
    try {
      const own = chunksFor('kme-b', 'kme-a', block).find((c) => c.mine)!;
      const other = chunksFor('kme-b', 'kme-a', block).find((c) => !c.mine)!;
      const notices = [
        notice('00000000-0000-4000-8000-000000000002', own.id),
        notice('00000000-0000-4000-8000-000000000003', other.id),
      ];
      assert.deepEqual(await b.backend.applyReservations('kme-a', notices, now), []);
      assert.equal(await supplyB(b), 31, 'only the peer-owned erased chunk is dropped');
      const ids = await b.chunkIds();
      assert.equal(ids.includes(own.id), true, 'our own chunk is never erased by a notice');
      assert.equal(ids.includes(other.id), false);
      assert.equal(b.backend.erasedOnArrival?.('kme-a'), 1);
      assert.equal(b.backend.level('kme-a').mineChunks, 16);
      // Expiry: a tombstone whose chunk has not come stays for TOMBSTONE_TTL_MS, then goes…
      const late = testBlock(12, 'blk-late', 64);
      const lateChunk = chunksFor('kme-b', 'kme-a', late).find((c) => !c.mine)!;
      const lateNotice = notice('00000000-0000-4000-8000-000000000004', lateChunk.id);
      assert.deepEqual(await b.backend.applyReservations('kme-a', [lateNotice], now), []);
      assert.equal(await b.backend.expireTombstones(now), 0, 'a fresh tombstone stays');
      assert.equal(await b.backend.expireTombstones(now + TOMBSTONE_TTL_MS + 1), 1);
      assert.deepEqual(await b.tombstoneIds(), []);
      // …and the copy arriving after the expiry is kept (the documented rule).
      assert.equal(await supplyB(b, late), 2);
      assert.equal((await b.chunkIds()).includes(lateChunk.id), true, 'after expiry the copy is kept');
    } finally {
      await b.close();
    }
  });

  test(`${label}: KmeCore.reclaimOrphans erases a relay link key nobody fetched, after RELAY_ORPHAN_TTL_MS only`, async () => {
    const a = storeA();
    const b = await open('orphans');
    const core = new KmeCore(
      {
        id: 'kme-b',
        tls: { cert: '', key: '', ca: '' },
        store: 'unused',
        saes: [{ id: 'sae-b' }],
        peers: [{ id: 'kme-a', url: 'https://127.0.0.1:1', saes: ['sae-a'] }],
      },
      b.backend,
    );
    try {
      await supplyB(b);
      const [k] = a.takeForMaster(relayLinkTake(Date.now()));
      const r = reservationOf(k!, relaySaeId('kme-a'), [relaySaeId('kme-b')]);
      assert.deepEqual(await b.backend.applyReservations('kme-a', [r], Date.now()), []);
      k!.key.fill(0);
      assert.deepEqual(await b.keyIds(), [k!.keyId]);
      assert.equal(await core.reclaimOrphans(Date.now()), 0, 'a fresh relay key is not an orphan yet');
      assert.deepEqual(await b.keyIds(), [k!.keyId]);
      assert.equal(await core.reclaimOrphans(Date.now() + RELAY_ORPHAN_TTL_MS + 1), 1);
      assert.deepEqual(await b.keyIds(), []);
    } finally {
      a.close();
      await b.close();
    }
  });
}
