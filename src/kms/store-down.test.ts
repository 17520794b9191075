/**
 * A store that fails mid-request (a PostgreSQL server that went away, a disk error) is KMS_STORE_FAILED —
 * 503 in the Error shape — on every path, never an unexpected 500: here the slave's pull (the key_ID is
 * not known yet, so the KME asks which ones it lacks) and the peer KME's lookup route.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isQkdnetError } from '../common/index.ts';
import { KmeCore } from './core.ts';
import { KeyStore } from './store.ts';
import { SqliteBackend } from './store-backend.ts';

const down = () => Promise.reject(new Error('Connection terminated unexpectedly'));

function slaveCore() {
  const store = KeyStore.open({ path: ':memory:' });
  const backend = new SqliteBackend(store);
  let pulls = 0;
  const peer = {
    send: async () => [],
    lookup: async () => (pulls++, []),
    close: () => {},
  };
  const cfg = {
    id: 'kme-b',
    tls: { cert: 'x', key: 'x', ca: 'x' },
    store: 'unused',
    saes: [{ id: 'sae-b' }],
    peers: [{ id: 'kme-a', url: 'https://127.0.0.1:1', saes: ['sae-a'] }],
  };
  return { core: new KmeCore(cfg, backend, peer), backend, store, pulls: () => pulls };
}

test('the store failing while a slave pulls an unknown key_ID is KMS_STORE_FAILED (503), not a 500', async () => {
  const { core, backend, store, pulls } = slaveCore();
  backend.knows = down;
  const id = '00000000-0000-8000-8000-000000000001';
  await assert.rejects(core.decKeys('sae-b', 'sae-a', [id]), (e) => {
    assert.ok(isQkdnetError(e, 'KMS_STORE_FAILED'), String(e));
    assert.equal((e as { status: number }).status, 503);
    return true;
  });
  assert.equal(pulls(), 0, 'the peer was asked although the store could not say what is missing');
  core.stop();
  store.close();
});

test("the store failing under the peer KME's lookup is KMS_STORE_FAILED (503), not a 500", async () => {
  const { core, backend, store } = slaveCore();
  backend.outbox = down;
  await assert.rejects(core.lookup('kme-a', ['00000000-0000-8000-8000-000000000002']), (e) =>
    isQkdnetError(e, 'KMS_STORE_FAILED'),
  );
  core.stop();
  store.close();
});
