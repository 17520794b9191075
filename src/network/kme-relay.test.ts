import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chunksFor, KeyStore } from '../kms/index.ts';
import { directTransport, keyStoreHopKeys } from './kme-relay.ts';
import { relayInProcess, type HopKeys } from './relay.ts';

/** Real SQLite key stores for nodes A, B, C, D with links A-B, B-C, A-D, D-C, each filled with 4 KiB. */
function network() {
  const stores = new Map(['A', 'B', 'C', 'D'].map((n) => [n, KeyStore.open({ path: ':memory:' })]));
  const links = new Map([
    ['A-B', ['A', 'B']],
    ['B-C', ['B', 'C']],
    ['A-D', ['A', 'D']],
    ['D-C', ['D', 'C']],
  ]);
  for (const [id, [x, y]] of links) {
    const item = {
      blockId: `blk-${id}`,
      key: new Uint8Array(randomBytes(4096)),
      provenance: 'qkd' as const,
      path: [x!, y!],
    };
    stores.get(x!)!.addChunks(y!, chunksFor(x!, y!, item));
    stores.get(y!)!.addChunks(x!, chunksFor(y!, x!, item));
  }
  const now = () => 1_700_000_000_000;
  const transport = directTransport(stores, now);
  const hop = new Map<string, HopKeys>();
  for (const [n, store] of stores) {
    const peerOf = (linkId: string) => links.get(linkId)!.find((m) => m !== n)!;
    hop.set(n, keyStoreHopKeys(n, store, peerOf, transport, now));
  }
  return { stores, at: (n: string) => hop.get(n)! };
}

const rand = (n: number) => new Uint8Array(randomBytes(n));

test('relay through a trusted node over real KME key stores delivers the key and spends link key at both ends', () => {
  const { stores, at } = network();
  const before = stores.get('B')!.level('A').theirChunks + stores.get('B')!.level('A').mineBytes;
  const key = rand(32);
  const r = relayInProcess('k1', key, [{ nodes: ['A', 'B', 'C'], links: ['A-B', 'B-C'] }], at, rand);
  assert.ok(r.ok);
  assert.deepEqual(r.key, key);
  assert.deepEqual(r.views.get('B')![0], key); // single path: the trusted node saw the key
  const after = stores.get('B')!.level('A').theirChunks + stores.get('B')!.level('A').mineBytes;
  assert.ok(after < before, 'the link key was erased at the receiving KME');
  for (const s of stores.values()) assert.equal(s.pendingKeyCount(), 0); // nothing left undelivered
});

test('multipath over KME stores: each relay node sees only its share', () => {
  const { at } = network();
  const key = rand(64);
  const r = relayInProcess(
    'k2',
    key,
    [
      { nodes: ['A', 'B', 'C'], links: ['A-B', 'B-C'] },
      { nodes: ['A', 'D', 'C'], links: ['A-D', 'D-C'] },
    ],
    at,
    rand,
  );
  assert.ok(r.ok);
  assert.deepEqual(r.key, key);
  assert.notDeepEqual(r.views.get('B')![0], key);
  assert.notDeepEqual(r.views.get('D')![0], key);
});

test('a KME without enough link key refuses the hop as a value', () => {
  const { at } = network();
  const r = relayInProcess('k3', rand(8192), [{ nodes: ['A', 'B', 'C'], links: ['A-B', 'B-C'] }], at, rand);
  assert.deepEqual(r, { ok: false, reason: 'no-link-key' });
});

test('relay hops never use simulated-deterministic test keys as pads: no link key, nothing consumed', () => {
  const a = KeyStore.open({ path: ':memory:' });
  const b = KeyStore.open({ path: ':memory:' });
  const item = {
    blockId: 'blk-test',
    key: new Uint8Array(randomBytes(1024)),
    provenance: 'simulated-deterministic' as const,
    path: ['A', 'B'],
  };
  a.addChunks('B', chunksFor('A', 'B', item));
  b.addChunks('A', chunksFor('B', 'A', item));
  const stores = new Map([
    ['A', a],
    ['B', b],
  ]);
  const now = () => 0;
  const hop = keyStoreHopKeys('A', a, () => 'B', directTransport(stores, now), now);
  const before = a.level('B').mineBytes;
  assert.equal(hop.take('A-B', 32), undefined);
  assert.equal(a.level('B').mineBytes, before);
  a.close();
  b.close();
});
