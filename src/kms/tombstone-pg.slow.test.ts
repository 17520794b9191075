/**
 * Erase-before-arrival and orphan reclaim on the PostgreSQL store (real PostgreSQL in a throwaway
 * cluster; fails, never skips, without its binaries) — the cases ./tombstone.test.ts and ./erase.test.ts
 * check on SQLite: an owner's erase notice that reaches this KME before its copy of the chunks leaves
 * tombstones (durable: they survive reopening the store), the copy is dropped when it arrives (counted),
 * a partly erased chunk keeps exactly its other bytes, a tombstone naming a chunk this KME owns has no
 * effect, tombstones expire by TOMBSTONE_TTL_MS only, and KmeCore.reclaimOrphans erases relay link keys
 * nobody fetched after RELAY_ORPHAN_TTL_MS only. Notices are produced by a SQLite store playing KME A.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KmeCore, RELAY_ORPHAN_TTL_MS } from './core.ts';
import { reservationOf, startTestPg, testBlock, type TestPg } from './kme-pair.fixture.ts';
import { relaySaeId } from './relay-route.ts';
import { KeyStore, TOMBSTONE_TTL_MS } from './store.ts';
import { Keyring } from './store-crypto.ts';
import { PgKeyStore } from './store-pg.ts';
import { chunkCutter, chunksFor } from './supply.ts';

const now = 1_700_000_000_000;
const block = testBlock(11, 'blk-t', 1024); // 32 chunks, 16 owned by each end
let pgdb: TestPg;
const ring = Keyring.generate();

before(async () => {
  pgdb = await startTestPg();
});
after(async () => {
  ring.destroy();
  await pgdb?.cleanup();
});

const openB = async (db: string) =>
  PgKeyStore.open({ url: await pgdb.database(db), keyring: ring.only(ring.versions()) }); // the store destroys its copy at close;

/** B's copy of the block, through the PostgreSQL supply path (committed when this resolves). */
async function supplyB(b: PgKeyStore): Promise<number> {
  const item = { ...block, key: Uint8Array.from(block.key) };
  const cutter = chunkCutter('kme-b', 'kme-a', item);
  return b.supply('kme-a', cutter.blockId, cutter, item.key).stored;
}

/** A serves `number` keys of `sizeBits` to its own SAEs; returns the erase notices for B. */
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

test('PostgreSQL: notices before the copy leave durable tombstones; the copy is dropped and counted; a partly erased chunk keeps its other bytes', async () => {
  const a = KeyStore.open({ path: ':memory:' });
  let b = await openB('tomb_order');
  try {
    a.addChunks('kme-b', chunksFor('kme-a', 'kme-b', block));
    const whole = serveLocally(a, 2, 256);
    const part = serveLocally(a, 1, 8);
    assert.deepEqual(await b.applyReservations('kme-a', [...whole.notices, ...part.notices], now), []);
    const erased = whole.keys.map((k) => k.chunkIds[0]!);
    const partial = part.keys[0]!.chunkIds[0]!;
    assert.deepEqual(await b.tombstoneIds(), [...erased, partial].sort());
    // Durable: a replica opened afterwards (or this one after a restart) sees the same tombstones.
    await b.close();
    b = await openB('tomb_order');
    assert.equal((await b.tombstoneIds()).length, 3);
    assert.equal(await supplyB(b), 30, 'two erased copies dropped (of 32), the partly erased one kept');
    const ids = await b.chunkIds();
    for (const id of erased) assert.equal(ids.includes(id), false, 'erased copy dropped');
    assert.equal(ids.includes(partial), true);
    assert.equal(b.erasedOnArrival('kme-a'), 2);
    assert.deepEqual(await b.tombstoneIds(), []);
    assert.equal(b.level('kme-a').theirChunks, 14);
    // The erased byte of the partial chunk is never served at B: a reservation naming it is refused…
    const refused = await b.applyReservations(
      'kme-a',
      [
        {
          keyId: '00000000-0000-4000-8000-000000000001',
          chunkIds: [partial],
          sizeBits: 8,
          master: 'sae-a',
          slaves: ['sae-b'],
        },
      ],
      now,
    );
    assert.deepEqual(refused, ['00000000-0000-4000-8000-000000000001']);
    // …and A's next key, cut from byte 1 of that chunk, is formed at B with the same bytes.
    const [next] = a.takeForMaster({
      peer: 'kme-b',
      master: 'sae-a',
      slaves: ['sae-b'],
      localSlaves: [],
      remoteSlaves: ['sae-b'],
      number: 1,
      sizeBits: 256,
      nowMs: now,
    });
    assert.equal(next!.chunkIds[0], partial);
    assert.equal(next!.offset, 1);
    assert.deepEqual(await b.applyReservations('kme-a', [reservationOf(next!)], now), []);
    const [got] = await b.takeForSlave('sae-b', 'sae-a', [next!.keyId], now, {});
    assert.ok(Buffer.from(got!.key).equals(Buffer.from(next!.key)));
    got!.key.fill(0);
  } finally {
    a.close();
    await b.close();
  }
});

test('PostgreSQL: a notice after the copy erases it at once; a tombstone naming our own chunk has no effect; tombstones expire by TOMBSTONE_TTL_MS', async () => {
  const a = KeyStore.open({ path: ':memory:' });
  const b = await openB('tomb_ttl');
  try {
    a.addChunks('kme-b', chunksFor('kme-a', 'kme-b', block));
    await supplyB(b);
    const { keys, notices } = serveLocally(a, 2, 256);
    assert.deepEqual(await b.applyReservations('kme-a', notices, now), []);
    const ids = await b.chunkIds();
    for (const k of keys) assert.equal(ids.includes(k.chunkIds[0]!), false);
    assert.deepEqual(await b.tombstoneIds(), []);
    assert.equal(b.level('kme-a').theirChunks, 14);

    const fresh = await openB('tomb_ttl_own');
    const own = chunksFor('kme-b', 'kme-a', block).find((c) => c.mine)!;
    const notice = (keyId: string, chunk: string) => ({
      keyId,
      chunkIds: [chunk],
      sizeBits: 256,
      master: 'sae-a',
      slaves: [] as string[],
    });
    const other = chunksFor('kme-b', 'kme-a', block).find((c) => !c.mine)!;
    assert.deepEqual(
      await fresh.applyReservations(
        'kme-a',
        [
          notice('00000000-0000-4000-8000-000000000002', own.id),
          notice('00000000-0000-4000-8000-000000000003', other.id),
        ],
        now,
      ),
      [],
    );
    assert.equal(await supplyB(fresh), 31, 'only the peer-owned erased chunk is dropped');
    assert.equal(
      (await fresh.chunkIds()).includes(own.id),
      true,
      'our own chunk is never erased by a notice',
    );
    assert.equal(fresh.erasedOnArrival('kme-a'), 1);
    // Expiry: a tombstone whose chunk never came stays for TOMBSTONE_TTL_MS, then goes.
    assert.deepEqual(
      await fresh.applyReservations(
        'kme-a',
        [notice('00000000-0000-4000-8000-000000000004', 'never-comes')],
        now,
      ),
      [],
    );
    assert.equal(await fresh.expireTombstones(now), 0, 'a fresh tombstone stays');
    assert.equal(await fresh.expireTombstones(now + TOMBSTONE_TTL_MS + 1), 1);
    assert.deepEqual(await fresh.tombstoneIds(), []);
    await fresh.close();
  } finally {
    a.close();
    await b.close();
  }
});

test('PostgreSQL: KmeCore.reclaimOrphans erases a relay link key nobody fetched, after RELAY_ORPHAN_TTL_MS only', async () => {
  const a = KeyStore.open({ path: ':memory:' });
  const b = await openB('orphans');
  const core = new KmeCore(
    {
      id: 'kme-b',
      tls: { cert: '', key: '', ca: '' },
      store: 'postgres://unused',
      saes: [{ id: 'sae-b' }],
      peers: [{ id: 'kme-a', url: 'https://127.0.0.1:1', saes: ['sae-a'] }],
    },
    b,
  );
  try {
    a.addChunks('kme-b', chunksFor('kme-a', 'kme-b', block));
    await supplyB(b);
    // A relay hop's link key: master and slave are the two KMEs' relay identities.
    const [k] = a.takeForMaster({
      peer: 'kme-b',
      master: relaySaeId('kme-a'),
      slaves: [relaySaeId('kme-b')],
      localSlaves: [],
      remoteSlaves: [relaySaeId('kme-b')],
      number: 1,
      sizeBits: 256,
      nowMs: Date.now(),
    });
    assert.deepEqual(
      await b.applyReservations(
        'kme-a',
        [reservationOf(k!, relaySaeId('kme-a'), [relaySaeId('kme-b')])],
        Date.now(),
      ),
      [],
    );
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
