import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { KeyStore } from './store.ts';
import { Keyring } from './store-crypto.ts';
import { chunksFor } from './supply.ts';
import { startSupplyThread, type SupplyNote } from './supply-thread.ts';
import { testBlock } from './kme-pair.fixture.ts';

const take = (s: KeyStore, number: number) =>
  s.takeForMaster({
    peer: 'kme-b',
    master: 'sae-a',
    slaves: ['sae-b'],
    localSlaves: [],
    number,
    sizeBits: 256,
    nowMs: 0,
  });

/** Stores one 4096-byte block (128 chunks, 64 owned by kme-a) through `s`, as the pump does. */
function store(s: KeyStore, id: string): void {
  const chunks = chunksFor('kme-a', 'kme-b', testBlock(7, id, 4096));
  s.transaction(() => {
    assert.equal(s.beginItem('kme-b', id), 0);
    s.storeItemSlice('kme-b', id, chunks, chunks.length, chunks.length);
  });
}

test('a supply connection stores beside the main one: levels add up, neither overwrites the other, both survive reopening', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-supply-conn-'));
  const path = join(dir, 'kme-a.db');
  const ring = Keyring.generate();
  try {
    const main = KeyStore.open({ path, keyring: ring });
    const sup = KeyStore.open({ path, keyring: ring, role: 'supply' });
    store(sup, 'b1');
    assert.equal(main.level('kme-b').mineChunks, 0, 'the main thread learns only from the note');
    main.noteSupply('kme-b', sup.supplyNote('kme-b'));
    assert.deepEqual(main.level('kme-b'), { mineBytes: 64 * 32, mineChunks: 64, theirChunks: 64 });
    // Keys from the worker's chunks: the main connection's part goes negative, the sum is right.
    assert.equal(take(main, 3).length, 3);
    store(sup, 'b2');
    main.noteSupply('kme-b', sup.supplyNote('kme-b'));
    assert.deepEqual(main.level('kme-b'), { mineBytes: 125 * 32, mineChunks: 125, theirChunks: 128 });
    // The supply connection counts the main one's chunks against the per-peer limit.
    store(main, 'b3');
    assert.equal(main.chunkIds().length, 3 * 128 - 3);
    sup.close();
    main.close();
    const again = KeyStore.open({ path, keyring: ring });
    assert.deepEqual(again.level('kme-b'), { mineBytes: 189 * 32, mineChunks: 189, theirChunks: 192 });
    assert.equal(again.chunkIds().length, 189 + 192);
    again.close();
  } finally {
    ring.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the supply worker thread stores a device file with its own connection and reports the level', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-supply-thread-'));
  const path = join(dir, 'kme-a.db');
  const file = join(dir, 'keys.jsonl');
  const lines = Array.from({ length: 6 }, (_, i) => {
    const b = testBlock(9, `t-${i}`, 4096);
    return JSON.stringify({ block_id: b.blockId, key_hex: Buffer.from(b.key).toString('hex') });
  });
  writeFileSync(file, `${lines.join('\n')}\nnot json\n`);
  const ring = Keyring.generate();
  const main = KeyStore.open({ path, keyring: ring });
  const notes: SupplyNote[] = [];
  const errors: string[] = [];
  const thread = startSupplyThread({
    store: main,
    path,
    files: [{ path: file, self: 'kme-a', peer: 'kme-b', follow: true }],
    onNote: (peer, n) => {
      main.noteSupply(peer, n);
      notes.push(n);
    },
    onError: (e) => errors.push(e.message),
  });
  try {
    assert.equal(main.supplyWriter, true);
    for (let i = 0; i < 300 && main.level('kme-b').theirChunks < 6 * 64; i++) await sleep(50);
    assert.deepEqual(main.level('kme-b'), {
      mineBytes: 6 * 64 * 32,
      mineChunks: 6 * 64,
      theirChunks: 6 * 64,
    });
    assert.equal(main.chunkIds().length, 6 * 128);
    assert.ok(notes.length >= 1);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /keys\.jsonl:7: not valid JSON/);
    assert.equal(main.supplyOffset(file)?.line, 6, 'the mark is after the last stored line');
  } finally {
    await thread.stop();
    assert.equal(main.supplyWriter, false, 'checkpoints return to the main connection');
    main.close();
    ring.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a store-key rotation while the worker supplies: new rows under the new key, none left under the old one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-supply-rotate-'));
  const path = join(dir, 'kme-a.db');
  const file = join(dir, 'keys.jsonl');
  const line = (i: number) => {
    const b = testBlock(11, `r-${i}`, 4096);
    return `${JSON.stringify({ block_id: b.blockId, key_hex: Buffer.from(b.key).toString('hex') })}\n`;
  };
  writeFileSync(file, line(0));
  const v1 = Keyring.generate();
  const v2 = v1.withNewKey();
  const main = KeyStore.open({ path, keyring: v1 });
  const thread = startSupplyThread({
    store: main,
    path,
    files: [{ path: file, self: 'kme-a', peer: 'kme-b', follow: true }],
    onNote: (peer, n) => main.noteSupply(peer, n),
    onError: () => {},
  });
  const until = async (chunks: number) => {
    for (let i = 0; i < 300 && main.level('kme-b').theirChunks < chunks; i++) await sleep(50);
    assert.equal(main.level('kme-b').theirChunks, chunks);
  };
  try {
    await until(64);
    main.transaction(() => main.sealing.setKeyring(v2));
    // The next item may still be sealed under v1 (the worker learns the key after its next commit).
    for (let i = 1; i <= 4; i++) {
      appendFileSync(file, line(i));
      await until(64 * (i + 1));
    }
    // The worker took the new key: the last items were sealed under v2 before any re-sealing.
    const peek = new Database(path, { readonly: true });
    const underV2 = peek
      .prepare(
        // A chunk's bytes: its run's sealed value (./store-runs.ts), or its own for a row without a run.
        'SELECT COUNT(*) AS n FROM chunks c LEFT JOIN chunk_runs r ON r.seq = c.run WHERE substr(COALESCE(r.material, c.material), 1, 5) = ?',
      )
      .get(Buffer.from([1, 0, 0, 0, 2])) as { n: number };
    peek.close();
    assert.ok(underV2.n >= 128, `${underV2.n} rows under v2`);
    while (main.sealing.rotating) main.transaction(() => main.sealing.rekeyStep(100));
  } finally {
    await thread.stop();
  }
  try {
    // Only v2 is needed now: the store opens without v1, and every key can be formed (rows authenticate).
    main.close();
    const only2 = KeyStore.open({ path, keyring: v2.only([2]) });
    assert.equal(
      only2.takeForMaster({
        peer: 'kme-b',
        master: 'sae-a',
        slaves: ['sae-b'],
        localSlaves: [],
        number: 5 * 64,
        sizeBits: 256,
        nowMs: 0,
      }).length,
      5 * 64,
    );
    only2.close();
  } finally {
    v1.destroy();
    v2.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
