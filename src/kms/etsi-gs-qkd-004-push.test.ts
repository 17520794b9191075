/**
 * The southbound path end to end across processes: `qkdnet kme device-push`, a QKD device simulator in
 * its own OS process, pushes key chunks through AIT's ETSI GS QKD 004 push-mode profile
 * (`POST /api/v1/qkd/etsi004/key-material`, mutual TLS, a certificate of the device role) into the two
 * KMEs of one link, which start with empty pools; an SAE then gets that key through ETSI GS QKD 014 and
 * through an ETSI GS QKD 004 key stream, equal at both ends.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { requestJson } from './https-json.ts';
import { Etsi014Client } from './client.ts';
import { Etsi004Client } from './etsi-gs-qkd-004-client.ts';
import { STATUS } from './etsi-gs-qkd-004.ts';
import { agentsFor, makeTestPki, startPair, testPin, type TestPki } from './kme-pair.fixture.ts';
import { issueCertificate } from './pki.ts';
import type { KmeHandle } from './server.ts';

let pki: TestPki;
let a: KmeHandle;
let b: KmeHandle;
let close: () => Promise<void>;

before(async () => {
  pki = await makeTestPki();
  await issueCertificate(pki.dir, 'qkd-ab', 'device');
  const device = (peer: string) => ({ devices: [{ id: 'qkd-ab', peer, pin: testPin(pki, 'qkd-ab') }] });
  ({ a, b, close } = await startPair(pki, { blocks: 0, extraA: device('kme-b'), extraB: device('kme-a') }));
});

after(async () => {
  await close();
  pki.cleanup();
});

/** Runs `qkdnet kme device-push …` as a child process; resolves with exit code, stdout and stderr. */
function devicePush(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/qkdnet.js', 'kme', 'device-push', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

test('a device process pushes key through the 004 push profile; an SAE gets it via 014 and via a 004 stream', async () => {
  const t = pki.tls('qkd-ab');
  const tls = ['--cert', t.cert, '--key', t.key, '--ca', t.ca];
  assert.equal(a.level('kme-b').mineBytes + b.level('kme-a').mineBytes, 0, 'the pools start empty');
  const r = await devicePush([
    '--kme',
    `${a.url},${b.url}`,
    ...tls,
    '--chunks',
    '64',
    '--chunk-size',
    '64',
    '--format',
    'json',
  ]);
  assert.equal(r.code, 0, r.err);
  const summary = JSON.parse(r.out) as { key_stream_id: string; chunks: number; bytes_per_kme: number };
  assert.equal(summary.chunks, 64);
  assert.ok(!r.out.includes('key_buffer') && !r.err.includes('key_buffer'), 'no key material printed');
  await Promise.all([a.settled(), b.settled()]);
  // 64 × 64 bytes reached both ends; each KME owns half of the chunks (./supply.ts parity rule).
  assert.equal(a.level('kme-b').mineBytes + b.level('kme-a').mineBytes, 64 * 64);

  // ETSI 014: sae-a gets keys at A, sae-b the same keys by ID at B.
  const c14 = (sae: string, kme: KmeHandle) =>
    Etsi014Client.fromFiles(kme.url, pki.tls(sae), { kmeId: kme.id });
  const master = c14('sae-a', a);
  const slave = c14('sae-b', b);
  try {
    const keys = await master.getKeys('sae-b', { number: 2, sizeBits: 256 });
    const same = await slave.getKeysWithIds(
      'sae-a',
      keys.map((k) => k.keyId),
    );
    assert.deepEqual(
      same.map((k) => k.key),
      keys.map((k) => k.key),
    );
    assert.equal(keys[0]!.provenance, 'qkd');
  } finally {
    master.close();
    slave.close();
  }

  // ETSI 004: a key stream between sae-a and sae-b, equal chunks at both ends.
  const c4 = (sae: string, kme: KmeHandle) => {
    const f = pki.tls(sae);
    return new Etsi004Client({
      url: kme.url,
      cert: readFileSync(f.cert),
      key: readFileSync(f.key),
      ca: readFileSync(f.ca),
      kmeId: kme.id,
    });
  };
  const x = c4('sae-a', a);
  const y = c4('sae-b', b);
  try {
    const open = await x.openConnect('sae-a', 'sae-b', { qos: { keyChunkSize: 32 } });
    assert.equal(open.status, STATUS.PEER_NOT_CONNECTED);
    assert.equal(
      (await y.openConnect('sae-b', 'sae-a', { keyStreamId: open.keyStreamId! })).status,
      STATUS.SUCCESS,
    );
    for (let i = 0; i < 3; i++) {
      const [p, q] = await Promise.all([x.getKey(open.keyStreamId!), y.getKey(open.keyStreamId!)]);
      assert.equal(p.status, STATUS.SUCCESS);
      assert.equal(p.index, i);
      assert.deepEqual(p.key, q.key);
    }
  } finally {
    x.destroy();
    y.destroy();
  }

  // Only a device certificate may push: an SAE's is refused before the body is read.
  const agents = agentsFor(pki);
  try {
    const refused = await requestJson(
      agents.agent('sae-a'),
      `${a.url}/api/v1/qkd/etsi004/key-material`,
      'POST',
      {
        status: 0,
        index: 1,
        key_buffer: 'AAAA',
      },
    );
    assert.equal(refused.status, 401);
  } finally {
    agents.destroy();
  }
});
