// Multipath integrity between live KMEs (four real KMEs, mutual TLS, two node-disjoint paths A–B–C and
// A–D–C): the trusted node B turns malicious — it forges a single-share message carrying a key of its
// choice (the attack that used to make the slave accept B's key while the source reported
// qkd-multipath), alters its share, or swallows it. Every time: delivery refused at both ends, a
// critical alert naming the path at both ends, and the master and slave never hold different keys.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../common/index.ts';
import { Etsi014Client, type KmeHandle } from '../kms/index.ts';
import { keyStoreHopKeys, type ReservationRecord } from './kme-relay.ts';
import { linkIdOf } from './live-relay.ts';
import { shareFromWire, shareToWire } from './live-relay-wire.ts';
import { startFourKmes, type FourKmes } from './live-relay.fixture.ts';
import { relayReceive, xorBytes, type RelayShareMessage } from './relay.ts';

let net: FourKmes;
const alerts = new Map<string, Alert[]>();
const PATHS = [
  ['kme-a', 'kme-b', 'kme-c'],
  ['kme-a', 'kme-d', 'kme-c'],
];

before(async () => {
  net = await startFourKmes({
    relayOptions: (id) => ({
      onAlert: (a) => alerts.set(id, [...(alerts.get(id) ?? []), a]),
      shareTimeoutMs: 2000,
    }),
  });
});
after(() => net.close());

/**
 * Replaces B's relay handler with a malicious one: it decrypts A's share like an honest node, then
 * `tamper` decides what to send on to C (undefined: swallow it). Returns the key IDs it saw.
 */
function maliciousB(tamper: (m: RelayShareMessage, share: Uint8Array) => RelayShareMessage | undefined) {
  const b = net.kme.get('kme-b')!;
  const seen: string[] = [];
  const peerOf = (l: string) => l.split('~').find((x) => x !== 'kme-b')!;
  b.onRelay(async (_from, wire) => {
    const msg = shareFromWire(wire)!;
    seen.push(msg.keyId);
    const rs: ReservationRecord[] = [];
    const hop = keyStoreHopKeys('kme-b', b.store, peerOf, (_f, _t, r) => rs.push(r), Date.now);
    const step = relayReceive('kme-b', msg, hop);
    assert.equal(step.kind, 'forward');
    if (step.kind !== 'forward') return null;
    const forged = tamper(step.message, step.view);
    if (!forged) return { status: 'pending' };
    return b.sendRelay('kme-c', rs, shareToWire(forged));
  });
  return seen;
}

/** Checks nobody can obtain key `keyId` at either end and both ends alerted about path A–B–C. */
async function assertRefusedEverywhere(keyId: string, kind: string, since: { a: number; c: number }) {
  const a = net.kme.get('kme-a')!;
  const c = net.kme.get('kme-c')!;
  assert.equal(a.store.chunkIds().includes(keyId), false, 'the source holds no copy');
  assert.equal(c.store.chunkIds().includes(keyId), false, 'the destination holds no copy');
  assert.equal(a.level('kme-c').mineBytes, 0);
  assert.equal(c.level('kme-a').theirChunks, 0);
  const slave = new Etsi014Client({ url: c.url, ...net.tls('sae-c') });
  const master = new Etsi014Client({ url: a.url, ...net.tls('sae-a') });
  try {
    await assert.rejects(slave.getKeysWithIds('sae-a', [keyId]), /400|not stored|401/);
    await assert.rejects(master.getKeys('sae-c'), /503|exhaust|Cannot form/i);
  } finally {
    slave.close();
    master.close();
  }
  for (const [node, n] of [
    ['kme-a', since.a],
    ['kme-c', since.c],
  ] as const) {
    const fresh = (alerts.get(node) ?? []).slice(n);
    const hit = fresh.find((x) => x.kind === kind && x.message.includes('kme-a>kme-b>kme-c'));
    assert.ok(hit, `${node} raised ${kind} naming path A>B>C: ${JSON.stringify(fresh)}`);
    assert.equal(hit.severity, 'critical');
    assert.equal(hit.nodeId, 'kme-b');
  }
}

const counts = () => ({ a: alerts.get('kme-a')?.length ?? 0, c: alerts.get('kme-c')?.length ?? 0 });

test('B forges a single-share message with a key of its choice: refused at both ends, alerts name the path', async () => {
  const chosen = new Uint8Array(32).fill(0x42);
  const seen = maliciousB((m, share) => {
    const outKey = xorBytes(m.ciphertext, share); // B knows the B–C link key it just took
    return { ...m, shareIndex: 0, shareCount: 1, ciphertext: xorBytes(chosen, outKey) };
  });
  const since = counts();
  const r = await net.relay.get('kme-a')!.relayKey(PATHS);
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.reason === 'forged-share', JSON.stringify(r));
  assert.equal(seen.length, 1);
  await assertRefusedEverywhere(seen[0]!, 'relay-share-forged', since);
});

test('B flips one bit of its share (count intact): the share MAC catches it, both ends discard', async () => {
  const seen = maliciousB((m, share) => {
    const outKey = xorBytes(m.ciphertext, share);
    const bent = share.slice();
    bent[0]! ^= 1;
    return { ...m, ciphertext: xorBytes(bent, outKey) };
  });
  const since = counts();
  const r = await net.relay.get('kme-a')!.relayKey(PATHS);
  assert.ok(!r.ok && r.reason === 'forged-share', JSON.stringify(r));
  await assertRefusedEverywhere(seen[0]!, 'relay-share-forged', since);
});

test('B swallows its share and answers as if forwarded: confirmation finds it missing, both ends discard', async () => {
  const seen = maliciousB(() => undefined);
  const since = counts();
  const r = await net.relay.get('kme-a')!.relayKey(PATHS);
  assert.ok(!r.ok && r.reason === 'missing-share', JSON.stringify(r));
  await assertRefusedEverywhere(seen[0]!, 'relay-share-missing', since);
  assert.equal(net.relay.get('kme-c')!.pending, 0);
});

test('with B honest again the same paths deliver one key, identical at master and slave', async () => {
  const { attachLiveRelay } = await import('./live-relay.ts');
  attachLiveRelay(net.kme.get('kme-b') as KmeHandle); // restores the honest handler
  const r = await net.relay.get('kme-a')!.relayKey(PATHS);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.provenance, 'qkd-multipath');
  const { m, s } = await net.endToEnd();
  assert.equal(m.keyId, r.keyId);
  assert.deepEqual(s.key, m.key);
  assert.equal(linkIdOf('kme-c', 'kme-a'), 'kme-a~kme-c');
});
