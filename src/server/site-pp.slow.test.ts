/**
 * Sites post-process their links between themselves: two real `qkdnet site` processes (each its own KME,
 * store and certificates), link a-b with the link engine (12 km GYS, 10⁹-pulse blocks). The supervisor
 * (this test) only orders blocks; Alice's end runs in site a's process, Bob's in site b's, over TCP with
 * the two-party runtime (authenticated). Checked: both sites report the same final-key length; the two
 * KMEs hand out identical keys for the link over ETSI GS QKD 014 (master at a, slave at b); and no key
 * material crosses the supervisor's channel — no `supply` message was sent, and no message a site sent
 * holds bytes (every one is scanned for Uint8Array / ArrayBuffer / Buffer).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etsi014Client } from '../kms/index.ts';
import { resolveLinkParams } from '../network/index.ts';
import { startLiveSites, type LiveSites } from './live-sites.ts';
import { SiteKeySupply } from './site-key-supply.ts';
import type { FromSite } from './site-protocol.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'qkdnet-site-pp-'));
let sites: LiveSites | undefined;
let supply: SiteKeySupply | undefined;
after(async () => {
  supply?.close();
  await sites?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** True when `v` holds binary data anywhere (a key would travel as bytes). */
function holdsBytes(v: unknown): boolean {
  if (v instanceof Uint8Array || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return true;
  if (typeof v !== 'object' || v === null) return false;
  return Object.values(v).some(holdsBytes);
}

test('each site runs its own end of the link; both KMEs hold identical keys; no key crosses the supervisor', async () => {
  const received: { node: string; m: FromSite }[] = [];
  const outcomes: { linkId: string; o: { bits: number } | { reason: string } }[] = [];
  sites = await startLiveSites({
    mode: 'processes',
    nodes: [
      { id: 'a', neighbours: ['b'] },
      { id: 'b', neighbours: ['a'] },
    ],
    links: [{ id: 'a-b', from: 'a', to: 'b', lengthKm: 12 }],
    dataDir,
    onMessage: (node, m) => {
      received.push({ node, m });
      supply?.receive(node, m);
    },
    ppLinks: [{ id: 'a-b', from: 'a', to: 'b', params: resolveLinkParams('gys', []), distanceKm: 12 }],
    pp: { seed: 'site-pp-test', keys: 'secret', pulses: 1e9 },
  });
  await sites.ready(180_000);
  const fleet = sites;
  supply = new SiteKeySupply({
    links: [{ id: 'a-b', from: 'a', to: 'b' }],
    send: (node, m) => fleet.send(node, m),
    usable: () => fleet.isUp('a') && fleet.isUp('b'),
    attackOf: () => null,
    nowNs: () => 0,
    onBlock: (linkId, o) => outcomes.push({ linkId, o }),
  });
  const deadline = Date.now() + 400_000;
  while (!outcomes.some((x) => 'bits' in x.o) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  supply.close();
  const ok = outcomes.find((x) => 'bits' in x.o);
  assert.ok(ok, `no block distilled: ${JSON.stringify(outcomes)}`);
  const bits = (ok.o as { bits: number }).bits;
  // Lim et al. 2014 finite-key length at 12 km with ~10⁷ detections: order 10⁵ bits.
  assert.ok(bits > 5e4 && bits < 1e6, String(bits));

  // Both ends answered for themselves, with the same length.
  const done = received.filter((x) => x.m.t === 'pp-done' && 'bits' in x.m.outcome);
  assert.deepEqual(new Set(done.map((x) => x.node)), new Set(['a', 'b']));
  // The supervisor's channel: orders and heartbeats out, outcomes and pongs back; never key bytes.
  const sent = fleet.sentCounts();
  assert.equal(sent.supply, undefined, JSON.stringify(sent));
  assert.ok((sent['pp-block'] ?? 0) >= 2, JSON.stringify(sent));
  for (const { m } of received) assert.ok(!holdsBytes(m), `message ${m.t} carries bytes`);

  // The KMEs of the two sites hold the same keys: enc_keys at a (master), dec_keys at b (slave).
  const pki = join(dataDir, 'pki');
  const files = (name: string) => ({
    cert: join(pki, `${name}.pem`),
    key: join(pki, `${name}.key`),
    ca: join(pki, 'ca.pem'),
  });
  const url = (node: string) => fleet.kmes.get(node)!.url;
  const master = Etsi014Client.fromFiles(url('a'), files('sae-a'), { kmeId: 'kme-a' });
  const slave = Etsi014Client.fromFiles(url('b'), files('sae-b'), { kmeId: 'kme-b' });
  try {
    const keys = await master.getKeys('sae-b', { number: 8, sizeBits: 256 });
    const got = await slave.getKeysWithIds(
      'sae-a',
      keys.map((k) => k.keyId),
    );
    assert.equal(got.length, keys.length);
    for (let i = 0; i < keys.length; i++) {
      assert.equal(got[i]!.keyId, keys[i]!.keyId);
      assert.ok(Buffer.from(got[i]!.key).equals(Buffer.from(keys[i]!.key)), `key ${i} differs`);
    }
    for (const k of [...keys, ...got]) k.key.fill(0);
  } finally {
    master.close();
    slave.close();
  }
});
