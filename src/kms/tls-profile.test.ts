/**
 * A TLS scan of a running KME (real sockets, Node's OpenSSL as the scanner): TLS 1.2 in any form — CBC
 * with SHA-1, and even ECDHE with AES-GCM — and TLS 1.3 with the short-tag CCM_8 suite are refused in the
 * handshake; TLS 1.3 with the AEAD suites is accepted; renegotiation cannot be started (TLS 1.3 has
 * none, RFC 8446 §4.6.3 replaces it with KeyUpdate). The KME's own clients use the same profile.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import tls, { type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { KmeHandle } from './server.ts';
import { makeTestPki, startPair, type TestPki } from './kme-pair.fixture.ts';

let pki: TestPki;
let a: KmeHandle;
let close: () => Promise<void>;

before(async () => {
  pki = await makeTestPki();
  ({ a, close } = await startPair(pki, { blocks: 1 }));
});
after(async () => {
  await close();
  pki.cleanup();
});

/** Connects as sae-a with `o`; resolves with the socket once the handshake is done, or the error. */
function handshake(o: ConnectionOptions, port = a.port): Promise<TLSSocket | Error> {
  const t = pki.tls('sae-a');
  return new Promise((resolve) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      cert: readFileSync(t.cert),
      key: readFileSync(t.key),
      ca: readFileSync(t.ca),
      servername: 'localhost',
      ...o,
    });
    s.once('secureConnect', () => resolve(s));
    s.once('error', (e) => resolve(e));
  });
}

const CBC_SHA1 = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA' } as const;
const CCM_8 = { minVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_CCM_8_SHA256' } as const;

test('control: the probes are real — a permissive server with the same key accepts CBC-SHA1 and CCM_8', async () => {
  const t = pki.tls('kme-a');
  const loose = tls.createServer(
    {
      cert: readFileSync(t.cert),
      key: readFileSync(t.key),
      minVersion: 'TLSv1.2',
      ciphers: 'TLS_AES_128_CCM_8_SHA256:ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0',
    },
    (s) => s.end(),
  );
  await new Promise<void>((r) => loose.listen(0, '127.0.0.1', r));
  const port = (loose.address() as { port: number }).port;
  try {
    for (const probe of [CBC_SHA1, CCM_8]) {
      const s = await handshake(probe, port);
      assert.ok(!(s instanceof Error), `${probe.ciphers}: ${(s as Error).message}`);
      s.destroy();
    }
  } finally {
    loose.close();
  }
});

test('TLS 1.2 is refused whatever the suite: CBC-SHA1, CBC-SHA384 and even ECDHE-GCM', async () => {
  for (const ciphers of [CBC_SHA1.ciphers, 'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-ECDSA-AES128-GCM-SHA256']) {
    const r = await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers });
    assert.ok(r instanceof Error, `${ciphers} over TLS 1.2 was accepted`);
  }
});

test('TLS 1.3 with only the CCM_8 suite is refused; each AEAD suite is accepted', async () => {
  const ccm8 = await handshake(CCM_8);
  assert.ok(ccm8 instanceof Error, 'CCM_8 was accepted');
  for (const suite of ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']) {
    const s = await handshake({ ciphers: suite });
    assert.ok(!(s instanceof Error), `${suite}: ${(s as Error).message}`);
    assert.equal(s.getProtocol(), 'TLSv1.3');
    assert.equal(s.getCipher().standardName, suite);
    s.destroy();
  }
});

test('renegotiation cannot be started on a KME connection', async () => {
  const s = await handshake({});
  assert.ok(!(s instanceof Error));
  const outcome = await new Promise<Error | null | 'refused'>((resolve) => {
    try {
      const started = s.renegotiate({ rejectUnauthorized: true }, (e) => resolve(e ?? null));
      if (started === false) resolve('refused');
    } catch (e) {
      resolve(e as Error);
    }
  });
  assert.notEqual(outcome, null, 'a renegotiation completed');
  s.destroy();
});
