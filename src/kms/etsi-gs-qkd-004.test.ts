/**
 * Conformance with ETSI GS QKD 004 V2.1.1 over real mutual-TLS sockets on 127.0.0.1 (qkdnet's HTTPS +
 * JSON binding, ./etsi-gs-qkd-004-routes.ts): every call of clause 6.1 (OPEN_CONNECT, GET_KEY, CLOSE),
 * every status of Table 2 (0–8) where the spec puts it, the QoS fields (chunk size, Max_bps, Timeout,
 * TTL, metadata mimetype), the peer sequences of clause 6.2 (case 1: KSID created by the KM and passed
 * on; case 3: predefined KSID), identical chunks at the same index at both ends, each delivered once, and
 * TTL expiry erasing unused chunks at both KMEs. KME A serves sae-a, sae-c; KME B serves sae-b, sae-d;
 * A leads every a–b stream (its id sorts first). The 004 clock of both KMEs is moved forward to expire
 * TTLs (no sleeping).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isQkdnetError } from '../common/index.ts';
import { requestJson } from './https-json.ts';
import { Etsi004Client } from './etsi-gs-qkd-004-client.ts';
import { STATUS } from './etsi-gs-qkd-004.ts';
import { agentsFor, makeTestPki, startPair, type TestPki } from './kme-pair.fixture.ts';
import type { KmeHandle } from './server.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let pki: TestPki;
let a: KmeHandle;
let b: KmeHandle;
let close: () => Promise<void>;
let agents: ReturnType<typeof agentsFor>;
let skewMs = 0;
const clients = new Map<string, Etsi004Client>();

/** The 004 client of SAE `sae` talking to `kme`. */
function as(sae: string, kme: KmeHandle): Etsi004Client {
  const tag = `${sae}@${kme.id}`;
  let c = clients.get(tag);
  if (!c) {
    const t = pki.tls(sae);
    c = new Etsi004Client({
      url: kme.url,
      cert: readFileSync(t.cert),
      key: readFileSync(t.key),
      ca: readFileSync(t.ca),
      kmeId: kme.id,
    });
    clients.set(tag, c);
  }
  return c;
}

/** Opens an a–b stream: sae-a at A (KSID created, status 1), then sae-b at B with it (status 0). */
async function openAB(qos: Parameters<Etsi004Client['openConnect']>[2] = {}): Promise<string> {
  const first = await as('sae-a', a).openConnect('sae-a', 'sae-b', qos);
  assert.equal(first.status, STATUS.PEER_NOT_CONNECTED);
  const second = await as('sae-b', b).openConnect('sae-b', 'sae-a', { keyStreamId: first.keyStreamId! });
  assert.equal(second.status, STATUS.SUCCESS);
  return first.keyStreamId!;
}

before(async () => {
  pki = await makeTestPki();
  agents = agentsFor(pki);
  ({ a, b, close } = await startPair(pki, { blocks: 4, options: { clock: () => Date.now() + skewMs } }));
});

after(async () => {
  for (const c of clients.values()) c.destroy();
  agents.destroy();
  await close();
  pki.cleanup();
});

test('6.1/6.2 case 1: OPEN_CONNECT without a KSID creates a UUID; the first end gets 1, the second 0 and the stored QoS', async () => {
  const qos = {
    keyChunkSize: 64,
    maxBps: 1_000_000,
    minBps: 1000,
    jitter: 10,
    priority: 3,
    timeoutMs: 2000,
    ttlS: 60,
  };
  const first = await as('sae-a', a).openConnect('sae-a', 'urn:qkdnet:sae:sae-b', { qos });
  assert.equal(first.status, STATUS.PEER_NOT_CONNECTED);
  assert.match(first.keyStreamId!, UUID);
  assert.deepEqual(first.qos, { ...qos, metadataMimetype: 'application/json' });
  // The second end asks for other QoS: the stored QoS wins (clause 6.1 note).
  const second = await as('sae-b', b).openConnect('sae-b', 'sae-a', {
    keyStreamId: first.keyStreamId!,
    qos: { keyChunkSize: 16 },
  });
  assert.equal(second.status, STATUS.SUCCESS);
  assert.equal(second.keyStreamId, first.keyStreamId);
  assert.deepEqual(second.qos, first.qos);
});

test('6.1 GET_KEY: both ends get identical chunks of Key_chunk_size bytes at the same index, each once', async () => {
  const ksid = await openAB({ qos: { keyChunkSize: 48 } });
  const fromA = [];
  const fromB = [];
  // The follower asks first for index 0, the leader first for index 1; index 2 at once from both.
  fromB.push(await as('sae-b', b).getKey(ksid));
  fromA.push(await as('sae-a', a).getKey(ksid));
  fromA.push(await as('sae-a', a).getKey(ksid));
  fromB.push(await as('sae-b', b).getKey(ksid));
  const [x, y] = await Promise.all([as('sae-a', a).getKey(ksid), as('sae-b', b).getKey(ksid)]);
  fromA.push(x);
  fromB.push(y);
  for (let i = 0; i < 3; i++) {
    assert.equal(fromA[i]!.status, STATUS.SUCCESS);
    assert.equal(fromB[i]!.status, STATUS.SUCCESS);
    assert.equal(fromA[i]!.index, i);
    assert.equal(fromB[i]!.index, i);
    assert.equal(fromA[i]!.key!.length, 48);
    assert.deepEqual(fromA[i]!.key, fromB[i]!.key);
  }
  assert.notDeepEqual(fromA[0]!.key, fromA[1]!.key);
  // Delivered once: the same index again is no longer available (status 2) at either end.
  assert.equal((await as('sae-a', a).getKey(ksid, { index: 1 })).status, STATUS.INSUFFICIENT_KEY);
  assert.equal((await as('sae-b', b).getKey(ksid, { index: 0 })).status, STATUS.INSUFFICIENT_KEY);
  // An index named explicitly ahead of the cursor is formed on demand, equal at both ends.
  const p = await as('sae-b', b).getKey(ksid, { index: 7 });
  const q = await as('sae-a', a).getKey(ksid, { index: 7 });
  assert.equal(p.index, 7);
  assert.deepEqual(p.key, q.key);
});

test('6.2 case 3: a predefined KSID opened at both ends, in either order, gives equal chunks', async () => {
  const ksid = randomUUID();
  const first = await as('sae-b', b).openConnect('sae-b', 'sae-a', { keyStreamId: ksid });
  assert.equal(first.status, STATUS.PEER_NOT_CONNECTED);
  assert.equal(first.keyStreamId, ksid);
  const second = await as('sae-a', a).openConnect('sae-a', 'sae-b', { keyStreamId: ksid });
  assert.equal(second.status, STATUS.SUCCESS);
  const [x, y] = await Promise.all([as('sae-a', a).getKey(ksid), as('sae-b', b).getKey(ksid)]);
  assert.equal(x.status, STATUS.SUCCESS);
  assert.deepEqual(x.key, y.key);
});

test('Table 2 status 3: GET_KEY before the peer application connected', async () => {
  const first = await as('sae-a', a).openConnect('sae-a', 'sae-b');
  assert.equal(first.status, STATUS.PEER_NOT_CONNECTED);
  assert.equal((await as('sae-a', a).getKey(first.keyStreamId!)).status, STATUS.PEER_APP_NOT_CONNECTED);
});

test('Table 2 status 4: no QKD connection to the destination, or a KSID the caller does not hold', async () => {
  assert.equal((await as('sae-a', a).openConnect('sae-a', 'sae-nowhere')).status, STATUS.NO_QKD_CONNECTION);
  // The caller must be the source or the destination (the certificate names it).
  assert.equal((await as('sae-a', a).openConnect('sae-c', 'sae-b')).status, STATUS.NO_QKD_CONNECTION);
  const ksid = await openAB();
  assert.equal((await as('sae-c', a).getKey(ksid)).status, STATUS.NO_QKD_CONNECTION);
  assert.equal((await as('sae-a', a).getKey(randomUUID())).status, STATUS.NO_QKD_CONNECTION);
  assert.equal((await as('sae-a', a).close(randomUUID())).status, STATUS.NO_QKD_CONNECTION);
});

test('Table 2 status 5: a KSID already in use by another application or already open at this end', async () => {
  const ksid = await openAB();
  assert.equal(
    (await as('sae-a', a).openConnect('sae-a', 'sae-b', { keyStreamId: ksid })).status,
    STATUS.KSID_IN_USE,
  );
  assert.equal(
    (await as('sae-c', a).openConnect('sae-c', 'sae-b', { keyStreamId: ksid })).status,
    STATUS.KSID_IN_USE,
  );
  assert.equal(
    (await as('sae-d', b).openConnect('sae-d', 'sae-a', { keyStreamId: ksid })).status,
    STATUS.KSID_IN_USE,
  );
});

test('Table 2 status 7: a QoS the KM cannot meet is refused with the closest QoS it can give', async () => {
  const big = await as('sae-a', a).openConnect('sae-a', 'sae-b', { qos: { keyChunkSize: 9000, ttlS: 10 } });
  assert.equal(big.status, STATUS.QOS_NOT_MET);
  assert.equal(big.keyStreamId, undefined);
  assert.equal(big.qos!.keyChunkSize, 8192);
  assert.equal(big.qos!.ttlS, 10);
  const mime = await as('sae-a', a).openConnect('sae-a', 'sae-b', {
    qos: { metadataMimetype: 'text/plain' },
  });
  assert.equal(mime.status, STATUS.QOS_NOT_MET);
  assert.equal(mime.qos!.metadataMimetype, 'application/json');
  const slow = await as('sae-a', a).openConnect('sae-a', 'sae-b', { qos: { maxBps: 1000, minBps: 2000 } });
  assert.equal(slow.status, STATUS.QOS_NOT_MET);
  assert.equal(slow.qos!.minBps, 1000);
});

test('QoS.Max_bps: a chunk asked sooner than one chunk-time later answers 6 (TIMEOUT_ERROR) at once', async () => {
  // 32-byte chunks at 1 bit/s: one chunk per 256 s; a Timeout of 3 s cannot cover the wait.
  const ksid = await openAB({ qos: { keyChunkSize: 32, maxBps: 1, timeoutMs: 3000 } });
  assert.equal((await as('sae-a', a).getKey(ksid)).status, STATUS.SUCCESS);
  const t0 = Date.now();
  assert.equal((await as('sae-a', a).getKey(ksid)).status, STATUS.TIMEOUT_ERROR);
  assert.ok(Date.now() - t0 < 3000, 'answered without waiting the Timeout out');
  // The other end has its own budget.
  assert.equal((await as('sae-b', b).getKey(ksid)).status, STATUS.SUCCESS);
  assert.equal((await as('sae-b', b).getKey(ksid)).status, STATUS.TIMEOUT_ERROR);
});

test('QoS.Timeout: with too little key in the pool GET_KEY answers 2 once the timeout ran out', async () => {
  // KME A owns half of 4 × 4096 bytes: a chunk of 8192 bytes cannot be formed.
  const ksid = await openAB({ qos: { keyChunkSize: 8192, timeoutMs: 800 } });
  const t0 = Date.now();
  assert.equal((await as('sae-b', b).getKey(ksid)).status, STATUS.INSUFFICIENT_KEY);
  // The leader keeps a margin of the Timeout (≤ 100 ms) for its answer to travel back.
  assert.ok(Date.now() - t0 >= 700, 'the call waited for key for most of its Timeout');
  assert.equal((await as('sae-a', a).getKey(ksid)).status, STATUS.INSUFFICIENT_KEY);
});

test('Table 2 status 8: a metadata buffer too small gets the size needed and no key; the chunk stays', async () => {
  const ksid = await openAB();
  for (const [sae, kme] of [
    ['sae-a', a],
    ['sae-b', b],
  ] as const) {
    const small = await as(sae, kme).getKey(ksid, { metadataSize: 4 });
    assert.equal(small.status, STATUS.METADATA_TOO_SMALL);
    assert.equal(small.key, undefined);
    assert.ok(small.metadataSize! > 4);
    const ok = await as(sae, kme).getKey(ksid, { metadataSize: small.metadataSize! + 4 });
    assert.equal(ok.status, STATUS.SUCCESS);
    assert.equal(ok.index, 0);
    assert.equal(ok.metadata!.hops, 0); // Table 3: 0 = a direct link
    assert.ok(ok.metadata!.age >= 0);
  }
  // Without a metadata size no metadata comes back (Table 2: size 0 → none).
  const plain = await as('sae-a', a).getKey(ksid);
  assert.equal(plain.metadata, undefined);
});

test('QoS.TTL: chunks unused past the TTL are erased at both KMEs', async () => {
  const ksid = await openAB({ qos: { ttlS: 5 } });
  // Index 0: the leader's SAE takes it, the follower's copy stays unused at B.
  assert.equal((await as('sae-a', a).getKey(ksid, { index: 0 })).status, STATUS.SUCCESS);
  // Index 1: the follower's SAE takes it, the leader's copy stays unused at A.
  assert.equal((await as('sae-b', b).getKey(ksid, { index: 1 })).status, STATUS.SUCCESS);
  const s = a.etsi004.machine.stream(ksid)!;
  const unusedAtB = s.chunks.get(0)!.keyId;
  const unusedAtA = s.chunks.get(1)!;
  assert.ok(unusedAtA.bytes, 'the leader still holds its copy of index 1');
  try {
    skewMs += 3000; // still within the TTL: the stream is used again (index 2 at both ends)
    const [x, y] = await Promise.all([
      as('sae-a', a).getKey(ksid, { index: 2 }),
      as('sae-b', b).getKey(ksid, { index: 2 }),
    ]);
    assert.deepEqual(x.key, y.key);
    skewMs += 3000; // chunks 0 and 1 are 6 s old now
    assert.equal(await a.etsi004.sweep(), 1, 'A erased its own unused copy');
    assert.equal(unusedAtA.bytes, null);
    // B erased its copy of index 0 on A's notice: it can no longer be fetched, not even through 014.
    await assert.rejects(b.core.decKeys('sae-b', 'sae-a', [unusedAtB]), (e) =>
      isQkdnetError(e, 'KMS_KEY_NOT_FOUND'),
    );
    assert.equal((await as('sae-b', b).getKey(ksid, { index: 0 })).status, STATUS.INSUFFICIENT_KEY);
    assert.equal((await as('sae-a', a).getKey(ksid, { index: 1 })).status, STATUS.INSUFFICIENT_KEY);
    // Chunk 2 is younger than the TTL: still served (the stream itself lives on).
    assert.ok(a.etsi004.machine.stream(ksid));
  } finally {
    skewMs = 0;
  }
});

test('6.1 CLOSE: after both ends close no key goes to the KSID and unused chunks are erased', async () => {
  const ksid = await openAB();
  assert.equal((await as('sae-a', a).getKey(ksid, { index: 0 })).status, STATUS.SUCCESS);
  const unusedAtB = a.etsi004.machine.stream(ksid)!.chunks.get(0)!.keyId;
  assert.equal((await as('sae-a', a).close(ksid)).status, STATUS.SUCCESS);
  assert.equal((await as('sae-a', a).getKey(ksid)).status, STATUS.NO_QKD_CONNECTION);
  // The peer closes later; until then the other end's key stays (clause 6.1).
  assert.ok(b.etsi004.machine.stream(ksid));
  assert.equal((await as('sae-b', b).close(ksid)).status, STATUS.SUCCESS);
  assert.equal(a.etsi004.machine.stream(ksid), undefined);
  assert.equal(b.etsi004.machine.stream(ksid), undefined);
  await assert.rejects(b.core.decKeys('sae-b', 'sae-a', [unusedAtB]), (e) =>
    isQkdnetError(e, 'KMS_KEY_NOT_FOUND'),
  );
  assert.equal((await as('sae-b', b).close(ksid)).status, STATUS.NO_QKD_CONNECTION);
});

test('a stream between two SAEs of one KME: equal chunks, no KME-to-KME traffic needed', async () => {
  const first = await as('sae-c', a).openConnect('sae-c', 'sae-a');
  assert.equal(first.status, STATUS.PEER_NOT_CONNECTED);
  const second = await as('sae-a', a).openConnect('sae-a', 'sae-c', { keyStreamId: first.keyStreamId! });
  assert.equal(second.status, STATUS.SUCCESS);
  const x = await as('sae-c', a).getKey(first.keyStreamId!);
  const y = await as('sae-a', a).getKey(first.keyStreamId!);
  assert.equal(x.status, STATUS.SUCCESS);
  assert.deepEqual(x.key, y.key);
});

test('the 004 routes admit SAE certificates only (401 before the body is read), 400 for bad bodies, 413 for oversize', async () => {
  const post = (who: string, path: string, body: unknown) =>
    requestJson(agents.agent(who), `${a.url}${path}`, 'POST', body);
  const r401 = await post('kme-b', '/api/v1/etsi004/open-connect', { source: 'x', destination: 'y' });
  assert.equal(r401.status, 401);
  assert.match((r401.body as { message: string }).message, /^Unauthorized/);
  assert.equal((await post('stranger', '/api/v1/etsi004/get-key', {})).status, 401);
  // An SAE cannot speak the KME-to-KME messages, and a KME only as itself.
  assert.equal((await post('sae-a', '/api/v1/kme/kme-b/etsi004', { op: 'close' })).status, 401);
  const bad = await post('sae-a', '/api/v1/etsi004/get-key', { key_stream_id: 'nope' });
  assert.equal(bad.status, 400);
  assert.match((bad.body as { message: string }).message, /^Bad request format/);
  const extra = await post('sae-a', '/api/v1/etsi004/close', { key_stream_id: randomUUID(), x: 1 });
  assert.equal(extra.status, 400);
  const float = await post('sae-a', '/api/v1/etsi004/get-key', { key_stream_id: randomUUID(), index: 1.5 });
  assert.equal(float.status, 400);
  const huge = await post('sae-a', '/api/v1/etsi004/open-connect', { source: 'x'.repeat(1 << 21) });
  assert.equal(huge.status, 413);
});
