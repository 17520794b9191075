/**
 * Prometheus metrics of the live network (`GET /metrics`, text exposition format 0.0.4), all named
 * `qkdnet_*`. Gauges are read from `LiveNetwork.state()` at scrape time, so a scrape always shows one
 * consistent instant; counters (alerts, delivered bits) follow the event stream. Registries from other
 * parts (the detection engine's) are merged in so one endpoint serves everything.
 */
import { Counter, Gauge, Registry } from '../common/index.ts';
import type { LiveNetwork, SiteInfo } from './types.ts';

const HEALTH_VALUE = { ok: 0, degraded: 1, alarm: 2, down: 3, quarantined: 4 } as const;

/** Builds the registry for `live`; `extra` registries are merged (their metric names must differ). */
export function buildMetrics(
  live: LiveNetwork,
  extra: readonly Registry[] = [],
): { registry: Registry; stop: () => void } {
  const own = new Registry();
  const linkGauge = (
    name: string,
    help: string,
    pick: (l: ReturnType<LiveNetwork['state']>['links'][number]) => number | null,
  ): void => {
    new Gauge({
      name,
      help,
      labelNames: ['link'],
      registers: [own],
      collect() {
        this.reset();
        for (const l of live.state().links) {
          const v = pick(l);
          if (v !== null) this.set({ link: l.id }, v);
        }
      },
    });
  };
  linkGauge('qkdnet_link_pool_bits', 'Final key bits in the link key pool.', (l) => l.poolBits);
  linkGauge('qkdnet_link_capacity_bits', 'Capacity of the link key pool, bits.', (l) => l.capacityBits);
  linkGauge('qkdnet_link_key_rate_bps', 'Secret key rate of the latest block, bit/s.', (l) => l.keyRateBps);
  linkGauge('qkdnet_link_qber', 'QBER of the latest block in the key basis (fraction).', (l) => l.qber);
  linkGauge('qkdnet_link_up', '1 if the link is up, 0 if down or quarantined.', (l) =>
    l.state === 'up' ? 1 : 0,
  );
  linkGauge(
    'qkdnet_link_health',
    'Link health: 0 ok, 1 degraded, 2 alarm, 3 down, 4 quarantined.',
    (l) => HEALTH_VALUE[l.health],
  );
  linkGauge(
    'qkdnet_link_generated_bits',
    'Final key bits the link produced since start.',
    (l) => l.generatedBits,
  );
  new Gauge({
    name: 'qkdnet_node_compromised',
    help: '1 if the node is marked compromised.',
    labelNames: ['node'],
    registers: [own],
    collect() {
      this.reset();
      for (const n of live.state().nodes) this.set({ node: n.id }, n.compromised ? 1 : 0);
    },
  });
  // Sites (`qkdnet up --sites processes|netns`): one series per node; absent when KMEs run in-process.
  const siteGauge = (name: string, help: string, pick: (s: SiteInfo) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['node'],
      registers: [own],
      collect() {
        this.reset();
        for (const n of live.state().nodes) {
          const v = n.site ? pick(n.site) : null;
          if (v !== null) this.set({ node: n.id }, v);
        }
      },
    });
  siteGauge('qkdnet_site_up', "1 while the node's site process is up and answering heartbeats.", (s) =>
    s.state === 'up' ? 1 : 0,
  );
  siteGauge('qkdnet_site_restarts', "Restarts of the node's site process since start.", (s) => s.restarts);
  new Gauge({
    name: 'qkdnet_site_kme_pool_bytes',
    help: "Key bytes a site's KME may hand out, per peer KME (from the last heartbeat).",
    labelNames: ['node', 'peer'],
    registers: [own],
    collect() {
      this.reset();
      for (const n of live.state().nodes)
        for (const [peer, bytes] of Object.entries(n.site?.poolBytes ?? {}))
          this.set({ node: n.id, peer }, bytes);
    },
  });
  new Gauge({
    name: 'qkdnet_delivered_bits',
    help: 'Key bits delivered to applications since start, by provenance.',
    labelNames: ['provenance'],
    registers: [own],
    collect() {
      for (const [p, bits] of Object.entries(live.state().provenance)) this.set({ provenance: p }, bits);
    },
  });
  new Gauge({
    name: 'qkdnet_sim_time_seconds',
    help: 'Simulated seconds since the network started.',
    registers: [own],
    collect() {
      this.set(live.state().timeS);
    },
  });
  const alerts = new Counter({
    name: 'qkdnet_alerts_total',
    help: 'Alerts raised since start, by kind and severity.',
    labelNames: ['kind', 'severity'],
    registers: [own],
  });
  const reroutes = new Counter({
    name: 'qkdnet_reroutes_total',
    help: 'Application route changes since start.',
    registers: [own],
  });
  const stop = live.subscribe((e) => {
    if (e.type === 'alert') alerts.inc({ kind: e.alert.kind, severity: e.alert.severity });
    else if (e.type === 'reroute') reroutes.inc();
  });
  const registry = extra.length ? Registry.merge([own, ...extra]) : own;
  return { registry, stop };
}
