import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyStore } from './store.ts';
import { chunksFor } from './supply.ts';
import { testBlock } from './kme-pair.fixture.ts';

/** Opens a store in a fresh directory; the callback gets it and a way to reopen the file. */
function withStore(fn: (store: KeyStore, reopen: () => KeyStore) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-rollback-'));
  const path = join(dir, 'a.db');
  const store = KeyStore.open({ path, lock: false });
  try {
    fn(store, () => KeyStore.open({ path, lock: false }));
  } finally {
    if (store.isOpen) store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const take = { peer: 'kme-b', master: 'sae-a', slaves: ['sae-c'], localSlaves: ['sae-c'] };

test('a transaction that throws leaves the pool level where the database has it', () => {
  withStore((store) => {
    store.addChunks('kme-b', chunksFor('kme-a', 'kme-b', testBlock(1, 'l-1', 4096)));
    const before = { ...store.level('kme-b') };
    assert.throws(
      () =>
        store.transaction(() => {
          store.addChunks('kme-b', chunksFor('kme-a', 'kme-b', testBlock(2, 'l-2', 4096)));
          store.leaseForMaster({ ...take, number: 5, sizeBits: 256, nowMs: 1 });
          throw new Error('boom after the writes');
        }),
      /boom/,
    );
    assert.deepEqual({ ...store.level('kme-b') }, before);
  });
});

test('in a group commit, the op that fails rolls back alone and the levels match a reopened store', () => {
  withStore((store, reopen) => {
    store.addChunks('kme-b', chunksFor('kme-a', 'kme-b', testBlock(1, 'l-1', 4096)));
    const mineBefore = store.level('kme-b').mineBytes;
    // Bytes of block 3 this KME owns (a link splits each block's chunks between its two ends).
    const scratch = KeyStore.open({ path: ':memory:' });
    scratch.addChunks('kme-b', chunksFor('kme-a', 'kme-b', testBlock(3, 'l-3', 1024)));
    const mineOfBlock3 = scratch.level('kme-b').mineBytes;
    scratch.close();
    const results = store.runBatch([
      () => store.leaseForMaster({ ...take, number: 3, sizeBits: 256, nowMs: 1 }).length,
      () => {
        store.leaseForMaster({ ...take, number: 2, sizeBits: 512, nowMs: 1 }); // consumed, then…
        throw new Error('this op fails after consuming');
      },
      () => store.addChunks('kme-b', chunksFor('kme-a', 'kme-b', testBlock(3, 'l-3', 1024))),
    ]);
    assert.deepEqual(
      results.map((r) => r.ok),
      [true, false, true],
    );
    const live = { ...store.level('kme-b') };
    // Block 3's bytes arrived and 3 × 32 bytes were leased by the first op; the second op's 2 × 64 came back.
    assert.equal(live.mineBytes, mineBefore + mineOfBlock3 - 3 * 32);
    store.close();
    const again = reopen();
    try {
      assert.deepEqual({ ...again.level('kme-b') }, live);
    } finally {
      again.close();
    }
  });
});
