/**
 * Many UEs through one N3IWF on real strongSwan 5.9.8 (two network namespaces, kernel-libipsec) with the
 * real key managers over mutual TLS: ≥ 50 UE identities attach, every SA shows `ppk = yes` on both
 * daemons and the N3IWF's charon logs a distinct PPK_ID for each IKE SA — the key_IDs the agents drew;
 * traffic passes through a sample of the tunnels; reauthentication draws new keys. With the pool emptied,
 * `fail-closed` refuses each UE and `pqc` attaches with provenance `pqc`, an alert each time; `hybrid`
 * with a key gives provenance `hybrid`. Root only; namespaces `5gscale-*` are removed at the end.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../common/index.ts';
import { csprngBlockSource } from '../kms/index.ts';
import { agentLogger } from './alerts.ts';
import { charonInstalled } from './charon.ts';
import { listNamespaces } from './netns.ts';
import { startScaleRig, type ScaleRig } from './scale.ts';
import { ledgerMetrics } from './sa-metrics.ts';
import { readRunStatus, type StatusRow } from './status.ts';

const canRun = process.getuid?.() === 0 && charonInstalled();
const UES = 50;
const PREFIX = '5gscale';

describe('many UEs through one N3IWF (real strongSwan)', { skip: !canRun && 'needs root and charon' }, () => {
  let rig: ScaleRig;
  const alerts: Alert[] = [];
  before(async () => {
    rig = await startScaleRig({
      prefix: PREFIX,
      ues: UES + 12,
      concurrency: 6,
      mode: 'psk+qkd-ppk',
      log: agentLogger('scale', 'silent'),
      alert: (a) => alerts.push(a),
      standInKeys: UES + 8,
      metrics: { host: '127.0.0.1', port: 0 },
    });
  });
  after(async () => {
    await rig?.close();
    assert.deepEqual(await listNamespaces(`${PREFIX}-`), [], 'namespaces removed');
  });

  test(`${UES} UEs attach, each SA with ppk = yes and its own PPK_ID; traffic passes on a sample`, async () => {
    const recs = await rig.attach(
      Array.from({ length: UES }, (_, i) => i),
      'fail-closed',
    );
    assert.equal(recs.filter((r) => r.ok).length, UES, JSON.stringify(recs.filter((r) => !r.ok)));
    assert.ok(recs.every((r) => r.provenance === 'qkd'));
    const keyIds = recs.map((r) => r.keyId!);
    assert.equal(new Set(keyIds).size, UES, 'distinct key_IDs');
    const { ue, n3iwf } = await rig.sas();
    const up = (xs: typeof ue) => xs.filter((s) => s.state === 'ESTABLISHED');
    assert.equal(up(ue).length, UES);
    assert.equal(up(n3iwf).length, UES);
    assert.ok(
      [...ue, ...n3iwf].every((s) => s.ppk),
      'ppk = yes on every SA of both daemons',
    );
    assert.ok(up(n3iwf).every((s) => s.children.some((c) => c.state === 'INSTALLED')));
    // what the N3IWF's charon itself says: one PPK_ID per IKE SA, all distinct, exactly the agents' key_IDs
    const logged = rig.n3iwfPpkIds();
    const perSa = up(n3iwf).map((s) => logged.get(s.uniqueId));
    assert.ok(perSa.every((id) => id !== undefined));
    assert.equal(new Set(perSa).size, UES);
    assert.deepEqual([...perSa].sort(), [...keyIds].sort());
    for (const i of [0, 17, UES - 1]) assert.ok(await rig.traffic(i), `echo through UE ${i}'s tunnel`);
  });

  test('reauthentication draws a new key: new PPK_ID, the old one unloaded at the N3IWF', async () => {
    const before = new Map(rig.records.map((r) => [r.ue, r.keyId]));
    const recs = await rig.attach([0, 1, 2], 'fail-closed');
    for (const r of recs) {
      assert.ok(r.ok);
      assert.notEqual(r.keyId, before.get(r.ue));
      assert.ok(rig.responder!.loaded().includes(r.keyId!));
      assert.ok(!rig.responder!.loaded().includes(before.get(r.ue)!), 'old PPK unloaded');
    }
    const { n3iwf } = await rig.sas();
    assert.equal(
      n3iwf.filter((s) => s.state === 'ESTABLISHED').length,
      UES,
      'make-before-break: one SA per UE',
    );
  });

  test('ipsec status: every SA shows ppk = yes, its PPK_ID and provenance; metrics count them', async () => {
    await new Promise((res) => setTimeout(res, 400)); // the ledger file is written at most every 250 ms
    const [run] = await readRunStatus(PREFIX);
    assert.ok(run);
    const live = new Set(
      rig
        .ledger()
        .sas.filter((x) => !x.retiredAt)
        .map((x) => x.keyId),
    );
    for (const side of ['UE', 'N3IWF'] as const) {
      const rows: readonly StatusRow[] = run.rows.filter((r) => r.side === side && r.state === 'ESTABLISHED');
      assert.equal(rows.length, UES, side);
      assert.ok(
        rows.every((r) => r.ppk && r.provenance === 'qkd' && live.has(r.ppkId!)),
        side,
      );
    }
    assert.match(
      await ledgerMetrics(run.ledger!),
      new RegExp(`^qkdnet_ipsec_sa_up\\{provenance="qkd"\\} ${UES}$`, 'm'),
    );
  });

  test('pool emptied: fail-closed refuses every UE with an alert each, no SA appears', async () => {
    await rig.drain();
    const n0 = alerts.length;
    const recs = await rig.attach([UES, UES + 1, UES + 2], 'fail-closed');
    assert.ok(recs.every((r) => !r.ok && r.reason === 'no-key'));
    const fresh = alerts.slice(n0);
    assert.equal(fresh.length, 3);
    assert.ok(fresh.every((a) => a.kind === 'ipsec-no-qkd-key' && a.severity === 'critical'));
    const { n3iwf } = await rig.sas();
    assert.equal(n3iwf.length, UES, 'no SA for a refused UE');
  });

  test('pool emptied: pqc attaches with provenance pqc (ppk = yes), a downgrade alert each time', async () => {
    const n0 = alerts.length;
    const ids = [UES + 3, UES + 4, UES + 5];
    const recs = await rig.attach(ids, 'pqc');
    assert.ok(
      recs.every((r) => r.ok && r.provenance === 'pqc'),
      JSON.stringify(recs),
    );
    const fresh = alerts.slice(n0);
    assert.equal(fresh.length, 3);
    assert.ok(fresh.every((a) => a.kind === 'ipsec-pqc-fallback' && a.action === 'pqc-only'));
    const { n3iwf } = await rig.sas();
    assert.equal(n3iwf.length, UES + 3);
    assert.ok(n3iwf.every((s) => s.ppk));
    const logged = new Set(rig.n3iwfPpkIds().values());
    assert.ok(recs.every((r) => logged.has(r.keyId!)));
    assert.ok(await rig.traffic(UES + 4), 'traffic through a pqc-protected tunnel');
    await new Promise((res) => setTimeout(res, 400));
    const [run] = await readRunStatus(PREFIX);
    const pqcRows = run!.rows.filter((r) => r.provenance === 'pqc');
    assert.equal(pqcRows.length, 6, 'three SAs on each side show provenance pqc');
    assert.match(
      await ledgerMetrics(run!.ledger!),
      /^qkdnet_ipsec_alerts_total\{kind="ipsec-pqc-fallback"\} 3$/m,
    );
    // what a Prometheus scraper sees over HTTP while the rig runs: the real SAs by provenance, the downgrades
    const scraped = await (await fetch(rig.metricsUrl!)).text();
    assert.match(scraped, new RegExp(`^qkdnet_ipsec_sa_up\\{provenance="qkd"\\} ${UES}$`, 'm'));
    assert.match(scraped, /^qkdnet_ipsec_sa_up\{provenance="pqc"\} 3$/m);
    assert.match(scraped, /^qkdnet_ipsec_alerts_total\{kind="ipsec-pqc-fallback"\} 3$/m);
    assert.match(scraped, /^qkdnet_ipsec_alerts_total\{kind="ipsec-no-qkd-key"\} 3$/m);
  });

  test('hybrid with a fresh QKD key: provenance hybrid, no alert; all PPK_IDs ever used are distinct', async () => {
    rig.kmes.feed(csprngBlockSource('link-ue-n3iwf', 65_536)());
    const n0 = alerts.length;
    const recs = await rig.attach([UES + 6, UES + 7], 'hybrid');
    assert.ok(
      recs.every((r) => r.ok && r.provenance === 'hybrid'),
      JSON.stringify(recs),
    );
    assert.equal(alerts.length, n0);
    const ids = rig.records.filter((r) => r.ok).map((r) => r.keyId);
    assert.equal(new Set(ids).size, ids.length, 'no PPK_ID used twice');
  });
});

describe(
  'SA key lifetime drives reauthentication with fresh keys (real strongSwan)',
  {
    skip: !canRun && 'needs root and charon',
  },
  () => {
    const LIFE_UES = 6;
    const LIFETIME_S = 2;
    const LIFE_PREFIX = '5glife';
    let rig: ScaleRig;
    before(async () => {
      rig = await startScaleRig({
        prefix: LIFE_PREFIX,
        ues: LIFE_UES,
        concurrency: 3,
        mode: 'psk+qkd-ppk',
        log: agentLogger('scale-life', 'silent'),
        standInKeys: LIFE_UES * 6,
        lifetimeS: LIFETIME_S,
      });
    });
    after(async () => {
      await rig?.close();
      assert.deepEqual(await listNamespaces(`${LIFE_PREFIX}-`), [], 'namespaces removed');
    });

    test('each UE reauthenticates when its lifetime runs out, by itself, with a new distinct PPK_ID', async () => {
      const first = await rig.attach(
        Array.from({ length: LIFE_UES }, (_, i) => i),
        'fail-closed',
      );
      assert.ok(
        first.every((r) => r.ok && r.cause === 'attach'),
        JSON.stringify(first),
      );
      const lifetimeRounds = () => rig.records.filter((r) => r.cause === 'lifetime');
      // nothing calls attach() again: only the agents' own timers can add records
      const deadline = Date.now() + 20_000;
      while (
        Date.now() < deadline &&
        new Set(
          lifetimeRounds()
            .filter((r) => r.ok)
            .map((r) => r.ue),
        ).size < LIFE_UES
      )
        await new Promise((res) => setTimeout(res, 200));
      const rekeys = lifetimeRounds();
      assert.ok(
        rekeys.every((r) => r.ok && r.provenance === 'qkd'),
        JSON.stringify(rekeys),
      );
      assert.equal(new Set(rekeys.map((r) => r.ue)).size, LIFE_UES, 'every UE rekeyed on its lifetime');
      // a rekey happened only after the lifetime had run out (timer started when the first attach returned)
      for (const r of rekeys) {
        const att = first.find((f) => f.ue === r.ue)!;
        assert.ok(r.endMs - att.endMs >= LIFETIME_S * 1000 - 50, `UE ${r.ue} rekeyed after its lifetime`);
      }
      const all = [...first, ...rekeys].map((r) => r.keyId!);
      assert.equal(new Set(all).size, all.length, 'every lifetime rekey drew a new, distinct PPK_ID');
      // strongSwan's side: the N3IWF's charon used each new PPK_ID for an IKE SA; one SA per UE remains,
      // protected by the UE's latest key, and the previous PPKs are unloaded
      await new Promise((res) => setTimeout(res, 300));
      const logged = new Set(rig.n3iwfPpkIds().values());
      assert.ok(rekeys.every((r) => logged.has(r.keyId!)));
      const latest = new Map<number, string>();
      for (const r of [...first, ...rig.records.filter((x) => x.cause === 'lifetime' && x.ok)])
        latest.set(r.ue, r.keyId!);
      const { n3iwf } = await rig.sas();
      const up = n3iwf.filter((s) => s.state === 'ESTABLISHED');
      assert.ok(up.length >= LIFE_UES && up.every((s) => s.ppk));
      const perSa = new Set(up.map((s) => rig.n3iwfPpkIds().get(s.uniqueId)));
      for (const id of latest.values()) assert.ok(perSa.has(id), `SA with the latest PPK ${id}`);
      for (const r of first) assert.ok(!rig.responder!.loaded().includes(r.keyId!), 'first PPK unloaded');
      assert.ok(await rig.traffic(0), 'traffic after the lifetime rekey');
    });
  },
);
