/**
 * Slave copies delivered without an fsync of their own (./slave-copies.ts), on real SQLite files: a copy
 * whose reservation is on disk is delivered after its COMMIT alone (the WAL fsync is held back and the
 * answer still comes); a power loss (the files as they were at the last fsync, reopened in another boot)
 * discards every received copy, so the one delivered lazily is never handed out again; a killed process
 * (same boot, files as left) and a clean close followed by a reboot discard nothing. A long push is
 * applied in slices, one group-commit batch each, made durable by one fsync before it is answered; the
 * owner sends a long outbox as several pushes of at most PUSH_MAX_RESERVATIONS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isQkdnetError } from '../common/index.ts';
import { KmeCore, PUSH_MAX_RESERVATIONS } from './core.ts';
import { reservationOf, testBlock } from './kme-pair.fixture.ts';
import { mustDiscardArmed } from './slave-copies.ts';
import { KeyStore } from './store.ts';
import { APPLY_SLICE_RESERVATIONS, SqliteBackend } from './store-backend.ts';
import { chunksFor } from './supply.ts';

const now = 1_700_000_000_000;

/** Copies the store's files as they are on disk now (database and WAL) to `to` (a power-loss image). */
function image(from: string, to: string): void {
  for (const ext of ['', '-wal']) if (existsSync(from + ext)) copyFileSync(from + ext, to + ext);
}

/** The slave's KME `b` (store at `path`, boot `boot1`) holding four copies reserved by `a`'s master. */
async function slaveWithCopies(dir: string) {
  const a = KeyStore.open({ path: ':memory:' });
  const path = join(dir, 'b.db');
  const store = KeyStore.open({ path, bootId: 'boot-1', lock: false });
  const blk = testBlock(7, 'blk-0', 1024);
  a.addChunks('kme-b', chunksFor('kme-a', 'kme-b', blk));
  store.addChunks('kme-a', chunksFor('kme-b', 'kme-a', blk));
  const keys = a.takeForMaster({
    peer: 'kme-b',
    master: 'sae-a',
    slaves: ['sae-b'],
    localSlaves: [],
    number: 4,
    sizeBits: 256,
    nowMs: now,
  });
  const b = new SqliteBackend(store);
  assert.deepEqual(
    await b.applyReservations(
      'kme-a',
      keys.map((k) => reservationOf(k)),
      now,
    ),
    [],
  );
  return { a, b, store, path, keys };
}

test('an armed copy is delivered without waiting for an fsync; a power loss then discards it, never serves it twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-slave-copies-'));
  try {
    const { b, store, path, keys } = await slaveWithCopies(dir);
    image(path, join(dir, 'lost.db')); // on disk: the reservations (fdatasynced), nothing after
    // Hold every later fsync back: a delivery that waited for one would never resolve.
    let syncs = 0;
    const realSync = store.syncWal.bind(store);
    store.syncWal = () => {
      syncs++;
      return new Promise<void>(() => undefined);
    };
    const [got] = await b.takeForSlave('sae-b', 'sae-a', [keys[0]!.keyId], now, {});
    assert.deepEqual(Buffer.from(got!.key), Buffer.from(keys[0]!.key));
    assert.equal(syncs, 0, 'the armed delivery asked for an fsync');
    store.syncWal = realSync;
    // The key is gone for good in this process.
    await assert.rejects(b.takeForSlave('sae-b', 'sae-a', [keys[0]!.keyId], now, {}), (e) =>
      isQkdnetError(e, 'KMS_KEY_NOT_FOUND'),
    );

    // Power loss: the lazy delivery never reached the disk; the machine boots again.
    const lost = KeyStore.open({ path: join(dir, 'lost.db'), bootId: 'boot-2', lock: false });
    assert.equal(lost.armedDiscardedAtStart, 4);
    assert.equal(new SqliteBackend(lost).discardedAtStart, 4);
    assert.throws(
      () => lost.takeForSlave('sae-b', 'sae-a', [keys[0]!.keyId], now),
      (e) => isQkdnetError(e, 'KMS_KEY_NOT_FOUND'),
    );
    assert.equal(lost.pendingKeyCount(), 0);
    lost.close();

    // A killed process in the same boot: the committed delivery is in the WAL; nothing is discarded.
    image(path, join(dir, 'killed.db'));
    const killed = KeyStore.open({ path: join(dir, 'killed.db'), bootId: 'boot-1', lock: false });
    assert.equal(killed.armedDiscardedAtStart, 0);
    assert.throws(
      () => killed.takeForSlave('sae-b', 'sae-a', [keys[0]!.keyId], now),
      (e) => isQkdnetError(e, 'KMS_KEY_NOT_FOUND'),
    );
    const rest = keys.slice(1).map((k) => k.keyId);
    const again = killed.takeForSlave('sae-b', 'sae-a', rest, now);
    assert.deepEqual(
      again.map((k) => Buffer.from(k.key).toString('hex')),
      keys.slice(1).map((k) => Buffer.from(k.key).toString('hex')),
    );
    killed.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a clean close records it: a reboot then discards nothing; a copy not yet on disk is delivered durably', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-slave-copies-'));
  try {
    const { store, path, keys } = await slaveWithCopies(dir);
    store.close();
    const reopened = KeyStore.open({ path, bootId: 'boot-2', lock: false });
    assert.equal(reopened.armedDiscardedAtStart, 0);
    assert.equal(reopened.pendingKeyCount(), 4);
    reopened.close();

    // A reservation whose fsync has not returned yet: its copy waits for an fsync like any write.
    const { a, b, store: s2 } = await slaveWithCopies(mkdtempSync(join(dir, 'second-')));
    const [k] = a.takeForMaster({
      peer: 'kme-b',
      master: 'sae-a',
      slaves: ['sae-b'],
      localSlaves: [],
      number: 1,
      sizeBits: 256,
      nowMs: now,
    });
    const realSync = s2.syncWal.bind(s2);
    let release = () => {};
    s2.syncWal = () => new Promise<void>((r) => (release = () => void realSync().then(r)));
    const applied = b.applyReservations('kme-a', [reservationOf(k!)], now);
    const taken = b.takeForSlave('sae-b', 'sae-a', [k!.keyId], now, {});
    let done = false;
    void taken.then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false, 'a copy whose reservation is not on disk was delivered before an fsync');
    release();
    await applied;
    assert.equal((await taken).length, 1);
    s2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a push of 100 reservations is applied in slices over several batches, one fsync, answered and armed after it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-slave-copies-'));
  try {
    const a = KeyStore.open({ path: ':memory:' });
    const store = KeyStore.open({ path: join(dir, 'b.db'), bootId: 'boot-1', lock: false });
    const blk = testBlock(7, 'blk-0', 8192); // 256 chunks, 128 of them a's
    a.addChunks('kme-b', chunksFor('kme-a', 'kme-b', blk));
    store.addChunks('kme-a', chunksFor('kme-b', 'kme-a', blk));
    const take = { peer: 'kme-b', master: 'sae-a', slaves: ['sae-b'], localSlaves: [], sizeBits: 256 };
    const keys = a.takeForMaster({ ...take, number: 100, nowMs: now });
    const rs = keys.map((k) => reservationOf(k));
    // One reservation in the third slice names a chunk b never received: refused alone.
    const bad = { ...rs[70]!, chunkIds: ['00000000-0000-4000-8000-000000000000'] };
    rs[70] = bad;
    const b = new SqliteBackend(store);
    const realSync = store.syncWal.bind(store);
    let syncs = 0;
    let release = () => {};
    store.syncWal = () => {
      syncs++;
      return new Promise<void>((r) => (release = () => void realSync().then(r)));
    };
    const batches0 = b.stats().batches;
    let answered = false;
    const applied = b.applyReservations('kme-a', rs, now).then((refused) => ((answered = true), refused));
    // Every slice is committed in its own batch, the event loop free in between.
    const slices = Math.ceil(rs.length / APPLY_SLICE_RESERVATIONS);
    assert.ok(slices >= 4);
    for (let i = 0; i < 20 && b.stats().batches - batches0 < slices; i++)
      await new Promise((r) => setImmediate(r));
    assert.equal(b.stats().batches - batches0, slices);
    assert.equal(syncs, 1, 'one fsync for the whole push');
    assert.equal(answered, false, 'the push was answered before its fsync returned');
    release();
    assert.deepEqual(await applied, [bad.keyId]);
    assert.equal(store.pendingKeyCount(), 99);
    // Armed: the first slice's copy is delivered without an fsync of its own.
    store.syncWal = () => {
      syncs++;
      return new Promise<void>(() => undefined);
    };
    const [got] = await b.takeForSlave('sae-b', 'sae-a', [keys[0]!.keyId], now, {});
    assert.deepEqual(Buffer.from(got!.key), Buffer.from(keys[0]!.key));
    assert.equal(syncs, 1);
    // Applying the same push again (the peer re-sends after a crash) changes nothing: the delivered copy
    // does not come back.
    store.syncWal = realSync;
    assert.deepEqual(await b.applyReservations('kme-a', rs, now), [bad.keyId]);
    assert.equal(store.pendingKeyCount(), 98);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an outbox of 2,500 reservations travels in pushes of at most PUSH_MAX_RESERVATIONS, each cleared once acknowledged', async () => {
  const store = KeyStore.open({ path: ':memory:' });
  store.addChunks('kme-b', chunksFor('kme-a', 'kme-b', testBlock(7, 'blk-0', 2500 * 64)));
  const take = {
    peer: 'kme-b',
    master: 'sae-a',
    slaves: ['sae-b'],
    localSlaves: [],
    remoteSlaves: ['sae-b'],
  };
  store.takeForMaster({ ...take, number: 2500, sizeBits: 256, nowMs: now });
  const sizes: number[] = [];
  const peer = {
    send: async (_p: string, rs: readonly unknown[]) => (sizes.push(rs.length), []),
    lookup: async () => [],
    close: () => {},
  };
  const cfg = {
    id: 'kme-a',
    tls: { cert: 'x', key: 'x', ca: 'x' },
    store: 'unused',
    saes: [{ id: 'sae-a' }],
    peers: [{ id: 'kme-b', url: 'https://127.0.0.1:1', saes: ['sae-b'] }],
  };
  const core = new KmeCore(cfg, store, peer);
  core.pushReservations('kme-b');
  for (let i = 0; i < 200 && store.outbox('kme-b', 1).length > 0; i++)
    await new Promise((r) => setTimeout(r, 10));
  assert.equal(store.outbox('kme-b', 1).length, 0, 'the outbox was not emptied');
  assert.deepEqual(sizes, [PUSH_MAX_RESERVATIONS, PUSH_MAX_RESERVATIONS, 2500 - 2 * PUSH_MAX_RESERVATIONS]);
  core.stop();
  store.close();
});

test('which openings discard: only an unclean stop followed by another boot (or an unknown one)', () => {
  assert.equal(mustDiscardArmed({ boot: undefined, clean: false }, 'b1'), false);
  assert.equal(mustDiscardArmed({ boot: 'b1', clean: true }, 'b2'), false);
  assert.equal(mustDiscardArmed({ boot: 'b1', clean: false }, 'b1'), false);
  assert.equal(mustDiscardArmed({ boot: 'b1', clean: false }, 'b2'), true);
  assert.equal(mustDiscardArmed({ boot: 'b1', clean: false }, ''), true);
});
