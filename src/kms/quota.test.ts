// Per-SAE quotas through the KME core: one SAE cannot drain the share another reserved; a rate-limited
// SAE is refused past its burst and nothing is consumed for the refused request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isQkdnetError } from '../common/index.ts';
import { KmeCore } from './core.ts';
import { SaeQuotas } from './quota.ts';
import { KeyStore } from './store.ts';
import { chunksFor } from './supply.ts';
import { testBlock } from './kme-pair.fixture.ts';

function core() {
  const store = KeyStore.open({ path: ':memory:' });
  store.addChunks('kme-b', chunksFor('kme-a', 'kme-b', testBlock(9, 'quota', 4096))); // 2048 bytes mine
  const cfg = {
    id: 'kme-a',
    tls: { cert: 'x', key: 'x', ca: 'x' },
    store: ':memory:',
    saes: [
      { id: 'sae-a' },
      { id: 'sae-c', quota: { reserveBits: 4096 } },
      { id: 'sae-r', quota: { bitsPerSecond: 8, burstBits: 512 } },
    ],
  };
  return { c: new KmeCore(cfg, store), store };
}

test('one SAE cannot drain the pool share another SAE reserved', async () => {
  const { c, store } = core();
  let refused: unknown;
  for (let i = 0; i < 100 && refused === undefined; i++)
    await c.encKeys('sae-a', 'sae-c', { number: 4, sizeBits: 256 }).catch((e: unknown) => (refused = e));
  assert.ok(isQkdnetError(refused, 'KMS_QUOTA_EXCEEDED'), String(refused));
  assert.ok(store.level('kme-b').mineBytes * 8 >= 4096, 'the reserve is still in the pool');
  const mine = await c.encKeys('sae-c', 'sae-a', { number: 16, sizeBits: 256 }); // all 4096 reserved bits
  assert.equal(mine.length, 16);
  c.stop();
  store.close();
});

test('a rate-limited SAE is refused past its burst, and the refused request consumes nothing', async () => {
  const { c, store } = core();
  await c.encKeys('sae-r', 'sae-a', { number: 2, sizeBits: 256 }); // 512 bits: the whole burst
  const before = store.level('kme-b').mineBytes;
  await assert.rejects(c.encKeys('sae-r', 'sae-a', { number: 1, sizeBits: 8 }), /rate of 8 bits\/s/);
  assert.equal(store.level('kme-b').mineBytes, before);
  await c.encKeys('sae-a', 'sae-r', { number: 1, sizeBits: 256 }); // others are not limited by it
  c.stop();
  store.close();
});

test('token bucket: refills at the rate, never above the burst; a refund restores what was taken', () => {
  const q = new SaeQuotas({ saes: [{ id: 's', quota: { bitsPerSecond: 1000, burstBits: 2000 } }] });
  q.charge('s', 2000, 0);
  assert.throws(() => q.charge('s', 8, 0), /available in 8 ms/);
  q.charge('s', 1000, 1000);
  const refund = q.charge('s', 1000, 2000);
  refund();
  q.charge('s', 2000, 100_000);
  assert.throws(() => q.charge('s', 2001, 1e9), /at most 2000 bits/);
  assert.equal(q.keepFor('s'), 0);
});
