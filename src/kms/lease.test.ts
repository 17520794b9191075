import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmeCore } from './core.ts';
import { LEASE_SLICE_KEYS, LeaseBook } from './lease.ts';
import { createKmeMetrics } from './metrics.ts';
import { SqliteBackend, type KeyBackend } from './store-backend.ts';
import { KeyStore } from './store.ts';
import { chunksFor } from './supply.ts';
import { testBlock } from './kme-pair.fixture.ts';

const cfg = {
  id: 'kme-a',
  tls: { cert: 'x', key: 'x', ca: 'x' },
  store: 'unused',
  saes: [{ id: 'sae-a' }, { id: 'sae-c' }],
  peers: [{ id: 'kme-b', url: 'https://127.0.0.1:1', saes: ['sae-b'] }],
};

test('a stop without close discards the unconfirmed leased keys: counted, logged, in the metric, never served', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-lease-'));
  const path = join(dir, 'a.db');
  try {
    const first = KeyStore.open({ path, lock: false });
    first.addChunks('kme-b', chunksFor('kme-a', 'kme-b', testBlock(1, 'l-1', 4096)));
    const take = { peer: 'kme-b', master: 'sae-a', slaves: ['sae-c'], localSlaves: ['sae-c'] };
    const leased = first.leaseForMaster({ ...take, number: 10, sizeBits: 256, nowMs: 1 });
    first.confirmLeased(
      'sae-a',
      leased.slice(0, 3).map((k) => k.keyId),
      2,
    );
    assert.throws(() => first.confirmLeased('sae-a', [leased[0]!.keyId], 3), /not leased/);
    // The process "dies": the first handle is never closed; a new one opens the same file.
    const warnings: string[] = [];
    const second = KeyStore.open({ path, lock: false });
    const core = new KmeCore(cfg, second, undefined, {
      warn: (_o, m) => warnings.push(m),
      error: () => {},
    });
    assert.equal(core.discardedAtStart, 7);
    assert.match(warnings.join('\n'), /discarded 7 leased keys/);
    assert.match(
      await createKmeMetrics(core).registry.metrics(),
      /qkdnet_kme_leased_keys_discarded_total\{kme="kme-a"\} 7/,
    );
    const log = second.deliveries();
    assert.deepEqual(
      log.filter((d) => d.role === 'master').map((d) => d.keyId),
      leased.slice(0, 3).map((k) => k.keyId),
    );
    // The discarded keys' copies for the local slave are gone; the confirmed ones remain fetchable.
    const waiting = new Set(second.keyIds());
    for (const k of leased.slice(3)) assert.ok(!waiting.has(k.keyId));
    for (const k of leased.slice(0, 3)) assert.ok(waiting.has(k.keyId));
    // Their chunks never come back: every key served from now on is new.
    const later = await core.encKeys('sae-a', 'sae-c', { number: 20 });
    const old = new Set(leased.map((k) => k.keyId));
    for (const k of later) assert.ok(!old.has(k.keyId));
    // What a stop now would discard is at least what the lease holds unserved (a refill may be syncing).
    const unserved = core.leases.leasedBits('sae-a', 'sae-c') / 256;
    assert.ok(second.discardLeased(4) >= unserved);
    core.stop();
    second.close();
    first.close(); // cleanup only: the "dead" handle wrote nothing since
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an answer from a lease is confirmed before the lease is topped up, never behind the top-up in one batch', async () => {
  const calls: string[] = [];
  let n = 0;
  const fake = {
    level: () => ({ mineChunks: 1000 }),
    leaseForMaster: async (req: { number: number }) => {
      calls.push(`lease ${req.number}`);
      return Array.from({ length: req.number }, () => ({
        keyId: `k-${++n}`,
        key: new Uint8Array(32),
        sizeBits: 256,
        chunkIds: [],
        offset: 0,
        chunks: [],
        meta: { provenance: 'qkd' },
      }));
    },
    confirmLeased: async (_m: string, ids: readonly string[]) => {
      calls.push(`confirm ${ids.join(',')}`);
    },
    leaseSliceKeys: Infinity,
  };
  const book = new LeaseBook(fake as unknown as KeyBackend, () => {});
  const take = { peer: 'kme-b', master: 'sae-a', slaves: ['sae-b'], localSlaves: [], sizeBits: 256 };
  const [k] = await book.serve(take, 1);
  assert.equal(k!.keyId, 'k-1');
  await new Promise((r) => setImmediate(r));
  // The first lease, then this answer's confirmation, and only then the top-up (the lease ran empty).
  assert.deepEqual(calls, ['lease 1', 'confirm k-1', 'lease 2']);
  for (let i = 0; i < 30; i++) await book.serve(take, 1);
  await new Promise((r) => setImmediate(r));
  // A role that keeps asking gets longer leases (the target doubles at every top-up): 31 keys from six
  // formations, not one formation every other request.
  assert.deepEqual(
    calls.filter((c) => c.startsWith('lease')),
    ['lease 1', 'lease 2', 'lease 4', 'lease 8', 'lease 16', 'lease 32'],
  );
});

test('a long lease is formed in slices, one group-commit batch each, made durable by one sync after the last', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-lease-'));
  const path = join(dir, 'a.db');
  try {
    const store = KeyStore.open({ path, lock: false });
    for (const b of ['s-1', 's-2'])
      store.addChunks('kme-b', chunksFor('kme-a', 'kme-b', testBlock(2, b, 8192)));
    const backend = new SqliteBackend(store);
    const events: string[] = [];
    const sync = store.syncWal.bind(store);
    store.syncWal = () => {
      events.push('sync');
      return sync();
    };
    const form = backend.leaseForMaster.bind(backend);
    let failAt = -1;
    const formed: Uint8Array[] = [];
    backend.leaseForMaster = async (req, durable) => {
      events.push(`slice ${req.number}${durable === false ? '' : ' durable'}`);
      if (events.filter((e) => e.startsWith('slice')).length === failAt) throw new Error('disk gone');
      const keys = await form(req, durable);
      formed.push(...keys.map((k) => k.key));
      return keys;
    };
    const book = new LeaseBook(backend, () => {});
    const take = { peer: 'kme-b', master: 'sae-a', slaves: ['sae-c'], localSlaves: ['sae-c'], sizeBits: 256 };
    const n = 2 * LEASE_SLICE_KEYS + 5;
    const before = backend.stats().batches;
    const keys = await book.serve(take, n);
    assert.equal(keys.length, n);
    const s = String(LEASE_SLICE_KEYS);
    // Three slices, each its own batch; only the last synced, and the answer left after that sync.
    assert.deepEqual(events.slice(0, 4), [`slice ${s}`, `slice ${s}`, 'slice 5 durable', 'sync']);
    assert.ok(backend.stats().batches - before >= 3);
    assert.equal(new Set(keys.map((k) => k.keyId)).size, n);
    await new Promise((r) => setTimeout(r, 50)); // let the top-up (started after the answer) finish
    // A slice that fails: the keys of the slices before it are erased and never served; in the store
    // they stay leased (discarded at the next start).
    book.clear();
    const book2 = new LeaseBook(backend, () => {});
    events.length = 0;
    formed.length = 0;
    failAt = 2;
    await assert.rejects(book2.serve(take, n), /disk gone/);
    assert.equal(formed.length, LEASE_SLICE_KEYS);
    for (const k of formed)
      assert.ok(
        k.every((b) => b === 0),
        'a key of a failed lease was not erased',
      );
    assert.deepEqual(events, [`slice ${s}`, `slice ${s}`]);
    assert.ok(store.discardLeased(1) >= LEASE_SLICE_KEYS);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('confirmations that arrive before a batch runs are one operation of it, and each is committed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-lease-'));
  try {
    const store = KeyStore.open({ path: join(dir, 'a.db'), lock: false });
    store.addChunks('kme-b', chunksFor('kme-a', 'kme-b', testBlock(3, 'c-1', 4096)));
    const backend = new SqliteBackend(store);
    const take = { peer: 'kme-b', master: 'sae-a', slaves: ['sae-b'], localSlaves: [], sizeBits: 256 };
    const keys = await backend.leaseForMaster({ ...take, number: 6, nowMs: 1 });
    const batches: number[] = [];
    const runBatch = store.runBatch.bind(store);
    store.runBatch = (ops) => {
      batches.push(ops.length);
      return runBatch(ops);
    };
    const before = backend.stats();
    // Six requests answered in one event-loop turn: one operation (one SAVEPOINT) for all their
    // confirmations; the statistics still count six operations in one batch.
    await Promise.all(keys.map((k) => backend.confirmLeased('sae-a', [k.keyId], 2)));
    assert.deepEqual(batches, [1]);
    const after = backend.stats();
    assert.equal(after.ops - before.ops, 6);
    assert.equal(after.batches - before.batches, 1);
    const delivered = new Set(store.deliveries().map((d) => d.keyId));
    for (const k of keys) assert.ok(delivered.has(k.keyId));
    assert.equal(store.discardLeased(3), 0);
    // A later turn's confirmation forms a group of its own; one that breaks the invariant (a key not
    // leased) fails its whole group, and the next group works again.
    const more = await backend.leaseForMaster({ ...take, number: 2, nowMs: 4 });
    const bad = backend.confirmLeased('sae-a', [keys[0]!.keyId], 5);
    const good = backend.confirmLeased('sae-a', [more[0]!.keyId], 5);
    await assert.rejects(bad, /not leased/);
    await assert.rejects(good, /not leased/);
    await backend.confirmLeased('sae-a', [more[1]!.keyId], 6);
    assert.ok(store.deliveries().some((d) => d.keyId === more[1]!.keyId));
    assert.ok(!store.deliveries().some((d) => d.keyId === more[0]!.keyId));
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
