/**
 * WAL checkpoints on a worker thread (./store-checkpointer.ts), on real SQLite files: a group-mode store
 * turns SQLite's automatic checkpoint off, the worker's own connection moves committed pages into the
 * database file without any checkpoint by the store, the store's own checkpoints never collide with the
 * worker's (no SQLITE_BUSY), and close() still leaves an empty WAL with every row in the database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyStore } from './store.ts';
import { chunksFor } from './supply.ts';
import { testBlock } from './kme-pair.fixture.ts';

test('a group-mode store checkpoints on a worker thread; its own checkpoints and close() still work', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-ckpt-'));
  const path = join(dir, 's.db');
  try {
    const s = KeyStore.open({ path });
    assert.equal(s.pragma('wal_autocheckpoint'), 0);
    const dbBytes0 = statSync(path).size;
    let chunks = 0;
    for (let i = 0; i < 8; i++)
      chunks += s.addChunks('kme-b', chunksFor('kme-a', 'kme-b', testBlock(3, `w-${i}`)));
    assert.equal(chunks, 8 * 128);
    // Only the worker can grow the database file now (the store's connection writes the WAL alone).
    const deadline = Date.now() + 10_000;
    while (statSync(path).size === dbBytes0 && Date.now() < deadline) await sleep(20);
    assert.ok(statSync(path).size > dbBytes0, 'the worker moved committed pages into the database file');
    // The store's own checkpoints wait for the worker's instead of failing with SQLITE_BUSY.
    for (let i = 0; i < 20; i++) {
      s.addChunks('kme-b', chunksFor('kme-a', 'kme-b', testBlock(3, `x-${i}`)));
      s.checkpoint(i % 2 === 0 ? 'FULL' : 'TRUNCATE');
      await sleep(5);
    }
    s.close();
    assert.ok(!existsSync(`${path}-wal`) || statSync(`${path}-wal`).size === 0, 'WAL empty after close');
    const again = KeyStore.open({ path });
    assert.equal(again.level('kme-b').mineChunks + again.level('kme-b').theirChunks, 28 * 128);
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
