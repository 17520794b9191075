import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { isQkdnetError } from '../common/index.ts';
import { KeyStore } from './store.ts';
import { chunksFor, uuidV5 } from './supply.ts';
import { Keyring } from './store-crypto.ts';
import { reservationOf, testBlock } from './kme-pair.fixture.ts';

const now = 1_700_000_000_000;

function pairStores(path?: string) {
  const a = KeyStore.open({ path: path ? join(path, 'a.db') : ':memory:' });
  const b = KeyStore.open({ path: path ? join(path, 'b.db') : ':memory:' });
  return { a, b };
}

function feed(a: KeyStore, b: KeyStore, seed: number, id: string, bytes = 1024) {
  const blk = testBlock(seed, id, bytes);
  a.addChunks('kme-b', chunksFor('kme-a', 'kme-b', blk));
  b.addChunks('kme-a', chunksFor('kme-b', 'kme-a', blk));
}

const take = (s: KeyStore, number: number, sizeBits = 256, localSlaves: string[] = []) =>
  s.takeForMaster({
    peer: 'kme-b',
    master: 'sae-a',
    slaves: ['sae-b', ...localSlaves],
    localSlaves,
    number,
    sizeBits,
    nowMs: now,
  });

test('both ends of a link hold the same chunk IDs and split ownership in half', () => {
  const { a, b } = pairStores();
  feed(a, b, 1, 'blk-0', 1024); // 32 chunks
  assert.deepEqual(a.chunkIds(), b.chunkIds());
  assert.equal(a.level('kme-b').mineChunks, 16);
  assert.equal(b.level('kme-a').mineChunks, 16);
  assert.equal(a.level('kme-b').theirChunks, 16);
  a.close();
  b.close();
});

test('a reservation reproduces at the slave KME exactly the key the master got', () => {
  const { a, b } = pairStores();
  feed(a, b, 2, 'blk-0');
  const [k] = take(a, 1, 768); // three chunks
  assert.ok(k);
  assert.equal(k.key.length, 96);
  b.applyReservation(
    'kme-a',
    { keyId: k.keyId, chunkIds: k.chunkIds, sizeBits: 768, master: 'sae-a', slaves: ['sae-b'] },
    now,
  );
  const [got] = b.takeForSlave('sae-b', 'sae-a', [k.keyId], now);
  assert.deepEqual(Buffer.from(got!.key), Buffer.from(k.key));
  assert.equal(got!.meta.provenance, 'qkd');
  assert.deepEqual(got!.meta.blockIds, ['blk-0']);
});

test('a key is delivered once per role, then erased; a second fetch is a 400 condition', () => {
  const { a, b } = pairStores();
  feed(a, b, 3, 'blk-0');
  const [k] = take(a, 1);
  b.applyReservation(
    'kme-a',
    { keyId: k!.keyId, chunkIds: k!.chunkIds, sizeBits: 256, master: 'sae-a', slaves: ['sae-b'] },
    now,
  );
  b.takeForSlave('sae-b', 'sae-a', [k!.keyId], now);
  assert.equal(b.pendingKeyCount(), 0);
  assert.throws(
    () => b.takeForSlave('sae-b', 'sae-a', [k!.keyId], now),
    (e) => isQkdnetError(e, 'KMS_KEY_NOT_FOUND'),
  );
  assert.deepEqual(
    b.deliveries().map((d) => [d.keyId, d.role, d.sae]),
    [[k!.keyId, 'slave', 'sae-b']],
  );
});

test('a slave the master did not name gets KMS_UNAUTHORIZED and the key stays for the named one', () => {
  const { a, b } = pairStores();
  feed(a, b, 4, 'blk-0');
  const [k] = take(a, 1);
  b.applyReservation(
    'kme-a',
    { keyId: k!.keyId, chunkIds: k!.chunkIds, sizeBits: 256, master: 'sae-a', slaves: ['sae-b'] },
    now,
  );
  assert.throws(
    () => b.takeForSlave('sae-d', 'sae-a', [k!.keyId], now),
    (e) => isQkdnetError(e, 'KMS_UNAUTHORIZED'),
  );
  assert.throws(
    () => b.takeForSlave('sae-b', 'sae-c', [k!.keyId], now),
    (e) => isQkdnetError(e, 'KMS_UNAUTHORIZED'),
  );
  assert.equal(b.takeForSlave('sae-b', 'sae-a', [k!.keyId], now).length, 1);
});

test('the pool refuses what it cannot serve and changes nothing', () => {
  const { a, b } = pairStores();
  feed(a, b, 5, 'blk-0', 256); // 8 chunks, 4 owned by A = 1024 bits
  assert.throws(
    () => take(a, 5),
    (e) => isQkdnetError(e, 'KMS_KEY_EXHAUSTED'),
  );
  assert.equal(a.level('kme-b').mineChunks, 4);
  assert.equal(take(a, 4).length, 4);
  assert.equal(a.level('kme-b').mineBytes, 0);
});

test('a reservation naming chunks the peer does not own is refused whole', () => {
  const { a, b } = pairStores();
  feed(a, b, 6, 'blk-0');
  const own = b.chunkIds().slice(0, 2); // chunk 0 is A's, chunk 1 is B's
  assert.throws(
    () =>
      b.transaction(() =>
        b.applyReservation(
          'kme-a',
          { keyId: own[0]!, chunkIds: own, sizeBits: 512, master: 'sae-a', slaves: ['sae-b'] },
          now,
        ),
      ),
    (e) => isQkdnetError(e, 'KMS_PEER_UNAVAILABLE'),
  );
  assert.equal(b.chunkIds().length, 32);
});

test('a block supplied again after its keys were served is ignored, never served twice', () => {
  const { a, b } = pairStores();
  feed(a, b, 9, 'blk-0', 256);
  take(a, 4);
  assert.equal(a.level('kme-b').mineChunks, 0);
  feed(a, b, 9, 'blk-0', 256);
  assert.equal(a.level('kme-b').mineChunks, 0);
  assert.throws(
    () => take(a, 1),
    (e) => isQkdnetError(e, 'KMS_KEY_EXHAUSTED'),
  );
});

test('deliveries and pools survive closing and reopening the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-store-'));
  try {
    let { a, b } = pairStores(dir);
    feed(a, b, 7, 'blk-0');
    const ks = take(a, 3);
    a.close();
    b.close();
    ({ a, b } = pairStores(dir));
    assert.equal(a.level('kme-b').mineChunks, 13);
    assert.deepEqual(new Set(a.deliveries().map((d) => d.keyId)), new Set(ks.map((k) => k.keyId)));
    assert.equal(a.pragma('journal_mode'), 'wal');
    assert.equal(a.durability, 'group');
    assert.equal(a.pragma('synchronous'), 1); // NORMAL + our own WAL fsync per batch
    const full = KeyStore.open({ path: join(dir, 'full.db'), durability: 'full' });
    assert.equal(full.pragma('synchronous'), 2); // FULL
    full.close();
    a.close();
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a store written with the earlier version-5 chunk IDs reopens and serves them, then new block-ordered ones, once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-store-'));
  const ring = Keyring.generate();
  const open = (n: string) => KeyStore.open({ path: join(dir, `${n}.db`), keyring: ring });
  try {
    let a = open('a');
    let b = open('b');
    // Chunks as the earlier derivation named them: one SHA-1 name-based UUID per chunk.
    const old = (cs: ReturnType<typeof chunksFor>) => cs.map((c) => ({ ...c, id: uuidV5(`old:${c.id}`) }));
    const blk0 = testBlock(11, 'blk-old', 1024);
    a.addChunks('kme-b', old(chunksFor('kme-a', 'kme-b', blk0)));
    b.addChunks('kme-a', old(chunksFor('kme-b', 'kme-a', blk0)));
    assert.ok(a.chunkIds().every((id) => id[14] === '5'));
    a.close();
    b.close();
    a = open('a');
    b = open('b');
    feed(a, b, 12, 'blk-new', 1024);
    assert.equal(a.level('kme-b').mineChunks, 32);
    assert.deepEqual(new Set(a.chunkIds().map((id) => id[14])), new Set(['5', '8']));
    // 24 keys of 256 bits: the 16 old chunks this end owns, then 8 new ones.
    const ks = take(a, 24);
    assert.equal(new Set(ks.map((k) => k.keyId)).size, 24);
    for (const k of ks) b.applyReservation('kme-a', reservationOf(k), now);
    const got = b.takeForSlave(
      'sae-b',
      'sae-a',
      ks.map((k) => k.keyId),
      now,
    );
    for (const [i, k] of ks.entries()) assert.deepEqual(Buffer.from(got[i]!.key), Buffer.from(k.key));
    assert.deepEqual(new Set(ks.flatMap((k) => k.meta.blockIds)), new Set(['blk-old', 'blk-new']));
    assert.throws(() => b.takeForSlave('sae-b', 'sae-a', [ks[0]!.keyId], now));
    assert.equal(a.level('kme-b').mineChunks, 8);
    a.close();
    b.close();
  } finally {
    ring.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('property: no key_ID is ever delivered twice to a role, whatever the request sequence', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          n: fc.integer({ min: 1, max: 6 }),
          sizeBytes: fc.integer({ min: 1, max: 80 }),
          fetch: fc.boolean(),
        }),
        {
          maxLength: 30,
        },
      ),
      (reqs) => {
        const { a, b } = pairStores();
        feed(a, b, 8, 'blk-0', 2048);
        const seenMaster = new Set<string>();
        const seenSlave = new Set<string>();
        const material = new Set<string>();
        for (const r of reqs) {
          let ks;
          try {
            ks = take(a, r.n, r.sizeBytes * 8);
          } catch (e) {
            assert.ok(isQkdnetError(e, 'KMS_KEY_EXHAUSTED'));
            continue;
          }
          for (const k of ks) {
            assert.ok(!seenMaster.has(k.keyId));
            seenMaster.add(k.keyId);
            // Chunk-granular: keys may share a chunk, never a byte of it.
            k.chunkIds.forEach((c, i) => {
              const start = i === 0 ? k.offset : 0;
              for (let j = start; j < start + k.chunks[i]!.bytes; j++) {
                assert.ok(!material.has(`${c}:${j}`), 'a byte of key material was used twice');
                material.add(`${c}:${j}`);
              }
            });
            b.applyReservation('kme-a', reservationOf(k), now);
            if (r.fetch) {
              const [got] = b.takeForSlave('sae-b', 'sae-a', [k.keyId], now);
              assert.deepEqual(new Uint8Array(got!.key), k.key, 'the slave gets the bytes the master got');
              assert.ok(!seenSlave.has(k.keyId));
              seenSlave.add(k.keyId);
            }
          }
        }
        a.close();
        b.close();
      },
    ),
    { seed: 20261123, numRuns: 60 },
  );
});

test('reservations applied together: a refused one leaves no trace, the others apply, the pool level is saved once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-store-'));
  try {
    const { a, b } = pairStores(dir);
    feed(a, b, 9, 'blk-0');
    const [k1, k2] = take(a, 2);
    const r = (k: typeof k1, keyId = k!.keyId) => ({
      keyId,
      chunkIds: k!.chunkIds,
      sizeBits: 256,
      master: 'sae-a',
      slaves: ['sae-b'],
    });
    const missing = { ...r(k1, 'missing-1'), chunkIds: ['no-such-chunk'] };
    const overlap = r(k1, 'overlap-1'); // the bytes of k1 again, under another key ID
    const levelBefore = { ...b.level('kme-a') };
    const refused = b.transaction(() =>
      b.applyReservations('kme-a', [r(k1), missing, r(k2), overlap, r(k1)], now),
    );
    assert.deepEqual(refused, ['missing-1', 'overlap-1']);
    assert.equal(b.pendingKeyCount(), 2);
    assert.equal(b.level('kme-a').theirChunks, levelBefore.theirChunks - 2);
    for (const k of [k1!, k2!]) {
      const [got] = b.takeForSlave('sae-b', 'sae-a', [k.keyId], now);
      assert.deepEqual(Buffer.from(got!.key), Buffer.from(k.key));
    }
    for (const id of ['missing-1', 'overlap-1'])
      assert.throws(
        () => b.takeForSlave('sae-b', 'sae-a', [id], now),
        (e) => isQkdnetError(e, 'KMS_KEY_NOT_FOUND'),
      );
    // The level written once at the end is the one a reopened store reads.
    const level = { ...b.level('kme-a') };
    a.close();
    b.close();
    const again = KeyStore.open({ path: join(dir, 'b.db') });
    assert.deepEqual({ ...again.level('kme-a') }, level);
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
