/**
 * The mutual-TLS client every KME connection uses (`createMtlsAgent`: SAE clients such as the IPsec PPK
 * agents, and KME-to-KME reservations) turns Nagle off on the connections it opens, and keeps one
 * connection for successive requests. Node 20 sets TCP_NODELAY on the sockets its servers accept, but an
 * https.Agent's `tls.connect` does not (strace: no TCP_NODELAY on the client side before this change).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createMtlsAgent, KME_TLS, requestJson } from './https-json.ts';
import { makeTestPki, type TestPki } from './kme-pair.fixture.ts';

let pki: TestPki;
let server: https.Server;
let url: string;

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
    (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  pki.cleanup();
});

test('createMtlsAgent: its connections have Nagle off (setNoDelay(true)) and are reused', async () => {
  const t = pki.tls('sae-a');
  const agent = createMtlsAgent({
    cert: readFileSync(t.cert),
    key: readFileSync(t.key),
    ca: readFileSync(t.ca),
  });
  const original = Socket.prototype.setNoDelay;
  const noDelay = new Set<Socket>();
  const client = new Set<Socket>();
  Socket.prototype.setNoDelay = function (this: Socket, enable?: boolean) {
    if (enable !== false) noDelay.add(this);
    return original.call(this, enable);
  };
  try {
    for (let i = 0; i < 3; i++) assert.equal((await requestJson(agent, url, 'GET')).status, 200);
    // the connections the agent keeps between requests
    for (const list of Object.values(agent.freeSockets)) for (const s of list ?? []) client.add(s);
  } finally {
    Socket.prototype.setNoDelay = original;
    agent.destroy();
  }
  assert.equal(client.size, 1, 'three requests over one kept-alive connection');
  for (const s of client) assert.ok(noDelay.has(s), 'setNoDelay(true) on the client connection');
});
