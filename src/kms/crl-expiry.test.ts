/**
 * A CRL whose nextUpdate has passed (RFC 5280 §5.1.2.5), over real mutual-TLS sockets: under the default
 * policy `refuse` a KME refuses every caller with 401 and raises a `crl-expired` alert; under `alert` it
 * keeps serving by the stale list and raises the alert; a fresh CRL written afterwards restores service
 * without a restart. The policy logic itself is checked with a fake clock.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Alert } from '../common/index.ts';
import { certificatesOf, crlExpired, revocationCheck, watchCrl, type RevocationList } from './crl.ts';
import { createMtlsAgent, requestJson } from './https-json.ts';
import { writeCrl } from './pki.ts';
import { startKme, type KmeHandle } from './server.ts';
import { makeTestPki, pairConfigs, type TestPki } from './kme-pair.fixture.ts';

let pki: TestPki;
let dir: string;
const HOUR = 3_600_000;
const quiet = { info: () => {}, error: () => {} };

before(async () => {
  pki = await makeTestPki();
  dir = mkdtempSync(join(tmpdir(), 'qkdnet-crl-expiry-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
  pki.cleanup();
});

/** A CRL in the test PKI that lapsed an hour ago. */
const lapsed = () =>
  writeCrl(pki.dir, {
    lastUpdate: new Date(Date.now() - 2 * HOUR),
    nextUpdate: new Date(Date.now() - HOUR),
  });

describe('policy', () => {
  test('crlExpired compares nextUpdate with the clock; no nextUpdate never expires', () => {
    const l: RevocationList = { serials: new Set(['AB']), thisUpdateMs: 0, nextUpdateMs: 1000 };
    assert.equal(crlExpired(l, 1000), false);
    assert.equal(crlExpired(l, 1001), true);
    assert.equal(crlExpired({ ...l, nextUpdateMs: undefined }, 1e15), false);
  });

  test('refuse judges every serial revoked once the list lapses; alert keeps the list; onExpired once', async () => {
    await writeCrl(pki.dir, { nextUpdate: new Date(Date.now() + HOUR) });
    let now = Date.now();
    const lapses: RevocationList[] = [];
    const cas = certificatesOf(readFileSync(pki.tls('kme-a').ca));
    const w = watchCrl(join(pki.dir, 'crl.pem'), cas, quiet, {
      now: () => now,
      onExpired: (l) => lapses.push(l),
    });
    try {
      const refuse = revocationCheck(w, 'refuse');
      const alert = revocationCheck(w, 'alert');
      assert.equal(refuse('1234'), false);
      now += 2 * HOUR;
      assert.equal(refuse('1234'), true, 'refuse: everyone is refused after nextUpdate');
      assert.equal(alert('1234'), false, 'alert: the stale list still decides');
      assert.equal(lapses.length, 1, 'the lapse is reported once per list');
      assert.equal(revocationCheck(undefined)('1234'), false, 'no CRL configured: nothing refused');
    } finally {
      w.stop();
    }
  });
});

describe('a KME with a lapsed CRL', () => {
  async function kme(crlExpiry?: 'refuse' | 'alert'): Promise<{ k: KmeHandle; alerts: Alert[] }> {
    const storeDir = mkdtempSync(join(dir, 'store-'));
    const { a } = pairConfigs(pki, storeDir);
    const k = await startKme({ ...a, tls: { ...a.tls, ...(crlExpiry ? { crlExpiry } : {}) } });
    const alerts: Alert[] = [];
    k.core.onAlert((x) => alerts.push(x));
    return { k, alerts };
  }
  const status = async (k: KmeHandle) => {
    const t = pki.tls('sae-a');
    const ag = createMtlsAgent({
      cert: readFileSync(t.cert),
      key: readFileSync(t.key),
      ca: readFileSync(t.ca),
    });
    try {
      return await requestJson(ag, `${k.url}/api/v1/keys/sae-b/status`, 'GET');
    } finally {
      ag.destroy();
    }
  };

  /**
   * Writes a CRL that lapses ~2 s from now. `beforeLapse` checks that an answer given while it was still
   * valid was 200; an answer that came only after the lapse (a start-up slowed by a loaded machine) is
   * judged by the lapse checks that follow instead. nextUpdate is stored in whole seconds (RFC 5280 §4.1.2.5).
   */
  async function lapsingCrl() {
    const at = Math.floor((Date.now() + 2500) / 1000) * 1000;
    await writeCrl(pki.dir, { nextUpdate: new Date(at) });
    return {
      beforeLapse(r: { status: number }) {
        if (Date.now() < at - 200) assert.equal(r.status, 200, 'served while the CRL was valid');
      },
    };
  }

  test('default policy: a KME started with a lapsed CRL answers every caller 401; a fresh CRL restores service', async () => {
    await lapsed();
    const { k } = await kme();
    try {
      const r = await status(k);
      assert.equal(r.status, 401, JSON.stringify(r.body));
      assert.deepEqual(Object.keys(r.body as object), ['message']);
      await writeCrl(pki.dir); // valid 30 days
      assert.equal(k.reloadCrl(), true);
      assert.equal((await status(k)).status, 200, 'a fresh CRL restores service without a restart');
    } finally {
      await k.close();
    }
  });

  test('tls.crlExpiry: alert keeps serving by the stale list and raises crl-expired', async () => {
    const lapse = await lapsingCrl();
    const { k, alerts } = await kme('alert');
    try {
      lapse.beforeLapse(await status(k));
      for (let i = 0; i < 300 && !alerts.some((x) => x.kind === 'crl-expired'); i++) await sleep(50);
      const a = alerts.find((x) => x.kind === 'crl-expired');
      assert.ok(a, 'crl-expired alert raised once nextUpdate passed');
      assert.equal(a.severity, 'critical');
      assert.equal((await status(k)).status, 200, 'alert policy: still serving');
    } finally {
      await k.close();
      await writeCrl(pki.dir);
    }
  });

  test('default policy with a CRL that lapses while running: alert raised, then 401', async () => {
    const lapse = await lapsingCrl();
    const { k, alerts } = await kme();
    try {
      lapse.beforeLapse(await status(k));
      for (let i = 0; i < 300 && !alerts.some((x) => x.kind === 'crl-expired'); i++) await sleep(50);
      assert.ok(
        alerts.some((x) => x.kind === 'crl-expired'),
        'crl-expired alert raised',
      );
      assert.equal((await status(k)).status, 401, 'the open connection is judged again');
    } finally {
      await k.close();
      await writeCrl(pki.dir);
    }
  });
});
