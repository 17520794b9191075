// The live trusted-node relay across an inter-domain hop carried by ETSI GS QKD 020 V1.1.1: four KMEs on
// 127.0.0.1 with mutual TLS (QKD links A–B, B–C, A–D, D–C fed with identical seeded blocks), where B and
// C declare the hop between them `etsi020` in their configurations (`peers[].protocol`) — as if B and C were KMEs of two networks in one interworking
// node. The share crosses B→C in `ext_keys` (202, then `relayed` acknowledged to B's callback) and no
// B–C link key is spent; the key still ends identical at both end KMEs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KmeHandle } from '../kms/index.ts';
import type { LiveRelayNode } from './live-relay.ts';
import { relayExtensionName, shareContextFromWire, shareContextToWire } from './live-relay-etsi020.ts';
import { startFourKmes, type FourKmes } from './live-relay.fixture.ts';

let net: FourKmes;
let kme: Map<string, KmeHandle>;
let relay: Map<string, LiveRelayNode>;

before(async () => {
  // The switch per inter-domain hop is the KMEs' configuration: `peers[].protocol: etsi020`.
  const interworking = (x: string, y: string) =>
    (x === 'kme-b' && y === 'kme-c') || (x === 'kme-c' && y === 'kme-b');
  net = await startFourKmes({ hopProtocol: (x, y) => (interworking(x, y) ? 'etsi020' : undefined) });
  kme = net.kme;
  relay = net.relay;
});

after(() => net.close());

const level = (x: string, y: string) => ({ ...kme.get(x)!.level(y) });

test('a key relayed A→B→C with B→C over ETSI 020 ends identical at A and C (fetched by SAEs over 014), and spends no B–C link key', async () => {
  const bc = level('kme-b', 'kme-c');
  const cb = level('kme-c', 'kme-b');
  const r = await relay.get('kme-a')!.relayKey([['kme-a', 'kme-b', 'kme-c']]);
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.ok(r.ok);
  assert.deepEqual(r.exposedTo, ['kme-b']);
  assert.deepEqual(level('kme-b', 'kme-c'), bc, 'the interworking hop uses no QKD link key');
  assert.deepEqual(level('kme-c', 'kme-b'), cb);
  const { m, s } = await net.endToEnd();
  assert.equal(m.keyId, r.keyId);
  assert.equal(s.keyId, r.keyId);
  assert.deepEqual(s.key, m.key);
  assert.equal(m.key.length, 32);
  // B opened the share and handed it over 020; C took it out of its 020 book at once (held nowhere).
  assert.deepEqual(relay.get('kme-b')!.views.get(r.keyId)![0], m.key);
  assert.equal(kme.get('kme-c')!.etsi020.book.held, 0);
  assert.equal(kme.get('kme-b')!.etsi020.book.awaiting, 0, 'the acknowledgement reached B');
});

test('a 020 hop in the middle (A→B→C→D): C carries the share on over its QKD link to D; both ends confirm the same key', async () => {
  const cd = level('kme-c', 'kme-d');
  const bc = level('kme-b', 'kme-c');
  const r = await relay.get('kme-a')!.relayKey([['kme-a', 'kme-b', 'kme-c', 'kme-d']]);
  // ok means D's key-confirmation tag over its reassembled key matched A's (./relay-integrity.ts).
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.ok(r.ok);
  assert.deepEqual(r.exposedTo, ['kme-b', 'kme-c']);
  assert.deepEqual(level('kme-b', 'kme-c'), bc);
  assert.equal(level('kme-c', 'kme-d').mineBytes, cd.mineBytes - 32, 'C spent one C–D link key');
  const atB = relay.get('kme-b')!.views.get(r.keyId)![0]!;
  const atC = relay.get('kme-c')!.views.get(r.keyId)![0]!;
  assert.deepEqual(atC, atB, 'C received over 020 exactly what B opened');
});

test('a path may not start with a 020 hop (the source reaches the interworking node over its own network)', async () => {
  const r = await relay.get('kme-b')!.relayKey([['kme-b', 'kme-c', 'kme-d']]);
  assert.equal(r.ok, false);
});

test('the relay extension is named E<PEN>_qkdnet_relay, refuses ETSI’s reserved PEN 13019, and its content round-trips', () => {
  assert.equal(relayExtensionName(32473), 'E32473_qkdnet_relay');
  assert.throws(() => relayExtensionName(13019), RangeError);
  assert.throws(() => relayExtensionName(0), RangeError);
  const c = { keyId: 'k', shareIndex: 1, shareCount: 2, path: ['a', 'b', 'c'], hop: 2 };
  assert.deepEqual(shareContextFromWire(shareContextToWire(c)), c);
  assert.equal(shareContextFromWire({ ...shareContextToWire(c), hop: 0 }), undefined);
  assert.equal(shareContextFromWire({ ...shareContextToWire(c), share_index: 2 }), undefined);
});
