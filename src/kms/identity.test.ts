/**
 * Identities bound to roles, over real mutual-TLS sockets on 127.0.0.1 (KME A: sae-a, sae-c; KME B:
 * sae-b, sae-d; every identity SPKI-pinned, both KMEs following the PKI's CRL). Each impostor — an SAE
 * certificate whose CN is a KME id, a KME certificate presented as an SAE, a certificate from another CA,
 * a new key under a known name, a revoked certificate — gets 401 with the bare Error object and learns
 * no body schema. Clients pin their KME: a KME presenting another KME's certificate is refused. /metrics
 * admits only the metrics role or the configured bearer token.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isQkdnetError } from '../common/index.ts';
import { Etsi014Client } from './client.ts';
import { createMtlsAgent, requestJson, type JsonAnswer } from './https-json.ts';
import type { PeerCertificate } from 'node:tls';
import { serverCheck } from './identity.ts';
import { createPeerLink } from './peer.ts';
import { ROLE_OID } from './roles.ts';
import { revokeCertificate } from './pki.ts';
import { startKme, type KmeHandle } from './server.ts';
import { issueRogue, makeTestPki, startPair, testPin, type TestPki } from './kme-pair.fixture.ts';

let pki: TestPki;
let a: KmeHandle;
let b: KmeHandle;
let close: () => Promise<void>;
const agents: ReturnType<typeof createMtlsAgent>[] = [];

function as(name: string) {
  const t = pki.tls(name);
  const ag = createMtlsAgent({
    cert: readFileSync(t.cert),
    key: readFileSync(t.key),
    ca: readFileSync(t.ca),
  });
  agents.push(ag);
  return (kme: KmeHandle, method: 'GET' | 'POST', path: string, body?: unknown) =>
    requestJson(ag, `${kme.url}${path}`, method, body);
}

/** 401 with only `message`, and the message reveals nothing about the route's body schema. */
function refused(r: JsonAnswer, what: string): void {
  assert.equal(r.status, 401, `${what}: ${JSON.stringify(r.body)}`);
  const body = r.body as Record<string, unknown>;
  assert.deepEqual(Object.keys(body), ['message'], what);
  assert.match(body.message as string, /^Unauthorized/, what);
  assert.doesNotMatch(body.message as string, /body|key_IDs|reservations|required|must|schema|type/i, what);
}

const lookup = { key_IDs: ['00000000-0000-4000-8000-000000000000'] };

before(async () => {
  pki = await makeTestPki();
  await issueRogue(pki, 'role', 'kme-b', 'sae'); // an SAE certificate whose CN is a KME id
  await issueRogue(pki, 'role', 'sae-a', 'kme'); // a KME certificate whose CN is an SAE id
  await issueRogue(pki, 'key', 'sae-a', 'sae'); // a new key pair under a known SAE name
  await issueRogue(pki, 'key', 'kme-b', 'kme'); // a new key pair under a known KME name
  await issueRogue(pki, 'role', 'op', 'operator');
  ({ a, b, close } = await startPair(pki, { blocks: 2 }));
});
after(async () => {
  for (const ag of agents) ag.destroy();
  await close();
  pki.cleanup();
});

describe('callers are admitted by role, name, pin and CRL — everyone else gets 401 before parsing', () => {
  test('the genuine identities pass (control)', async () => {
    assert.equal((await as('sae-a')(a, 'GET', '/api/v1/keys/sae-b/status')).status, 200);
    assert.equal((await as('kme-b')(a, 'POST', '/api/v1/kme/kme-b/lookup', lookup)).status, 200);
  });
  test('an SAE certificate whose CN equals a KME id is refused on the KME-to-KME routes', async () => {
    const rogue = as('role/kme-b');
    for (const route of ['lookup', 'reserve', 'relay']) {
      refused(await rogue(a, 'POST', `/api/v1/kme/kme-b/${route}`, lookup), `${route} with a body`);
      refused(await rogue(a, 'POST', `/api/v1/kme/kme-b/${route}`, { junk: true }), `${route} junk`);
    }
    refused(await rogue(a, 'GET', '/api/v1/keys/sae-b/status'), 'as an SAE');
  });
  test('a KME certificate presented as an SAE is refused, whatever its CN', async () => {
    refused(await as('kme-b')(a, 'GET', '/api/v1/keys/sae-b/status'), 'kme-b as SAE');
    refused(await as('kme-b')(a, 'POST', '/api/v1/keys/sae-b/enc_keys', { number: 'x' }), 'kme-b enc_keys');
    refused(await as('role/sae-a')(a, 'GET', '/api/v1/keys/sae-b/enc_keys'), 'KME cert with CN sae-a');
    refused(await as('role/op')(a, 'GET', '/api/v1/keys/sae-b/status'), 'an operator certificate');
  });
  test('a KME may call the peer routes only under its own id', async () => {
    refused(await as('kme-a')(b, 'POST', '/api/v1/kme/kme-c/lookup', lookup), 'another path id');
    refused(await as('kme-b')(b, 'POST', '/api/v1/kme/kme-b/lookup', lookup), 'itself, not a peer');
  });
  test('a certificate from another CA is refused', async () => {
    refused(await as('stranger')(a, 'GET', '/api/v1/keys/sae-b/status'), 'stranger');
    refused(await as('stranger')(a, 'POST', '/api/v1/kme/kme-b/lookup', { x: 1 }), 'stranger on peer');
  });
  test('a new key pair under a known name is refused (pinned SPKI)', async () => {
    refused(await as('key/sae-a')(a, 'GET', '/api/v1/keys/sae-b/status'), 'new sae-a key');
    refused(await as('key/kme-b')(a, 'POST', '/api/v1/kme/kme-b/lookup', lookup), 'new kme-b key');
  });
  test('/metrics: only the metrics role; SAE and KME certificates are refused', async () => {
    assert.equal((await as('metrics')(a, 'GET', '/metrics')).status, 200);
    refused(await as('sae-a')(a, 'GET', '/metrics'), 'sae on metrics');
    refused(await as('kme-b')(a, 'GET', '/metrics'), 'kme on metrics');
    refused(await as('metrics')(a, 'GET', '/api/v1/keys/sae-b/status'), 'metrics as SAE');
  });
});

describe('clients pin their KME', () => {
  const files = (n: string) => pki.tls(n);
  test('an SAE client expecting kme-a refuses KME B (same CA, same host, another KME certificate)', async () => {
    const wrong = Etsi014Client.fromFiles(b.url, files('sae-a'), { kmeId: 'kme-a' });
    await assert.rejects(wrong.status('sae-b'), (e) => isQkdnetError(e) && /kme-a/.test(e.message));
    wrong.close();
    const pinned = Etsi014Client.fromFiles(b.url, files('sae-b'), {
      kmeId: 'kme-b',
      pinSpki: testPin(pki, 'kme-a').spkiSha256,
    });
    await assert.rejects(pinned.status('sae-a'), /pin/);
    pinned.close();
    const right = Etsi014Client.fromFiles(a.url, files('sae-a'), {
      kmeId: 'kme-a',
      pinSpki: testPin(pki, 'kme-a').spkiSha256,
    });
    assert.equal((await right.status('sae-b')).sourceKmeId, 'kme-a');
    right.close();
  });
  test('SAE clients also accept a foreign KME certificate without qkdnet roles; peers never do', () => {
    const cert = (ekus: string[]) =>
      ({
        subject: { CN: 'kme-x' },
        subjectaltname: 'DNS:kme-x, IP Address:127.0.0.1',
        ext_key_usage: ekus,
        serialNumber: '01',
      }) as unknown as PeerCertificate;
    const foreign = cert(['1.3.6.1.5.5.7.3.1']);
    const saeRole = cert(['1.3.6.1.5.5.7.3.1', ROLE_OID.sae]);
    const kmeRole = cert(['1.3.6.1.5.5.7.3.1', ROLE_OID.kme]);
    const client = serverCheck({ role: 'if-present', kmeId: 'kme-x' });
    const peer = serverCheck({ kmeId: 'kme-x' });
    assert.equal(client('127.0.0.1', foreign), undefined);
    assert.ok(client('127.0.0.1', saeRole) instanceof Error);
    assert.equal(client('127.0.0.1', kmeRole), undefined);
    assert.ok(peer('127.0.0.1', foreign) instanceof Error);
    assert.equal(peer('127.0.0.1', kmeRole), undefined);
    assert.ok(serverCheck({ kmeId: 'kme-y' })('127.0.0.1', kmeRole) instanceof Error);
  });
  test('a peer link refuses a server that is not the configured peer', async () => {
    const t = pki.tls('kme-a');
    const tls = { cert: readFileSync(t.cert), key: readFileSync(t.key), ca: readFileSync(t.ca) };
    const link = createPeerLink('kme-a', [{ id: 'kme-b', url: a.url }], tls); // A's own URL: kme-a answers
    await assert.rejects(link.lookup('kme-b', lookup.key_IDs), /does not name KME "kme-b"/);
    link.close();
  });
});

describe('/metrics bearer token', () => {
  test('the configured token admits a caller; a wrong token does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qkdnet-metrics-token-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'prometheus-scrape-token-0123456789\n', { mode: 0o600 });
    const k = await startKme({
      id: 'kme-a',
      tls: pki.tls('kme-a'),
      store: join(dir, 'kme.db'),
      saes: [{ id: 'sae-a' }],
      metrics: { bearerTokenFile: tokenFile },
      logLevel: 'silent',
    });
    try {
      const t = pki.tls('sae-a');
      const ag = createMtlsAgent({
        cert: readFileSync(t.cert),
        key: readFileSync(t.key),
        ca: readFileSync(t.ca),
      });
      agents.push(ag);
      const get = (token: string) =>
        new Promise<number>((resolve, reject) => {
          import('node:https').then(({ default: https }) =>
            https
              .get(
                `${k.url}/metrics`,
                { agent: ag, headers: { authorization: `Bearer ${token}` } },
                (res) => {
                  res.resume();
                  resolve(res.statusCode!);
                },
              )
              .on('error', reject),
          );
        });
      assert.equal(await get('prometheus-scrape-token-0123456789'), 200);
      assert.equal(await get('prometheus-scrape-token-012345678X'), 401);
    } finally {
      await k.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('revocation', () => {
  test('a revoked SAE is refused on its open connection once the CRL file changes', async () => {
    const sae = as('sae-c');
    assert.equal((await sae(a, 'GET', '/api/v1/keys/sae-b/status')).status, 200);
    await revokeCertificate(pki.dir, 'sae-c');
    let r = await sae(a, 'GET', '/api/v1/keys/sae-b/status');
    for (let i = 0; i < 100 && r.status === 200; i++) {
      await sleep(50); // waiting on the KME's file watch (polled every 500 ms); bounded at 5 s
      r = await sae(a, 'GET', '/api/v1/keys/sae-b/status');
    }
    refused(r, 'revoked sae-c');
  });
  test('a revoked peer KME is refused as caller and as server; reloadCrl (SIGHUP) applies at once', async () => {
    await revokeCertificate(pki.dir, 'kme-b');
    assert.equal(a.reloadCrl(), true);
    refused(await as('kme-b')(a, 'POST', '/api/v1/kme/kme-b/lookup', lookup), 'revoked kme-b');
    const sae = as('sae-a');
    const r = await sae(a, 'GET', '/api/v1/keys/sae-b/enc_keys');
    assert.equal(r.status, 200); // the master still gets its key; the reservation cannot reach kme-b
    const id = (r.body as { keys: { key_ID: string }[] }).keys[0]!.key_ID;
    // sae-b asks KME B, which pulls from KME A as kme-b: A refuses the revoked caller, so B answers 503.
    const s = await as('sae-b')(b, 'GET', `/api/v1/keys/sae-a/dec_keys?key_ID=${id}`);
    assert.equal(s.status, 503, JSON.stringify(s.body));
    assert.ok(!b.store.knows(id), 'KME A pushed to a server whose certificate is revoked');
    assert.ok(a.store.outbox('kme-b', 10).length >= 1, 'the reservation stays in the outbox');
  });
});
