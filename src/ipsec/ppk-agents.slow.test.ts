/**
 * The PPK agents on real strongSwan 5.9.8 in two network namespaces, with the real key managers over
 * mutual TLS (the IPsec integration's checks): SA up with the QKD key as PPK and `ppk = yes`; a wrong key →
 * AUTHENTICATION_FAILED; rotation installs a new key and the old one is gone; KME out of keys → no SA
 * under fail-closed, and an alert; policy pqc → an SA with the ML-KEM-768 key, its provenance logged;
 * the `ipsec up` harness proves the tunnel and `ipsec down` removes its leftovers. Root only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Alert } from '../common/index.ts';
import { csprngBlockSource } from '../kms/index.ts';
import { agentLogger } from './alerts.ts';
import { charonInstalled } from './charon.ts';
import { connMessage, pskMessage } from './connections.ts';
import type { KeySource } from './key-source.ts';
import { ML_KEM_768_PQC, startKmePair, type KmePair } from './kme-pair.ts';
import { ChannelClient } from './peer-channel.ts';
import { InitiatorAgent, type InitiatorAgentOptions } from './ppk-initiator.ts';
import { startResponderAgent, type ResponderAgent } from './ppk-responder.ts';
import { harnessDown, startHarness } from './harness.ts';
import { runIpsecBench } from './bench.ts';
import { readChannelKey, readConnTemplate, startAgentService } from './agent-service.ts';
import { echoThroughTunnel, espPackets, listSas, startTestbed, type Testbed } from './testbed.ts';
import { viciToText } from './vici-codec.ts';
import { makeWorkDir } from './workdir.ts';
import type { ViciClient } from './vici-client.ts';

const canRun = process.getuid?.() === 0 && charonInstalled();
let DIR = ''; // a fresh private work directory (./workdir.ts), made in before()
const CONN = 'n3gpp-test';

/** Shared-secret ids charon holds (`get-shared`): key ids only, never key bytes. */
async function sharedIds(v: ViciClient): Promise<string[]> {
  return (viciToText(await v.request('get-shared', {})).keys as string[] | undefined) ?? [];
}

function memoryLog() {
  const lines: string[] = [];
  return { lines, log: agentLogger('test', 'info', { write: (s: string) => void lines.push(s) }) };
}

const exhausted: KeySource = {
  newKey: async () => ({ ok: false, reason: 'exhausted', message: 'test source: 0 keys' }),
  keyById: async () => ({ ok: false, reason: 'not-found', message: 'test source: 0 keys' }),
};

describe(
  'PPK agents on real strongSwan in namespaces',
  { skip: !canRun && 'needs root and strongSwan' },
  () => {
    let tb: Testbed;
    let kmes: KmePair;
    let responder: ResponderAgent;
    let channelKey: Buffer;
    const alerts: Alert[] = [];
    const agent = (over: Partial<InitiatorAgentOptions> = {}) =>
      new InitiatorAgent({
        vici: tb.ue.vici,
        keys: kmes.ueKeys,
        channel: new ChannelClient(channelKey, '127.0.0.1', responder.port),
        conn: { name: CONN, auth: 'psk' },
        policy: 'fail-closed',
        lifetimeS: 3600,
        log: agentLogger('ue', 'silent'),
        alert: (a) => alerts.push(a),
        ...over,
      });

    before(async () => {
      DIR = makeWorkDir('slowtest');
      tb = await startTestbed('qkslow', join(DIR, 'net'));
      kmes = await startKmePair(join(DIR, 'kms'));
      kmes.feed(csprngBlockSource('link-test', 65_536)());
      const psk = randomBytes(32);
      for (const ep of [tb.ue, tb.n3iwf]) await ep.vici.call('load-shared', pskMessage('psk-test', psk));
      await tb.n3iwf.vici.call(
        'load-conn',
        connMessage({ name: CONN, role: 'responder', auth: 'psk', ppkRequired: true }),
      );
      channelKey = randomBytes(32);
      responder = await startResponderAgent({
        vici: tb.n3iwf.vici,
        keys: kmes.n3iwfKeys,
        channelKey,
        pqc: ML_KEM_768_PQC,
        log: agentLogger('n3iwf', 'silent'),
      });
    });

    after(async () => {
      await responder?.close();
      await kmes?.close();
      await tb?.close();
      rmSync(DIR, { recursive: true, force: true });
    });

    test('the QKD key becomes the PPK on both sides: ppk = yes, traffic crosses the tunnel', async () => {
      const a = agent();
      const r = await a.establish();
      assert.ok(r.ok, !r.ok ? r.message : '');
      assert.equal(r.value.provenance, 'qkd');
      for (const v of [tb.ue.vici, tb.n3iwf.vici]) {
        const sas = await listSas(v);
        assert.equal(sas.length, 1);
        assert.equal(sas[0]!.state, 'ESTABLISHED');
        assert.equal(sas[0]!.ppk, true, 'ppk = yes over VICI');
        assert.deepEqual(
          sas[0]!.children.map((c) => c.state),
          ['INSTALLED'],
        );
      }
      for (const side of ['ue', 'n3iwf'])
        assert.match(
          readFileSync(join(DIR, 'net', side, 'charon.log'), 'utf8'),
          new RegExp(`using PPK for PPK_ID '${r.value.keyId}'`),
        );
      assert.equal(await echoThroughTunnel(tb.pair), true);
      assert.ok((await espPackets(tb.ue.vici)).out > 0, 'ESP carried the echo');
      await a.stop();
      assert.deepEqual(await listSas(tb.ue.vici), []);
      assert.ok(
        !(await sharedIds(tb.n3iwf.vici)).some((id) => id.includes(r.value.keyId)),
        'PPK unloaded at the N3IWF',
      );
    });

    test('a wrong key at the responder fails with AUTHENTICATION_FAILED, no SA, and an alert', async () => {
      const flip: KeySource = {
        newKey: (n) => kmes.n3iwfKeys.newKey(n),
        keyById: async (id) => {
          const r = await kmes.n3iwfKeys.keyById(id);
          if (r.ok) r.value.key[0]! ^= 1;
          return r;
        },
      };
      const bad = await startResponderAgent({
        vici: tb.n3iwf.vici,
        keys: flip,
        channelKey,
        log: agentLogger('bad', 'silent'),
      });
      try {
        const before = alerts.length;
        const a = agent({ channel: new ChannelClient(channelKey, '127.0.0.1', bad.port) });
        const r = await a.establish();
        assert.ok(!r.ok);
        assert.equal(r.reason, 'authentication-failed');
        assert.equal(alerts.at(-1)?.kind, 'ipsec-auth-failed');
        assert.ok(alerts.length > before);
        assert.deepEqual(await listSas(tb.ue.vici), []);
        assert.deepEqual(await listSas(tb.n3iwf.vici), []);
        assert.match(readFileSync(join(DIR, 'net', 'ue', 'charon.log'), 'utf8'), /AUTHENTICATION_FAILED/);
        assert.deepEqual(bad.loaded(), [], 'the failed PPK was released');
      } finally {
        await bad.close();
      }
    });

    test('rotation installs a fresh key on a new IKE SA; the old SA and its PPK are gone on both sides', async () => {
      const rounds: string[] = [];
      const a = agent({ lifetimeS: 1, onRound: (r) => r.ok && rounds.push(r.value.keyId) });
      const first = await a.start();
      assert.ok(first.ok);
      for (let i = 0; i < 60 && rounds.length < 3; i++) await new Promise((res) => setTimeout(res, 100));
      await a.stop();
      assert.ok(rounds.length >= 3, `rotated ${rounds.length - 1} times in 6 s with lifetime 1 s`);
      assert.equal(new Set(rounds).size, rounds.length, 'a fresh key_ID each time');
      // one more round by hand, checked in detail
      const b = agent();
      const r1 = await b.establish();
      const r2 = await b.establish();
      assert.ok(r1.ok && r2.ok);
      assert.notEqual(r1.value.keyId, r2.value.keyId);
      for (const v of [tb.ue.vici, tb.n3iwf.vici]) {
        const sas = await listSas(v);
        assert.equal(sas.length, 1, 'make-before-break left exactly one IKE SA');
        assert.equal(sas[0]!.ppk, true);
        const ids = await sharedIds(v);
        assert.ok(ids.includes(`ppk-${r2.value.keyId}`));
        assert.ok(!ids.includes(`ppk-${r1.value.keyId}`), 'old PPK unloaded');
      }
      assert.equal((await listSas(tb.ue.vici))[0]!.uniqueId, r2.value.ikeUniqueId);
      assert.deepEqual(responder.loaded(), [r2.value.keyId]);
      assert.equal(await echoThroughTunnel(tb.pair), true);
      await b.stop();
    });

    test('KME out of keys under fail-closed: no SA, an alert, and a running SA is taken down', async () => {
      let calls = 0;
      const once: KeySource = {
        newKey: (n) => (calls++ === 0 ? kmes.ueKeys.newKey(n) : exhausted.newKey(n)),
        keyById: exhausted.keyById,
      };
      const a = agent({ keys: once });
      assert.ok((await a.establish()).ok);
      const r = await a.establish();
      assert.ok(!r.ok && r.reason === 'no-key');
      const alert = alerts.at(-1)!;
      assert.equal(alert.kind, 'ipsec-no-qkd-key');
      assert.equal(alert.severity, 'critical');
      assert.deepEqual(alert.evidence, { statistic: 'qkd-keys-available', value: 0, threshold: 1 });
      assert.deepEqual(await listSas(tb.ue.vici), []);
      assert.deepEqual(await listSas(tb.n3iwf.vici), []);
      // and with the real KME drained: a fresh pair that was never fed
      const empty = await startKmePair(join(DIR, 'kms-empty'));
      try {
        const r2 = await agent({ keys: empty.ueKeys }).establish();
        assert.ok(!r2.ok && r2.reason === 'no-key');
        assert.match(r2.message, /exhausted/);
        assert.deepEqual(await listSas(tb.ue.vici), []);
      } finally {
        await empty.close();
      }
    });

    test('policy pqc without QKD keys: an SA with the ML-KEM-768 PPK, provenance pqc logged, and an alert', async () => {
      const { lines, log } = memoryLog();
      const a = agent({ keys: exhausted, policy: 'pqc', pqc: ML_KEM_768_PQC, log });
      const r = await a.establish();
      assert.ok(r.ok, !r.ok ? r.message : '');
      assert.equal(r.value.provenance, 'pqc');
      for (const v of [tb.ue.vici, tb.n3iwf.vici]) assert.equal((await listSas(v))[0]?.ppk, true);
      assert.equal(await echoThroughTunnel(tb.pair), true);
      const up = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'sa-up');
      assert.equal(up?.provenance, 'pqc');
      assert.equal(up?.keyId, r.value.keyId);
      assert.ok(
        lines.every((l) => !/"key"\s*:/.test(l)),
        'no key field in any log line',
      );
      assert.equal(alerts.at(-1)?.kind, 'ipsec-pqc-fallback');
      assert.equal(alerts.at(-1)?.action, 'pqc-only');
      await a.stop();
    });
    test('qkdnet ipsec agent beside "own" strongSwan: a YAML connection template gets the PPK', async () => {
      const files = join(DIR, 'own');
      mkdirSync(files, { recursive: true });
      writeFileSync(join(files, 'chan.key'), `${randomBytes(32).toString('hex')}\n`);
      writeFileSync(
        join(files, 'conn.yaml'),
        [
          'own-conn:',
          '  version: 2',
          '  local_addrs: [10.99.0.1]',
          '  remote_addrs: [10.99.0.2]',
          '  proposals: [aes256gcm16-prfsha256-x25519]',
          '  local: { auth: psk, id: ue.qkdnet.test }',
          '  remote: { auth: psk, id: n3iwf.qkdnet.test }',
          '  children:',
          '    own-child: { local_ts: [10.99.0.65/32], remote_ts: [10.99.0.97/32], esp_proposals: [aes256gcm16] }',
          '',
        ].join('\n'),
      );
      const key = readChannelKey(join(files, 'chan.key'));
      const sae = (n: string) => ({
        cert: join(DIR, 'kms', `${n}.pem`),
        key: join(DIR, 'kms', `${n}.key`),
        ca: join(DIR, 'kms', 'ca.pem'),
      });
      const log = agentLogger('own', 'silent');
      const resp = await startAgentService({
        role: 'responder',
        viciPath: tb.n3iwf.charon.viciPath,
        kme: { url: kmes.n3iwf.url, ...sae('sae-n3iwf') },
        peerSaeId: 'sae-ue',
        channelKey: key,
        listen: { host: '127.0.0.1', port: 0 },
        log,
        metrics: { host: '127.0.0.1', port: 0 },
      });
      const init = await startAgentService({
        role: 'initiator',
        viciPath: tb.ue.charon.viciPath,
        kme: { url: kmes.ue.url, ...sae('sae-ue') },
        peerSaeId: 'sae-n3iwf',
        channelKey: key,
        peer: { host: '127.0.0.1', port: resp.port! },
        connTemplate: readConnTemplate(join(files, 'conn.yaml')),
        log,
        metrics: { host: '127.0.0.1', port: 0 },
      });
      try {
        assert.ok(init.first?.ok, init.first && !init.first.ok ? init.first.message : '');
        // both agents' /metrics over HTTP: the SA (initiator) and its PPK (responder), provenance qkd
        for (const svc of [init, resp]) {
          const res = await fetch(svc.metricsUrl!);
          assert.equal(res.status, 200);
          assert.match(await res.text(), /^qkdnet_ipsec_sa_up\{provenance="qkd"\} 1$/m);
        }
        const sas = await listSas(tb.ue.vici);
        assert.equal(sas[0]?.conn, 'own-conn');
        assert.equal(sas[0]?.ppk, true);
        assert.deepEqual(
          sas[0]?.children.map((c) => c.name),
          ['own-child'],
        );
      } finally {
        await init.close();
        await resp.close();
      }
      assert.deepEqual(await listSas(tb.ue.vici), []);
    });
  },
);

describe('qkdnet ipsec up/down harness', { skip: !canRun && 'needs root and strongSwan' }, () => {
  test('up proves ppk = yes and traffic; down removes daemons, namespaces and files of a crashed up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qkdnet-harness-parent-')); // parent of the run's work dir
    const h = await startHarness({
      prefix: 'qkharn',
      dir,
      lifetimeS: 3600,
      log: agentLogger('h', 'silent'),
      metrics: { host: '127.0.0.1', port: 0 },
    });
    try {
      const s = await h.status();
      assert.equal(s.ppk, true);
      assert.match(await (await fetch(h.metricsUrl!)).text(), /^qkdnet_ipsec_sa_up\{provenance="qkd"\} 1$/m);
      assert.equal(s.traffic, true);
      assert.equal(s.current?.provenance, 'qkd');
      const removed = await harnessDown('qkharn', dir);
      assert.ok(removed.includes('namespace qkharn-ue') && removed.includes('namespace qkharn-n3iwf'));
      const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
      assert.doesNotMatch(left, /qkharn/);
    } finally {
      await h.close();
    }
    assert.deepEqual(await harnessDown('qkharn', dir), [], 'nothing left');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('qkdnet ipsec bench', { skip: !canRun && 'needs root and strongSwan' }, () => {
  test('every mode sets up its SAs and the report has the issue JSON shape', async () => {
    const r = await runIpsecBench({ runs: 2, prefix: 'qkbslow', log: agentLogger('b', 'silent') });
    assert.equal(r.runs, 2);
    assert.deepEqual(
      r.modes.map((m) => `${m.mode}/${m.fetch_in_window}`),
      [
        'cert-ecdsa/false',
        'cert-rsa3072/false',
        'psk/false',
        'psk+qkd-ppk/true',
        'psk+qkd-ppk/false',
        'cert+qkd-ppk/true',
        'cert+qkd-ppk/false',
        'qkd-psk/true',
        'qkd-psk/false',
      ],
    );
    for (const m of r.modes) {
      assert.deepEqual(Object.keys(m), [
        'mode',
        'fetch_in_window',
        'mean_ms',
        'median_ms',
        'p95_ms',
        'sd_ms',
      ]);
      assert.ok(m.median_ms > 0 && m.median_ms < 5000);
    }
    assert.doesNotMatch(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }), /qkbslow/);
  });
});
