// Live relay over real sockets: four KMEs on 127.0.0.1 with mutual TLS (links A–B, B–C, A–D, D–C fed
// with identical seeded blocks at both ends); keys relayed A→C through B (and through B and D as XOR
// shares), then fetched by real SAEs with ETSI 014 enc_keys / dec_keys.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { createMtlsAgent, Etsi014Client, type KmeHandle } from '../kms/index.ts';
import type { LiveRelayNode } from './live-relay.ts';
import { startFourKmes, type FourKmes } from './live-relay.fixture.ts';
import { xorBytes } from './relay.ts';

let net: FourKmes;
let kme: Map<string, KmeHandle>;
let relay: Map<string, LiveRelayNode>;
const tls = (name: string) => net.tls(name);
const endToEnd = () => net.endToEnd();

before(async () => {
  net = await startFourKmes();
  kme = net.kme;
  relay = net.relay;
});

after(() => net.close());

function post(url: string, who: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const agent = createMtlsAgent(tls(who));
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body));
    const req = https.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          agent.destroy();
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

test('a key relayed A→B→C over mTLS reaches the master at A and the slave at C with identical bytes', async () => {
  const before = { ab: { ...kme.get('kme-a')!.level('kme-b') }, bc: { ...kme.get('kme-b')!.level('kme-c') } };
  const r = await relay.get('kme-a')!.relayKey([['kme-a', 'kme-b', 'kme-c']]);
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.ok(r.ok);
  assert.equal(r.provenance, 'qkd-relayed');
  assert.deepEqual(r.exposedTo, ['kme-b']);
  // One 32-byte link key spent on each hop by its sender (A on A–B, B on B–C).
  assert.equal(kme.get('kme-a')!.level('kme-b').mineBytes, before.ab.mineBytes - 32);
  assert.equal(kme.get('kme-b')!.level('kme-c').mineBytes, before.bc.mineBytes - 32);
  // …and its receiver's copy was reserved and erased (B's and C's chunks of A's/B's share dropped).
  assert.equal(kme.get('kme-b')!.level('kme-a').theirChunks, 63);
  assert.equal(kme.get('kme-c')!.level('kme-b').theirChunks, 63);
  const { m, s } = await endToEnd();
  assert.equal(m.keyId, r.keyId);
  assert.equal(s.keyId, r.keyId);
  assert.equal(m.key.length, 32);
  assert.deepEqual(s.key, m.key);
  assert.equal(m.provenance, 'qkd-relayed');
  assert.deepEqual(m.path, ['kme-a', 'kme-b', 'kme-c']);
  assert.deepEqual(s.path, ['kme-a', 'kme-b', 'kme-c']);
  assert.deepEqual(s.exposedTo, ['kme-b']);
  // The trusted node B saw the key in the clear (single path): that is what exposedTo records.
  assert.deepEqual(relay.get('kme-b')!.views.get(r.keyId)![0], m.key);
});

test('B’s relay route refuses a client that is not the named peer KME (401, spec Error object)', async () => {
  const url = `${kme.get('kme-b')!.url}/api/v1/kme/kme-a/relay`;
  const body = { reservations: [], message: { type: 'relay-abort', keyId: 'x' } };
  const bySae = await post(url, 'sae-a', body);
  assert.equal(bySae.status, 401);
  assert.equal(typeof (bySae.body as { message: unknown }).message, 'string');
  const impostor = await post(url, 'kme-c', body); // a peer, but not the one named in the path
  assert.equal(impostor.status, 401);
  const nonPeer = await post(`${kme.get('kme-d')!.url}/api/v1/kme/kme-b/relay`, 'kme-b', body); // D–B: no link
  assert.equal(nonPeer.status, 401);
});

test('multipath: XOR shares over A–B–C and A–D–C; each trusted node’s view alone is not the key', async () => {
  const r = await relay.get('kme-a')!.relayKey([
    ['kme-a', 'kme-b', 'kme-c'],
    ['kme-a', 'kme-d', 'kme-c'],
  ]);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.provenance, 'qkd-multipath');
  assert.deepEqual(r.exposedTo, []);
  const { m, s } = await endToEnd();
  assert.equal(m.keyId, r.keyId);
  assert.deepEqual(s.key, m.key);
  assert.equal(s.provenance, 'qkd-multipath');
  assert.deepEqual(s.path, ['kme-a', 'kme-b', 'kme-d', 'kme-c']);
  assert.deepEqual(s.exposedTo, []);
  const vb = relay.get('kme-b')!.views.get(r.keyId)!;
  const vd = relay.get('kme-d')!.views.get(r.keyId)!;
  assert.equal(vb.length, 1);
  assert.equal(vd.length, 1);
  assert.notDeepEqual(vb[0], m.key);
  assert.notDeepEqual(vd[0], m.key);
  assert.deepEqual(xorBytes(vb[0]!, vd[0]!), m.key); // only both views together give the key
  assert.equal(relay.get('kme-c')!.pending, 0);
});

test('a relay over an exhausted hop fails cleanly: error value, no key supplied at either end', async () => {
  const b = kme.get('kme-b')!;
  const spare = b.level('kme-c').mineBytes / 32;
  b.store.takeForMaster({
    peer: 'kme-c',
    master: 'drain',
    slaves: [],
    localSlaves: [],
    number: spare,
    sizeBits: 256,
    nowMs: 0,
  });
  const ab = kme.get('kme-a')!.level('kme-b').mineBytes;
  const r = await relay.get('kme-a')!.relayKey([['kme-a', 'kme-b', 'kme-c']]);
  assert.deepEqual(r, { ok: false, reason: 'no-link-key', at: 'kme-b' });
  assert.equal(kme.get('kme-a')!.level('kme-b').mineBytes, ab - 32); // the first hop's key is spent
  assert.equal(kme.get('kme-a')!.level('kme-c').mineBytes, 0);
  assert.equal(kme.get('kme-c')!.level('kme-a').theirChunks, 0);
  const master = new Etsi014Client({ url: kme.get('kme-a')!.url, ...tls('sae-a') });
  try {
    await assert.rejects(master.getKeys('sae-c'), /503|exhaust|not enough/i);
  } finally {
    master.close();
  }
});
