/**
 * The client connections to a KME, over real mutual TLS. `createMtlsAgent` (./https-json.ts: SAE clients
 * such as the IPsec PPK agents, and KME-to-KME reservations) turns Nagle off on the connections it opens
 * — Node 20 sets TCP_NODELAY on the sockets its servers accept, but an https.Agent's `tls.connect` does
 * not — and keeps one connection for successive requests.
 * The hand-read GET connection of the SAE client (./https-get.ts): successive GETs
 * share one TLS connection with Nagle off; the answer's status and JSON body come back as from
 * `requestJson`; a server that is not the expected KME is refused in the handshake before any request
 * leaves; a connection the server closed while idle is replaced; an answer without Content-Length fails
 * the request (never guessed at).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { Socket, type AddressInfo } from 'node:net';
import { KeptGetConnection } from './https-get.ts';
import { createMtlsAgent, KME_TLS, requestJson } from './https-json.ts';
import { makeTestPki, testPin, type TestPki } from './kme-pair.fixture.ts';

let pki: TestPki;
let server: https.Server;
let origin: string;
let handshakes = 0;
const seen: { url: string; accept: string | undefined }[] = [];
let chunked = false;

before(async () => {
  pki = await makeTestPki();
  const t = pki.tls('kme-a');
  server = https.createServer(
    {
      cert: readFileSync(t.cert),
      key: readFileSync(t.key),
      ca: readFileSync(t.ca),
      requestCert: true,
      rejectUnauthorized: true,
      ...KME_TLS,
    },
    (req, res) => {
      seen.push({ url: req.url ?? '', accept: req.headers.accept });
      res.setHeader('content-type', 'application/json');
      if (chunked) {
        res.write('{"a":');
        res.end('1}');
        return;
      }
      res.statusCode = req.url?.includes('missing') ? 404 : 200;
      res.end(JSON.stringify({ url: req.url }));
    },
  );
  server.on('secureConnection', () => handshakes++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  pki.cleanup();
});

const identity = (name: string) => {
  const t = pki.tls(name);
  return { cert: readFileSync(t.cert), key: readFileSync(t.key), ca: readFileSync(t.ca) };
};

test('successive GETs share one TLS connection with Nagle off; status and JSON body as sent', async () => {
  const before = handshakes;
  const g = new KeptGetConnection(origin, identity('sae-a'), {
    role: 'if-present',
    kmeId: 'kme-a',
    pin: testPin(pki, 'kme-a'),
  });
  const original = Socket.prototype.setNoDelay;
  const noDelay: Socket[] = [];
  Socket.prototype.setNoDelay = function (this: Socket, enable?: boolean) {
    if (enable !== false) noDelay.push(this);
    return original.call(this, enable);
  };
  try {
    seen.length = 0;
    for (let i = 0; i < 3; i++) {
      const a = await g.get(`/api/v1/keys/sae-b/enc_keys?number=1&size=${256 + 8 * i}`);
      assert.equal(a.status, 200);
      assert.deepEqual(a.body, { url: `/api/v1/keys/sae-b/enc_keys?number=1&size=${256 + 8 * i}` });
    }
    assert.equal((await g.get('/missing')).status, 404);
  } finally {
    Socket.prototype.setNoDelay = original;
    g.close();
  }
  assert.equal(handshakes - before, 1, 'one TLS connection for four GETs');
  assert.ok(noDelay.length >= 1, 'Nagle off on the connection');
  assert.deepEqual(
    seen.map((s) => s.accept),
    ['application/json', 'application/json', 'application/json', 'application/json'],
  );
});

test('a server that is not the expected KME is refused before the request leaves', async () => {
  seen.length = 0;
  const g = new KeptGetConnection(origin, identity('sae-a'), { role: 'if-present', kmeId: 'kme-b' });
  await assert.rejects(g.get('/api/v1/keys/sae-b/status'), (e: Error & { requestSent?: boolean }) => {
    assert.equal(e.requestSent, false);
    assert.match(e.message, /kme-b/);
    return true;
  });
  g.close();
  assert.equal(seen.length, 0, 'the server saw no request');
});

test('a connection the server closed while idle is replaced; an answer without Content-Length fails', async () => {
  const g = new KeptGetConnection(origin, identity('sae-a'));
  try {
    assert.equal((await g.get('/one')).status, 200);
    const before = handshakes;
    assert.ok(g.open);
    server.closeIdleConnections();
    for (let i = 0; i < 10_000 && g.open; i++) await new Promise((r) => setImmediate(r));
    assert.equal(g.open, false, 'the client saw the server close the idle connection');
    assert.equal((await g.get('/two')).status, 200);
    assert.equal(handshakes - before, 1, 'a new connection after the server closed the idle one');
    chunked = true;
    await assert.rejects(g.get('/three'), (e: Error & { requestSent?: boolean }) => {
      assert.equal(e.requestSent, true);
      assert.match(e.message, /Content-Length/);
      return true;
    });
    chunked = false;
    assert.deepEqual((await g.get('/four')).body, { url: '/four' }, 'a fresh connection after the failure');
  } finally {
    chunked = false;
    g.close();
  }
});

test('createMtlsAgent: its connections have Nagle off (setNoDelay(true)) and are reused', async () => {
  const agent = createMtlsAgent(identity('sae-a'));
  const original = Socket.prototype.setNoDelay;
  const noDelay = new Set<Socket>();
  const client = new Set<Socket>();
  Socket.prototype.setNoDelay = function (this: Socket, enable?: boolean) {
    if (enable !== false) noDelay.add(this);
    return original.call(this, enable);
  };
  try {
    for (let i = 0; i < 3; i++) assert.equal((await requestJson(agent, `${origin}/`, 'GET')).status, 200);
    // the connections the agent keeps between requests
    for (const list of Object.values(agent.freeSockets)) for (const s of list ?? []) client.add(s);
  } finally {
    Socket.prototype.setNoDelay = original;
    agent.destroy();
  }
  assert.equal(client.size, 1, 'three requests over one kept-alive connection');
  for (const s of client) assert.ok(noDelay.has(s), 'setNoDelay(true) on the client connection');
});
