import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer } from './app.ts';
import { pageSession } from './page-session.fixture.ts';
import { startLiveNetwork } from './compose.ts';
import type { LiveEvent } from './types.ts';

// The composition over the real NetworkSimulation (no KMEs: the slow e2e suite covers those), fast-paced.
// Seeded (seed 7) so routes and alerts are the same on every run.
async function withNetwork(
  fn: (net: Awaited<ReturnType<typeof startLiveNetwork>>) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-compose-'));
  const net = await startLiveNetwork({
    scenarioPath: 'scenarios/metro-demo.yaml',
    dataDir: dir,
    speed: 200,
    seed: 7,
    kmes: false,
    sampleIntervalMs: 100,
  });
  try {
    await fn(net);
  } finally {
    await net.live.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function until(
  net: Awaited<ReturnType<typeof startLiveNetwork>>,
  pred: () => boolean,
  what: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`never saw ${what}`)), 20_000);
    const check = setInterval(() => {
      if (pred()) {
        clearTimeout(deadline);
        clearInterval(check);
        resolve();
      }
    }, 20);
    void net;
  });
}

test('the live network shows the scenario and its links fill pools and record samples as time passes', async () => {
  await withNetwork(async (net) => {
    const s0 = net.live.state();
    assert.equal(s0.scenario.name, 'metro-demo');
    assert.equal(s0.nodes.length, 6);
    assert.equal(s0.links.length, 9);
    assert.ok(s0.attackKinds.includes('intercept-resend'));
    await until(net, () => net.live.history('hq-dcn').length >= 3, 'three samples');
    const h = net.live.history('hq-dcn');
    assert.ok(
      h.every((p, i) => i === 0 || p.timeS > h[i - 1]!.timeS),
      'samples in time order',
    );
    assert.ok(h.at(-1)!.keyRateBps > 0, 'a working link produces key');
    assert.ok(net.live.state().timeS > 0);
    // Metadata only: no key material in the state the API and SSE serve.
    assert.doesNotMatch(JSON.stringify(net.live.state()), /"(key|material|secret)"\s*:/);
    // The provenance mix is the network's own total of delivered bits.
    assert.deepEqual(net.live.state().provenance, net.simulation.snapshot().totals.servedByProvenance);
    net.live.setSpeed(50);
    assert.equal(net.live.state().speed, 50);
  });
});

test('intercept-resend through the API raises an alert and quarantines the link', async () => {
  await withNetwork(async (net) => {
    const events: LiveEvent[] = [];
    net.live.subscribe((e) => events.push(e));
    const app = buildServer(net.live, { webRoot: '/nonexistent' });
    const res = await (
      await pageSession(app)
    )({
      method: 'POST',
      url: '/api/links/dcn-ex/attack',
      payload: { kind: 'intercept-resend' },
    });
    assert.equal(res.statusCode, 202);
    await until(
      net,
      () => net.live.state().links.find((l) => l.id === 'dcn-ex')!.state === 'quarantined',
      'quarantine',
    );
    const alert = events.find((e) => e.type === 'alert' && e.alert.linkId === 'dcn-ex');
    assert.ok(alert && alert.type === 'alert');
    // Intercept-resend on every pulse adds 1/4 to the QBER (Bennett & Brassard 1984) over the 11% abort threshold.
    assert.ok(alert.alert.evidence.value > alert.alert.evidence.threshold);
    assert.equal(net.live.state().links.find((l) => l.id === 'dcn-ex')!.health, 'quarantined');
    assert.ok(
      events.some((e) => e.type === 'link-state' && e.linkId === 'dcn-ex' && e.state === 'quarantined'),
    );
    await app.close();
  });
});

test('cutting the direct link reroutes the application over trusted nodes', async () => {
  await withNetwork(async (net) => {
    const route = () => net.live.state().apps.find((a) => a.id === 'telemetry')!.route;
    await until(net, () => route() !== null, 'a first route');
    assert.deepEqual(route()!.paths, [['hq', 'dc-north']]);
    net.live.failLink('hq-dcn');
    await until(
      net,
      () => JSON.stringify(route()?.paths) !== JSON.stringify([['hq', 'dc-north']]) && route() !== null,
      'a reroute',
    );
    const paths = route()!.paths;
    assert.ok(
      paths.every((p) => p.length > 2),
      JSON.stringify(paths),
    );
    assert.equal(net.live.state().links.find((l) => l.id === 'hq-dcn')!.health, 'down');
    assert.ok(net.live.state().reroutes >= 1);
  });
});

test('stopping the attack restores the quarantined link, its QBER falls back and /metrics has the detectors', async () => {
  await withNetwork(async (net) => {
    const app = buildServer(net.live, { webRoot: '/nonexistent', registries: net.registries });
    const link = () => net.live.state().links.find((l) => l.id === 'hq-bw')!;
    net.live.injectAttack('hq-bw', 'intercept-resend');
    await until(net, () => link().state === 'quarantined', 'quarantine');
    const res = await (await pageSession(app))({ method: 'DELETE', url: '/api/links/hq-bw/attack' });
    assert.equal(res.statusCode, 202);
    assert.equal(link().state, 'up');
    assert.equal(link().attack, null);
    const after = net.live.history('hq-bw').length;
    await until(net, () => net.live.history('hq-bw').length >= after + 2, 'two fresh samples');
    // GYS at 7 km: QBER ≈ e_d = 3.3% (Gobby et al. 2004; Ma et al. 2005 Table I); far below 11% again.
    assert.ok(net.live.history('hq-bw').at(-1)!.qber! < 0.06);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^qkdnet_detect_alerts_total\{[^}]*link="hq-bw"[^}]*\} \d+$/m);
    assert.match(metrics, /^qkdnet_link_up\{link="hq-bw"\} 1$/m);
    await app.close();
  });
});
