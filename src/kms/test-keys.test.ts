/**
 * `simulated-deterministic` keys (made with `--deterministic-keys`, reproducible from a public seed) go
 * only to SAEs configured `test: true`: a master that is not a test SAE never gets one from enc_keys, and
 * a slave that is not a test SAE is refused at dec_keys even when a test master asked for it. Real mutual
 * TLS, real stores.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isQkdnetError } from '../common/index.ts';
import { Etsi014Client } from './client.ts';
import { supplyBoth } from './demo.ts';
import { startKme, type KmeHandle } from './server.ts';
import { makeTestPki, pairConfigs, testBlock, type TestPki } from './kme-pair.fixture.ts';

let pki: TestPki;
let a: KmeHandle;
let b: KmeHandle;
let storeDir: string;
const clients: Etsi014Client[] = [];
const client = (sae: string, kme: KmeHandle) => {
  const c = Etsi014Client.fromFiles(kme.url, pki.tls(sae));
  clients.push(c);
  return c;
};

before(async () => {
  pki = await makeTestPki();
  storeDir = mkdtempSync(join(tmpdir(), 'qkdnet-test-keys-'));
  // sae-a (at A) and sae-b (at B) are test SAEs; sae-c (at A) and sae-d (at B) are not.
  const cfg = pairConfigs(pki, storeDir);
  const mark = (saes: { id: string }[]) =>
    saes.map((s) => (['sae-a', 'sae-b'].includes(s.id) ? { ...s, test: true } : s));
  const b0 = await startKme({ ...cfg.b, saes: mark(cfg.b.saes) });
  a = await startKme({ ...cfg.a, saes: mark(cfg.a.saes), peers: [{ ...cfg.a.peers![0]!, url: b0.url }] });
  const port = b0.port;
  await b0.close();
  b = await startKme({
    ...cfg.b,
    saes: mark(cfg.b.saes),
    port,
    peers: [{ ...cfg.b.peers![0]!, url: a.url }],
  });
  supplyBoth(a, b, { ...testBlock(3, 'det-0', 1024), provenance: 'simulated-deterministic' });
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all([a.close(), b.close()]);
  rmSync(storeDir, { recursive: true, force: true });
  pki.cleanup();
});

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isQkdnetError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  assert.fail('expected a refusal');
}

test('a master that is not a test SAE gets no simulated-deterministic key', async () => {
  const r = await refusal(client('sae-c', a).getKeys('sae-b'));
  assert.equal(r.code, 'KMS_KEY_EXHAUSTED');
});

test('two test SAEs get them, labelled simulated-deterministic at both ends', async () => {
  const [k] = await client('sae-a', a).getKeys('sae-b');
  assert.equal(k!.provenance, 'simulated-deterministic');
  const [s] = await client('sae-b', b).getKeysWithIds('sae-a', [k!.keyId]);
  assert.deepEqual(s!.key, k!.key);
  assert.equal(s!.provenance, 'simulated-deterministic');
});

test('a slave that is not a test SAE is refused at dec_keys even when a test master asked', async () => {
  const [k] = await client('sae-a', a).getKeys('sae-d');
  const r = await refusal(client('sae-d', b).getKeysWithIds('sae-a', [k!.keyId]));
  assert.equal(r.code, 'KMS_UNAUTHORIZED');
  assert.match(r.message, /simulated-deterministic test key; SAE "sae-d" is not configured as a test SAE/);
});

test('protecting key is served to everyone, test SAEs included, and never mixed with test keys', async () => {
  supplyBoth(a, b, testBlock(4, 'qkd-0', 1024));
  const [k] = await client('sae-c', a).getKeys('sae-d');
  assert.equal(k!.provenance, 'qkd');
  const [s] = await client('sae-d', b).getKeysWithIds('sae-c', [k!.keyId]);
  assert.deepEqual(s!.key, k!.key);
});
