// Erasure at both ends of a link, over two real KMEs with mutual TLS (A serves sae-a and sae-c, B serves
// sae-b and sae-d): a key A serves to a pair of its own SAEs is erased at B too; a relay link key whose
// message never got through is erased at the peer (erase notice); an orphaned relay link key is
// reclaimed by age; an erase notice that arrives before B's copy leaves a tombstone; supply dropped at the per-peer limit raises an alert and a metric.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alert } from '../common/index.ts';
import { Etsi014Client } from './client.ts';
import { RELAY_ORPHAN_TTL_MS } from './core.ts';
import { chunksFor } from './supply.ts';
import { startKme, type KmeHandle } from './server.ts';
import { makeTestPki, startPair, testBlock, type TestPki } from './kme-pair.fixture.ts';
import { relayLinkTake } from './tombstone.fixture.ts';

let pki: TestPki;
let pair: Awaited<ReturnType<typeof startPair>>;

before(async () => {
  pki = await makeTestPki();
  pair = await startPair(pki);
});
after(async () => {
  await pair.close();
  pki.cleanup();
});

/** Resolves once `cond()` holds (checked every 10 ms); rejects after `ms`. */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A relay link key A takes for B (its reservation stays in A's outbox). */
function relayLinkKey(a: KmeHandle): string {
  const [k] = a.store.takeForMaster(relayLinkTake(Date.now()));
  return k!.keyId;
}

test('a key A serves to two of its own SAEs is erased at B as well (erase notice), and still reaches the slave', async () => {
  const { a, b } = pair;
  const master = Etsi014Client.fromFiles(a.url, pki.tls('sae-a'));
  const slave = Etsi014Client.fromFiles(a.url, pki.tls('sae-c'));
  try {
    const keys = await master.getKeys('sae-c', { number: 3 });
    const ids = keys.map((k) => k.keyId); // one 256-bit chunk each: key_ID = chunk ID
    for (const id of ids) assert.equal(a.store.chunkIds().includes(id), false);
    await until(() => ids.every((id) => !b.store.chunkIds().includes(id)), 'B erased its copies');
    assert.equal(
      b.store.keyIds().some((id) => ids.includes(id)),
      false,
      'B keeps no key for them',
    );
    await until(() => a.store.outbox('kme-b', 10).length === 0, 'B acknowledged the notices');
    const got = await slave.getKeysWithIds('sae-a', ids);
    assert.deepEqual(
      got.map((k) => k.key),
      keys.map((k) => k.key),
    );
  } finally {
    master.close();
    slave.close();
  }
});

test('erase notice before B has its copy (live, both KMEs): B keeps a tombstone and drops the copy when it arrives, counted in the metric', async () => {
  const fresh = await startPair(pki, { blocks: 0 });
  const { a, b } = fresh;
  const late = testBlock(9, 'late-at-b', 1024);
  const lateIds = new Set(chunksFor('kme-a', 'kme-b', late).map((c) => c.id));
  a.supply('kme-b', late);
  await a.settled();
  const master = Etsi014Client.fromFiles(a.url, pki.tls('sae-a'));
  try {
    const keys = await master.getKeys('sae-c', { number: 8 });
    await until(() => a.store.outbox('kme-b', 100).length === 0, 'B acknowledged the notices');
    const early = keys.map((k) => k.keyId);
    assert.ok(early.every((id) => lateIds.has(id)));
    // Every served key has a tombstone at B (a lease may have formed a few more keys in advance: those
    // are erased at B as well, since A never serves them twice).
    const tombs = b.store.tombstoneIds();
    assert.ok(early.every((id) => tombs.includes(id)));
    b.supply('kme-a', late);
    await b.settled();
    for (const id of early) assert.equal(b.store.chunkIds().includes(id), false);
    assert.equal(b.store.erasedOnArrival('kme-a'), tombs.length);
    assert.deepEqual(b.store.tombstoneIds(), []);
    assert.match(
      await b.metrics.registry.metrics(),
      new RegExp(
        `qkdnet_kme_supply_erased_on_arrival_chunks_total\\{peer="kme-a",kme="kme-b"\\} ${tombs.length}`,
      ),
    );
  } finally {
    master.close();
    await fresh.close();
  }
});

test('a relay hop whose message never got through: the reservation becomes an erase notice, B erases its copy', async () => {
  const { a, b } = pair;
  const id = relayLinkKey(a);
  assert.equal(b.store.chunkIds().includes(id), true, 'B still holds its copy');
  a.core.abandonReservation('kme-b', id);
  await until(() => !b.store.chunkIds().includes(id), 'B erased the abandoned link key');
  assert.equal(b.store.keyIds().includes(id), false);
  await until(() => a.store.outbox('kme-b', 10).length === 0, 'the notice was acknowledged');
});

test('an orphaned relay link key (reservation applied, never fetched) is reclaimed after RELAY_ORPHAN_TTL_MS only', async () => {
  const { a, b } = pair;
  const id = relayLinkKey(a);
  a.core.pushReservations('kme-b'); // e.g. re-sent after a crash: B forms the key, nobody fetches it
  await until(() => b.store.keyIds().includes(id), 'B applied the relay reservation');
  assert.equal(await b.core.reclaimOrphans(Date.now()), 0, 'a fresh relay key is not an orphan yet');
  assert.equal(await b.core.reclaimOrphans(Date.now() + RELAY_ORPHAN_TTL_MS + 1), 1);
  assert.equal(b.store.keyIds().includes(id), false);
});

test('supply dropped at the per-peer limit raises a supply-dropped alert and counts in the metric', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-drop-'));
  const kme = await startKme({
    id: 'kme-a',
    tls: pki.tls('kme-a'),
    store: join(dir, 'a.db'),
    saes: [{ id: 'sae-a' }],
    peers: [{ id: 'kme-b', url: 'https://127.0.0.1:1', saes: ['sae-b'] }],
    keys: { maxChunksPerPeer: 100 },
    logLevel: 'silent',
  });
  try {
    const alerts: Alert[] = [];
    kme.core.onAlert((x) => alerts.push(x));
    assert.equal(kme.supply('kme-b', testBlock(3, 'drop-1', 4096)), 100); // 128 chunks offered
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.kind, 'supply-dropped');
    assert.equal(alerts[0]!.linkId, 'kme-b');
    assert.equal(alerts[0]!.evidence.value, 28);
    const text = await kme.metrics.registry.metrics();
    assert.match(text, /qkdnet_kme_supply_dropped_chunks_total\{peer="kme-b",kme="kme-a"\} 28/);
    kme.supply('kme-b', testBlock(3, 'drop-2', 64));
    assert.equal(alerts.length, 2);
    assert.match(await kme.metrics.registry.metrics(), /dropped_chunks_total\{peer="kme-b",kme="kme-a"\} 30/);
  } finally {
    await kme.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
