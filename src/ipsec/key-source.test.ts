import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QkdnetError } from '../common/index.ts';
import { etsi014KeySource, type Etsi014Like } from './key-source.ts';

const ID = '6f1c2a4e-0000-4000-8000-00000000000a';

function fake(over: Partial<Etsi014Like> = {}): Etsi014Like & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    getKeys: async (slave, req) => (
      calls.push(['enc', slave, req]),
      [{ keyId: ID, key: new Uint8Array(32), provenance: 'qkd-relayed' }]
    ),
    getKeysWithIds: async (master, ids) => (
      calls.push(['dec', master, ids]),
      [{ keyId: ID, key: new Uint8Array(32) }]
    ),
    ...over,
  };
}

test('newKey() asks enc_keys for one key naming the peer as slave; keyById() asks dec_keys naming it master', async () => {
  const c = fake();
  const s = etsi014KeySource(c, 'sae-n3iwf');
  const a = await s.newKey(256);
  assert.ok(a.ok);
  assert.equal(a.value.provenance, 'qkd-relayed');
  const b = await s.keyById(ID);
  assert.ok(b.ok);
  assert.equal(b.value.provenance, 'qkd', 'no provenance from the KME means a direct QKD key');
  assert.deepEqual(c.calls, [
    ['enc', 'sae-n3iwf', { number: 1, sizeBits: 256 }],
    ['dec', 'sae-n3iwf', [ID]],
  ]);
});

test('KME errors become failure values, never exceptions', async () => {
  const cases: [unknown, string][] = [
    [new QkdnetError('KMS_KEY_EXHAUSTED', 'Cannot form 1 key: 0 bits stored'), 'exhausted'],
    [new QkdnetError('KMS_PEER_UNAVAILABLE', 'Cannot reach KME'), 'unavailable'],
    [new QkdnetError('KMS_UNAUTHORIZED', 'not a slave'), 'refused'],
    [new QkdnetError('KMS_KEY_NOT_FOUND', 'unknown key_ID'), 'not-found'],
    [new Error('socket hang up'), 'unavailable'],
  ];
  for (const [err, reason] of cases) {
    const s = etsi014KeySource(
      fake({ getKeys: async () => Promise.reject(err), getKeysWithIds: async () => Promise.reject(err) }),
      'p',
    );
    const a = await s.newKey(256);
    const b = await s.keyById(ID);
    assert.ok(!a.ok && a.reason === reason, `${String(err)} → ${reason}`);
    assert.ok(!b.ok && b.reason === reason);
  }
});

test('an empty or mismatched answer is a failure; a size not a multiple of 8 is misuse', async () => {
  const s = etsi014KeySource(
    fake({
      getKeys: async () => [],
      getKeysWithIds: async () => [{ keyId: 'other', key: new Uint8Array(1) }],
    }),
    'p',
  );
  const a = await s.newKey(256);
  assert.ok(!a.ok && a.reason === 'exhausted');
  const b = await s.keyById(ID);
  assert.ok(!b.ok && b.reason === 'not-found');
  await assert.rejects(s.newKey(255), RangeError);
});

test('a client that offers the GET forms is asked through them (no request body for the KME to parse)', async () => {
  const c = fake({
    getKeysByQuery: async (slave, req) => (
      c.calls.push(['enc-get', slave, req]),
      [{ keyId: ID, key: new Uint8Array(32) }]
    ),
    getKeyWithId: async (master, id) => (
      c.calls.push(['dec-get', master, id]),
      [{ keyId: ID, key: new Uint8Array(32) }]
    ),
  });
  const s = etsi014KeySource(c, 'sae-n3iwf');
  assert.ok((await s.newKey(256)).ok);
  assert.ok((await s.keyById(ID)).ok);
  assert.deepEqual(c.calls, [
    ['enc-get', 'sae-n3iwf', { number: 1, sizeBits: 256 }],
    ['dec-get', 'sae-n3iwf', ID],
  ]);
});
