import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLedger, SaLedger } from './sa-ledger.ts';
import { ledgerMetrics } from './sa-metrics.ts';
import { ppkIdsFromLog, ueConnMessage, ueIdentity } from './scale.ts';
import { makeWorkDir } from './workdir.ts';

test('the ledger records each SA with its provenance and retirement; metrics count them', async () => {
  const l = new SaLedger('pqc');
  l.up('ue-0', '1', 'k0', 'qkd');
  l.up('ue-1', '2', 'k1', 'qkd');
  l.up('ue-2', '3', 'k2', 'pqc');
  l.retired('k0');
  l.alert({ kind: 'ipsec-pqc-fallback' } as Parameters<SaLedger['alert']>[0]);
  const m = await ledgerMetrics(l.value);
  assert.match(m, /^qkdnet_ipsec_sa_up\{provenance="qkd"\} 1$/m);
  assert.match(m, /^qkdnet_ipsec_sa_up\{provenance="pqc"\} 1$/m);
  assert.match(m, /^qkdnet_ipsec_ppk_total\{provenance="qkd"\} 2$/m);
  assert.match(m, /^qkdnet_ipsec_alerts_total\{kind="ipsec-pqc-fallback"\} 1$/m);
  assert.match(m, /# TYPE qkdnet_ipsec_sa_up gauge/);
  assert.ok(l.value.sas[0]!.retiredAt);
});

test('sas.json is written in the private work directory and read back; a symlink there is not read', () => {
  const dir = makeWorkDir('ledgertest', tmpdir());
  try {
    const l = new SaLedger('fail-closed', dir);
    l.up('ue-0', '7', 'key-7', 'hybrid');
    l.flush();
    assert.equal(readLedger(dir)?.sas[0]?.provenance, 'hybrid');
    l.close();
    unlinkSync(join(dir, 'sas.json'));
    writeFileSync(join(dir, 'other.json'), '{"sas":[{"provenance":"qkd"}]}');
    symlinkSync(join(dir, 'other.json'), join(dir, 'sas.json'));
    assert.equal(readLedger(dir), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PPK_IDs per IKE SA from a charon log with ike_name = yes', () => {
  const log = [
    "13:01:02 12[IKE] <n3iwf-ues|12> using PPK for PPK_ID 'a1b2'",
    '13:01:02 12[IKE] <n3iwf-ues|12> IKE_SA n3iwf-ues[12] established',
    "13:01:03 09[IKE] <n3iwf-ues|13> using PPK for PPK_ID 'c3d4'",
  ].join('\n');
  assert.deepEqual(
    [...ppkIdsFromLog(log)],
    [
      ['12', 'a1b2'],
      ['13', 'c3d4'],
    ],
  );
});

test('UE identities: distinct IKE ids, connections and inner addresses; one PPK_ID per connection', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 600; i++) {
    const u = ueIdentity(i);
    for (const v of [u.id, u.conn, u.inner]) {
      assert.ok(!seen.has(v));
      seen.add(v);
    }
  }
  assert.equal(ueIdentity(0).inner, '10.98.0.1');
  assert.equal(ueIdentity(255).inner, '10.98.1.0');
  const c = ueConnMessage(3, 'k-3')['ue-3'] as Record<string, unknown>;
  assert.equal(c.ppk_id, 'k-3');
  assert.equal(c.ppk_required, true);
  assert.equal((ueConnMessage(3, undefined)['ue-3'] as Record<string, unknown>).ppk_required, false);
  assert.throws(() => ueIdentity(-1), RangeError);
});
