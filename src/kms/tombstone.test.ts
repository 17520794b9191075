// Erase-before-arrival: the two KMEs of a link receive their copies of a block independently, so the
// owner's erase notice can reach the other KME before that KME's copy of the chunks. Both orders are
// tested over the store: the copy is erased whichever comes first, a partly erased chunk keeps exactly
// its other bytes, tombstones survive a restart, and they expire by TOMBSTONE_TTL_MS only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyStore, TOMBSTONE_TTL_MS } from './store.ts';
import { chunksFor } from './supply.ts';
import { reservationOf, testBlock } from './kme-pair.fixture.ts';

const now = 1_700_000_000_000;
const block = testBlock(11, 'blk-t', 1024); // 32 chunks, 16 owned by each end
const forA = () => chunksFor('kme-a', 'kme-b', block);
const forB = () => chunksFor('kme-b', 'kme-a', block);

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
  assert.equal(notices.length, number);
  assert.ok(notices.every((n) => n.slaves.length === 0));
  return { keys, notices };
}

test('notice after the copy arrived: the copy is erased at once (no tombstone)', () => {
  const a = KeyStore.open({ path: ':memory:' });
  const b = KeyStore.open({ path: ':memory:' });
  a.addChunks('kme-b', forA());
  b.addChunks('kme-a', forB());
  const { keys, notices } = serveLocally(a, 2, 256);
  for (const n of notices) b.applyReservation('kme-a', n, now);
  for (const k of keys) assert.equal(b.chunkIds().includes(k.chunkIds[0]!), false);
  assert.deepEqual(b.tombstoneIds(), []);
  assert.equal(b.level('kme-a').theirChunks, 14);
  a.close();
  b.close();
});

test('notice before the copy arrived: tombstones, the later copy is dropped and counted, and a partly erased chunk keeps its other bytes for the next key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-tomb-'));
  const a = KeyStore.open({ path: ':memory:' });
  let b = KeyStore.open({ path: join(dir, 'b.db') });
  try {
    a.addChunks('kme-b', forA());
    // Two whole chunks, then 8 bits of a third: its other 31 bytes stay in the pool at both ends.
    const whole = serveLocally(a, 2, 256);
    a.clearOutbox('kme-b', whole.notices.at(-1)!.seq);
    const part = serveLocally(a, 1, 8);
    a.clearOutbox('kme-b', part.notices.at(-1)!.seq);
    for (const n of [...whole.notices, ...part.notices]) b.applyReservation('kme-a', n, now);
    const erased = whole.keys.map((k) => k.chunkIds[0]!);
    const partial = part.keys[0]!.chunkIds[0]!;
    assert.deepEqual(b.tombstoneIds().sort(), [...erased, partial].sort());
    // Tombstones are durable: they survive a restart of B.
    b.close();
    b = KeyStore.open({ path: join(dir, 'b.db') });
    assert.equal(b.tombstoneIds().length, 3);
    b.addChunks('kme-a', forB());
    for (const id of erased) assert.equal(b.chunkIds().includes(id), false, 'erased copy dropped');
    assert.equal(b.erasedOnArrival('kme-a'), 2);
    assert.equal(b.chunkIds().includes(partial), true, 'partly erased chunk kept for its other bytes');
    assert.deepEqual(b.tombstoneIds(), []);
    assert.equal(b.level('kme-a').theirChunks, 14);
    // A byte the notice erased can never be served at B: a reservation naming it is refused.
    assert.throws(
      () =>
        b.applyReservation(
          'kme-a',
          {
            keyId: '00000000-0000-4000-8000-000000000001',
            chunkIds: [partial],
            sizeBits: 8,
            master: 'sae-a',
            slaves: ['sae-b'],
          },
          now,
        ),
      /do not hold those/,
    );
    // A's next key starts in the partly used chunk at byte 1; B cuts the same bytes, none twice.
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
    b.applyReservation('kme-a', reservationOf(next!), now);
    const [got] = b.takeForSlave('sae-b', 'sae-a', [next!.keyId], now);
    assert.deepEqual(Buffer.from(got!.key), Buffer.from(next!.key));
  } finally {
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a tombstone naming a chunk this KME owns is ignored (only the owner erases), and tombstones expire by TOMBSTONE_TTL_MS', () => {
  const b = KeyStore.open({ path: ':memory:' });
  const own = forB().find((c) => c.mine)!;
  const theirs = forB().filter((c) => !c.mine);
  b.applyReservation(
    'kme-a',
    {
      keyId: '00000000-0000-4000-8000-000000000002',
      chunkIds: [own.id],
      sizeBits: 256,
      master: 'sae-a',
      slaves: [],
    },
    now,
  );
  b.applyReservation(
    'kme-a',
    {
      keyId: '00000000-0000-4000-8000-000000000003',
      chunkIds: [theirs[0]!.id],
      sizeBits: 256,
      master: 'sae-a',
      slaves: [],
    },
    now,
  );
  assert.equal(b.expireTombstones(now), 0, 'a fresh tombstone stays');
  assert.equal(b.expireTombstones(now + TOMBSTONE_TTL_MS + 1), 2);
  assert.deepEqual(b.tombstoneIds(), []);
  b.applyReservation(
    'kme-a',
    {
      keyId: '00000000-0000-4000-8000-000000000004',
      chunkIds: [own.id],
      sizeBits: 256,
      master: 'sae-a',
      slaves: [],
    },
    now,
  );
  b.addChunks('kme-a', forB());
  assert.equal(b.chunkIds().includes(own.id), true, "B's own chunk is not erased by its peer's notice");
  assert.equal(
    b.chunkIds().includes(theirs[0]!.id),
    true,
    'after expiry the copy is kept (the documented rule)',
  );
  assert.equal(b.level('kme-a').mineChunks, 16);
  b.close();
});
