/**
 * The IPsec scenario's KMEs as two `qkdnet site` OS processes (./ipsec-kme-sites.ts, `qkdnet ipsec bench
 * --kmes processes`): a block fed over the IPC pipes is stored by both; the UE agent's source gets a key
 * (enc_keys over real mutual TLS to one process), the N3IWF agent's source gets the same bytes by its
 * key_ID from the other process (dec_keys), once; closing stops both processes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csprngBlockSource } from '../kms/index.ts';
import { startKmeSites } from './ipsec-kme-sites.ts';

test('two KME site processes: fed over IPC, enc_keys at one, the same key once by dec_keys at the other', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-kme-sites-'));
  const lines: string[] = [];
  const kmes = await startKmeSites(join(dir, 'kms'), (l) => lines.push(l));
  try {
    await kmes.feed(csprngBlockSource('sites-test', 65_536)());
    for (let i = 0; i < 3; i++) {
      const a = await kmes.ueKeys.newKey(256);
      assert.ok(a.ok, a.ok ? '' : a.message);
      const b = await kmes.n3iwfKeys.keyById(a.value.keyId);
      assert.ok(b.ok, b.ok ? '' : b.message);
      assert.deepEqual(Buffer.from(b.value.key), Buffer.from(a.value.key));
      const again = await kmes.n3iwfKeys.keyById(a.value.keyId);
      assert.equal(again.ok, false);
    }
  } finally {
    await kmes.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(!lines.some((l) => /process ended/.test(l)), lines.join('\n'));
});
