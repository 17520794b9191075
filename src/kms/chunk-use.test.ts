// Chunk-granular accounting: a small key consumes what it uses, at both ends, in any order of
// reservations, across a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyStore, type FormedKey } from './store.ts';
import { chunksFor } from './supply.ts';
import { reservationOf, testBlock } from './kme-pair.fixture.ts';

const now = 1_700_000_000_000;

function stores(dir?: string) {
  const a = KeyStore.open({ path: dir ? join(dir, 'a.db') : ':memory:' });
  const b = KeyStore.open({ path: dir ? join(dir, 'b.db') : ':memory:' });
  const blk = testBlock(4, 'cu', 256); // 8 chunks, A owns 4
  a.addChunks('kme-b', chunksFor('kme-a', 'kme-b', blk));
  b.addChunks('kme-a', chunksFor('kme-b', 'kme-a', blk));
  return { a, b };
}

const take = (s: KeyStore, number: number, sizeBits: number) =>
  s.takeForMaster({
    peer: 'kme-b',
    master: 'sae-a',
    slaves: ['sae-b'],
    localSlaves: [],
    remoteSlaves: ['sae-b'],
    number,
    sizeBits,
    nowMs: now,
  });

const reserve = (b: KeyStore, k: FormedKey) => b.applyReservation('kme-a', reservationOf(k), now);

test('an 8-bit key consumes 8 bits of the pool, not a 256-bit chunk', () => {
  const { a, b } = stores();
  const before = a.level('kme-b').mineBytes;
  const [k] = take(a, 1, 8);
  assert.equal(k!.key.length, 1);
  assert.equal(a.level('kme-b').mineBytes, before - 1);
  assert.equal(a.level('kme-b').mineChunks, 4, 'the chunk stays, 31 bytes left');
  const [k2] = take(a, 1, 16);
  assert.equal(k2!.offset, 1);
  assert.deepEqual(k2!.chunkIds, k!.chunkIds);
  assert.notEqual(k2!.keyId, k!.keyId);
  a.close();
  b.close();
});

test('32 one-byte keys use up exactly one chunk at both ends, reservations applied in reverse order', () => {
  const { a, b } = stores();
  const keys = take(a, 32, 8);
  const chunk = keys[0]!.chunkIds[0]!;
  assert.ok(keys.every((k) => k.chunkIds.length === 1 && k.chunkIds[0] === chunk));
  assert.equal(a.chunkIds().includes(chunk), false, 'A erased the used-up chunk');
  assert.equal(a.level('kme-b').mineChunks, 3);
  for (const k of [...keys].reverse()) {
    assert.equal(b.chunkIds().includes(chunk), true);
    reserve(b, k);
  }
  assert.equal(b.chunkIds().includes(chunk), false, 'B erased its copy after the last byte');
  for (const k of keys)
    assert.deepEqual(new Uint8Array(b.takeForSlave('sae-b', 'sae-a', [k.keyId], now)[0]!.key), k.key);
  a.close();
  b.close();
});

test('a key spanning the rest of one chunk and part of the next; the same bytes at B; a byte never twice', () => {
  const { a, b } = stores();
  take(a, 1, 8 * 30); // 30 of the first chunk's 32 bytes (the reservation is not sent: B's copy waits)
  const [k] = take(a, 1, 8 * 10); // 2 + 8
  assert.equal(k!.chunkIds.length, 2);
  assert.equal(k!.offset, 30);
  reserve(b, k!);
  assert.deepEqual(new Uint8Array(b.takeForSlave('sae-b', 'sae-a', [k!.keyId], now)[0]!.key), k!.key);
  // A reservation claiming bytes already used at B is refused whole.
  assert.throws(
    () =>
      b.applyReservation(
        'kme-a',
        {
          keyId: 'dup',
          chunkIds: k!.chunkIds.slice(1),
          sizeBits: 64,
          master: 'sae-a',
          slaves: ['sae-b'],
          offset: 0,
        },
        now,
      ),
    /do not hold/,
  );
  a.close();
  b.close();
});

test('partial use survives a restart: the pool level and the next key continue where they stopped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-chunk-use-'));
  try {
    const { a, b } = stores(dir);
    const [k] = take(a, 1, 8 * 5);
    const level = a.level('kme-b').mineBytes;
    a.close();
    b.close();
    const a2 = KeyStore.open({ path: join(dir, 'a.db') });
    assert.equal(a2.level('kme-b').mineBytes, level);
    const [next] = take(a2, 1, 8);
    assert.equal(next!.offset, 5);
    assert.deepEqual(next!.chunkIds, k!.chunkIds);
    a2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
