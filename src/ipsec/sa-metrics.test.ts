import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../common/index.ts';
import { SaLedger } from './sa-ledger.ts';
import { ledgerRegistry, serveMetrics } from './sa-metrics.ts';

const alert = (kind: string) => ({ kind }) as Alert;
const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

test('GET /metrics over HTTP serves the ledgers live: SAs up and PPKs by provenance, downgrade alerts', async () => {
  const a = new SaLedger('pqc');
  const b = new SaLedger('hybrid');
  a.up('ue-0', '1', 'k0', 'qkd');
  a.up('ue-1', '2', 'k1', 'pqc');
  a.alert(alert('ipsec-pqc-fallback'));
  b.up('ue-2', '3', 'k2', 'hybrid');
  const server = await serveMetrics(
    ledgerRegistry(() => [a.value, b.value]),
    { host: '127.0.0.1', port: 0 },
  );
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const scrape = async () => {
      const res = await fetch(server.url);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      return res.text();
    };
    let m = await scrape();
    assert.equal(value(m, 'qkdnet_ipsec_sa_up{provenance="qkd"}'), 1);
    assert.equal(value(m, 'qkdnet_ipsec_sa_up{provenance="pqc"}'), 1);
    assert.equal(value(m, 'qkdnet_ipsec_sa_up{provenance="hybrid"}'), 1);
    assert.equal(value(m, 'qkdnet_ipsec_alerts_total{kind="ipsec-pqc-fallback"}'), 1);
    assert.match(m, /^# TYPE qkdnet_ipsec_ppk_total counter$/m);
    assert.match(m, /^# TYPE qkdnet_ipsec_sa_up gauge$/m);
    // a rekey retires k0 for k3, a second downgrade, a refusal: the next scrape shows it
    a.retired('k0');
    a.up('ue-0', '4', 'k3', 'pqc');
    a.alert(alert('ipsec-pqc-fallback'));
    b.alert(alert('ipsec-no-qkd-key'));
    m = await scrape();
    assert.equal(value(m, 'qkdnet_ipsec_sa_up{provenance="qkd"}'), undefined, 'no qkd SA up any more');
    assert.equal(value(m, 'qkdnet_ipsec_sa_up{provenance="pqc"}'), 2);
    assert.equal(value(m, 'qkdnet_ipsec_ppk_total{provenance="qkd"}'), 1);
    assert.equal(value(m, 'qkdnet_ipsec_ppk_total{provenance="pqc"}'), 2);
    assert.equal(value(m, 'qkdnet_ipsec_alerts_total{kind="ipsec-pqc-fallback"}'), 2);
    assert.equal(value(m, 'qkdnet_ipsec_alerts_total{kind="ipsec-no-qkd-key"}'), 1);
    assert.doesNotMatch(m, /k[0-3]/, 'no key_ID in the metrics');
    const other = await fetch(server.url.replace('/metrics', '/'));
    assert.equal(other.status, 404);
    await other.text();
    const post = await fetch(server.url, { method: 'POST' });
    assert.equal(post.status, 405);
    await post.text();
  } finally {
    await server.close();
  }
});

test('serveMetrics on a port in use fails with the listen error', async () => {
  const one = await serveMetrics(
    ledgerRegistry(() => []),
    { host: '127.0.0.1', port: 0 },
  );
  try {
    await assert.rejects(
      serveMetrics(
        ledgerRegistry(() => []),
        { host: '127.0.0.1', port: one.port },
      ),
      /EADDRINUSE/,
    );
  } finally {
    await one.close();
  }
});
