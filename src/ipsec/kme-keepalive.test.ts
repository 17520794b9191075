/**
 * The PPK agents' KME connections stay alive: over the real pair of KMEs (mutual TLS on 127.0.0.1), the
 * key sources the agents use (`etsi014KeySource`: enc_keys at the UE's KME, dec_keys at the N3IWF's) make
 * many fetches, and the TLS handshakes counted at both KMEs' servers do not grow after the first fetch —
 * neither from the SAEs' clients nor from the KME-to-KME link that carries the reservations.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csprngBlockSource } from '../kms/index.ts';
import { SAE, startKmePair, type KmePair } from './kme-pair.ts';

let dir: string;
let kmes: KmePair;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qkdnet-keepalive-'));
  kmes = await startKmePair(join(dir, 'kms'));
  kmes.feed(csprngBlockSource('link-keepalive', 65_536)());
  await Promise.all([kmes.ue.settled(), kmes.n3iwf.settled()]);
});
after(async () => {
  await kmes?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One key's journey as the agents make it: enc_keys by the UE's SAE, dec_keys by the N3IWF's. */
async function journey(): Promise<void> {
  const a = await kmes.ueKeys.newKey(256);
  assert.ok(a.ok, JSON.stringify(a));
  const b = await kmes.n3iwfKeys.keyById(a.value.keyId);
  assert.ok(b.ok, JSON.stringify(b));
  assert.deepEqual(Buffer.from(b.value.key), Buffer.from(a.value.key));
  a.value.key.fill(0);
  b.value.key.fill(0);
}

test('20 key journeys reuse the TLS connections opened by the first ones', async () => {
  await journey();
  await journey();
  // The reservations travel to the N3IWF's KME in the background: wait until they have (so the
  // KME-to-KME connection is open too), bounded at 10 s.
  for (let i = 0; i < 500 && kmes.ue.store.outbox('kme-n3iwf', 1).length > 0; i++)
    await new Promise((r) => setTimeout(r, 20));
  assert.equal(kmes.ue.store.outbox('kme-n3iwf', 1).length, 0, 'reservations pushed');
  const first = [kmes.ue.tlsHandshakes(), kmes.n3iwf.tlsHandshakes()];
  assert.ok(first[0]! >= 1 && first[1]! >= 1, `handshakes after the first journeys: ${first}`);
  for (let i = 0; i < 20; i++) await journey();
  assert.deepEqual(
    [kmes.ue.tlsHandshakes(), kmes.n3iwf.tlsHandshakes()],
    first,
    'no new TLS handshake at either KME after the first journeys',
  );
});

test('the GET forms the agents use over real mutual TLS: one key for both ends, delivered once to each', async () => {
  const [k] = await kmes.ueClient.getKeysByQuery(SAE.n3iwf, { number: 1, sizeBits: 256 });
  assert.ok(k && k.key.length === 32);
  const [d] = await kmes.n3iwfClient.getKeyWithId(SAE.ue, k.keyId);
  assert.equal(d?.keyId, k.keyId);
  assert.deepEqual(Buffer.from(d.key), Buffer.from(k.key));
  await assert.rejects(kmes.n3iwfClient.getKeyWithId(SAE.ue, k.keyId), /answered 400/);
  await assert.rejects(
    kmes.ueClient.getKeyWithId(SAE.n3iwf, k.keyId),
    /answered 40[01]/,
    'the master SAE cannot fetch it as slave',
  );
});
