/**
 * Chunks in sealed runs (./store-runs.ts) on real SQLite files with a store key: a used chunk's bytes
 * leave the sealed run (read back with the key, not through the store), a run goes with its last chunk,
 * a chunk row changed outside qkdnet is refused, and a store written before runs opens and serves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { isQkdnetError } from '../common/index.ts';
import { KeyStore } from './store.ts';
import { Keyring, rowAd } from './store-crypto.ts';
import { chunksFor } from './supply.ts';
import { reservationOf, testBlock } from './kme-pair.fixture.ts';
import { SLOT_BYTES, type ManifestEntry } from './store-runs.ts';

const now = 1_700_000_000_000;

function withStores(fn: (dir: string, ring: Keyring) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-runs-'));
  const ring = Keyring.generate();
  try {
    fn(dir, ring);
  } finally {
    ring.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

const take = (s: KeyStore, peer: string, master: string, number: number) =>
  s.takeForMaster({ peer, master, slaves: ['x'], localSlaves: [], number, sizeBits: 256, nowMs: now });

/** Every run of the store file at `path`, opened with `ring` (outside the store). */
function runsOf(path: string, ring: Keyring) {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT * FROM chunk_runs').all() as {
      seq: number;
      peer: string;
      live: number;
      manifest: string;
      material: Buffer;
    }[];
    return rows.map((r) => ({
      live: r.live,
      manifest: JSON.parse(r.manifest) as ManifestEntry[],
      plain: ring.open(r.material, rowAd('chunk_runs', r.seq, r.peer, r.manifest)),
    }));
  } finally {
    db.close();
  }
}

test('a run is sealed once for its chunks; used chunks are zeroed in it and it goes with its last chunk', () => {
  withStores((dir, ring) => {
    const a = KeyStore.open({ path: join(dir, 'a.db'), keyring: ring });
    const b = KeyStore.open({ path: join(dir, 'b.db'), keyring: ring });
    const blk = testBlock(21, 'run-0', 1024); // 32 chunks: one run at each end
    assert.equal(a.addChunks('kme-b', chunksFor('kme-a', 'kme-b', blk)), 32);
    assert.equal(b.addChunks('kme-a', chunksFor('kme-b', 'kme-a', blk)), 32);
    const [before] = runsOf(join(dir, 'a.db'), ring);
    assert.equal(before!.live, 32);
    assert.deepEqual(Buffer.from(before!.plain), Buffer.from(blk.key));
    // A serves 3 keys (its chunks 0, 2, 4); B applies the reservations.
    const ks = take(a, 'kme-b', 'sae-a', 3);
    for (const k of ks) b.applyReservation('kme-a', reservationOf(k, 'sae-a', ['x']), now);
    for (const path of ['a.db', 'b.db']) {
      const [r] = runsOf(join(dir, path), ring);
      assert.equal(r!.live, 29);
      for (let i = 0; i < 32; i++) {
        const slot = r!.plain.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES);
        const want = [0, 2, 4].includes(i)
          ? Buffer.alloc(SLOT_BYTES)
          : Buffer.from(blk.key.subarray(i * 32, i * 32 + 32));
        assert.deepEqual(Buffer.from(slot), want, `${path} slot ${i}`);
      }
    }
    // Every chunk used at both ends (A's half by A, B's half by B): the runs are gone.
    const restA = take(a, 'kme-b', 'sae-a', 13);
    const restB = take(b, 'kme-a', 'sae-b', 16);
    b.applyReservations(
      'kme-a',
      restA.map((k) => reservationOf(k, 'sae-a', [])),
      now,
    );
    assert.deepEqual(
      a.applyReservations(
        'kme-b',
        restB.map((k) => reservationOf(k, 'sae-b', [])),
        now,
      ),
      [],
    );
    a.close();
    b.close();
    assert.deepEqual(runsOf(join(dir, 'a.db'), ring), []);
    assert.deepEqual(runsOf(join(dir, 'b.db'), ring), []);
  });
});

test('a chunk row changed outside qkdnet (owner flag, slot) is refused, never served from another slot', () => {
  withStores((dir, ring) => {
    const path = join(dir, 'a.db');
    let a = KeyStore.open({ path, keyring: ring });
    a.addChunks('kme-b', chunksFor('kme-a', 'kme-b', testBlock(22, 'run-1', 256)));
    const first = a.chunkIds()[0]!;
    const second = a.chunkIds()[1]!;
    a.close();
    for (const edit of [
      // The peer's chunk 1 claimed as ours: its manifest entry says otherwise.
      `UPDATE chunks SET mine = 1 WHERE id = '${second}'`,
      // Our chunk 0 pointed at the peer's slot 1.
      `UPDATE chunks SET slot = 1 WHERE id = '${first}'`,
      // The manifest rewritten to match: it is bound to the sealed value.
      `UPDATE chunk_runs SET manifest = replace(manifest, '"${second}",0', '"${second}",1')`,
    ]) {
      const db = new Database(path);
      assert.equal(db.prepare(edit).run().changes, 1);
      db.close();
      a = KeyStore.open({ path, keyring: ring });
      assert.throws(
        () => take(a, 'kme-b', 'sae-a', 4),
        (e: unknown) => isQkdnetError(e) && e.code === 'KMS_STORE_FAILED',
      );
      assert.equal(a.deliveries().length, 0);
      a.close();
      // Undo for the next case (the file is otherwise untouched: the take rolled back).
      const undo = new Database(path);
      undo.exec(`UPDATE chunks SET mine = 0 WHERE id = '${second}'`);
      undo.exec(`UPDATE chunks SET slot = 0 WHERE id = '${first}'`);
      undo.exec(`UPDATE chunk_runs SET manifest = replace(manifest, '"${second}",1', '"${second}",0')`);
      undo.close();
    }
    a = KeyStore.open({ path, keyring: ring });
    assert.equal(take(a, 'kme-b', 'sae-a', 4).length, 4);
    a.close();
  });
});

test('a store written before runs (chunk rows with their own bytes, no pools) opens under a store key and serves its chunks, then runs', () => {
  withStores((dir, ring) => {
    const path = join(dir, 'old.db');
    // The chunks table as the first schema had it, plaintext rows, nothing else.
    const old = new Database(path);
    old.exec(`CREATE TABLE chunks (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, peer TEXT NOT NULL, mine INTEGER NOT NULL,
      material BLOB NOT NULL, prov_rank INTEGER NOT NULL, path TEXT NOT NULL, exposed TEXT NOT NULL,
      block_id TEXT NOT NULL)`);
    const blk = testBlock(23, 'old-0', 512);
    const cs = chunksFor('kme-a', 'kme-b', blk);
    const ins = old.prepare(
      'INSERT INTO chunks (id, peer, mine, material, prov_rank, path, exposed, block_id) VALUES (?,?,?,?,0,?,?,?)',
    );
    for (const c of cs)
      ins.run(c.id, 'kme-b', c.mine ? 1 : 0, c.material, '["kme-a","kme-b"]', '["kme-a","kme-b"]', 'old-0');
    old.close();
    let a = KeyStore.open({ path, keyring: ring });
    assert.deepEqual(a.level('kme-b'), { mineBytes: 256, mineChunks: 8, theirChunks: 8 });
    // Its rows were sealed at open (none holds a key's bytes in the clear).
    const peek = new Database(path, { readonly: true });
    for (const r of peek.prepare('SELECT material FROM chunks').all() as { material: Buffer }[])
      assert.equal(r.material[0], 0x01);
    peek.close();
    a.addChunks('kme-b', chunksFor('kme-a', 'kme-b', testBlock(24, 'new-0', 512)));
    a.close();
    a = KeyStore.open({ path, keyring: ring });
    const ks = take(a, 'kme-b', 'sae-a', 16);
    assert.deepEqual(
      ks.slice(0, 8).map((k) => Buffer.from(k.key)),
      cs.filter((c) => c.mine).map((c) => Buffer.from(c.material)),
    );
    assert.deepEqual(new Set(ks.flatMap((k) => k.meta.blockIds)), new Set(['old-0', 'new-0']));
    assert.equal(a.level('kme-b').mineBytes, 0);
    a.close();
  });
});
