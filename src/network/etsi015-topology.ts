/**
 * The controller's topology from ETSI GS QKD 015 data (the `etsi-qkd-sdn-node:qkd_node` each node serves
 * over RESTCONF, V2.1.1 yang:666) instead of a scenario file's links: nodes are the SD-QKD nodes read
 * (named by `qkdn_location_id`, the secure site housing each, or else by `qkdn_id`), links are their
 * PHYS key-association links (yang:580, `qkdl_type` PHYS: a direct quantum channel; VIRT links are
 * relayed overlays and stay out of the graph), paired end to end on (local qkdn_id, qkdi_id) ↔ (remote
 * qkdn_id, qkdi_id) so that a controller that gives each direction its own `qkdl_id` (TeraFlowSDN does)
 * still yields one link. A link whose `qkdl_status` is OFF or whose `qkdl_enable` is false is cut at
 * t = 0. Each link's key rate is its `skr` (yang:484), as a measured rate.
 *
 * What the file still gives: the applications (SAE demands are not in a node's 015 data as rates and
 * policies), the map coordinates of nodes, the scenario's timing, and — for a link whose `qkdl_id` is
 * the one qkdnet derives from a file link's id (`sdnUuid('link', id)`) — that link's simulated device
 * (physics model, pool sizes), so the live network keeps simulating the same devices. A link of the file
 * that no node reports is not in the topology; each difference is a warning.
 */
import { QkdnetError } from '../common/index.ts';
import { sdnUuid } from '../kms/index.ts';
import { DEFAULT_EVENT_PULSES, type Scenario, type ScenarioLink, type ScenarioNode } from './scenario.ts';
import { XINGLONG_CLEAR_NIGHT_FRACTION } from './cloud-cover.ts';

const TYPES = 'etsi-qkd-node-types:';

/** A node's 015 data as read, with where it came from (for messages). */
export interface Etsi015Source {
  readonly origin: string;
  /** The content of `etsi-qkd-sdn-node:qkd_node` (RFC 7951). */
  readonly node: unknown;
}

interface End {
  readonly node: string;
  readonly iface: number;
}
interface Link015 {
  readonly id: string;
  readonly local: End;
  readonly remote: End;
  readonly type: string;
  readonly status: string;
  readonly enabled: boolean;
  readonly skrBps: number;
  readonly qber: number | undefined;
}

const bad = (origin: string, what: string) =>
  new QkdnetError('SCENARIO_INVALID', `ETSI GS QKD 015 data from ${origin}: ${what}`);
const obj = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function readEnd(v: unknown, origin: string, where: string): End {
  const o = obj(v);
  const node = str(o?.qkdn_id);
  const iface = o?.qkdi_id;
  if (!node || typeof iface !== 'number') throw bad(origin, `${where} needs qkdn_id and a numeric qkdi_id`);
  return { node, iface };
}

function readLinks(n: Record<string, unknown>, origin: string): Link015[] {
  const list = obj(n.qkd_links)?.qkd_link;
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw bad(origin, 'qkd_links/qkd_link is not a list');
  return list.map((raw, i) => {
    const l = obj(raw);
    const id = str(l?.qkdl_id);
    if (!l || !id) throw bad(origin, `qkd_link[${i}] has no qkdl_id`);
    const perf = obj(l.qkdl_performance);
    const qberEntry = Array.isArray(perf?.phys_perf)
      ? perf.phys_perf.map(obj).find((p) => p?.perf_type === `${TYPES}QBER`)
      : undefined;
    const qberPct = Number(str(qberEntry?.value));
    return {
      id,
      local: readEnd(l.qkdl_local, origin, `qkd_link ${id} qkdl_local`),
      remote: readEnd(l.qkdl_remote, origin, `qkd_link ${id} qkdl_remote`),
      type: str(l.qkdl_type) ?? '',
      status: str(l.qkdl_status) ?? `${TYPES}ACTIVE`,
      enabled: l.qkdl_enable !== false,
      skrBps: typeof perf?.skr === 'number' ? perf.skr : 0,
      qber: Number.isFinite(qberPct) ? qberPct / 100 : undefined,
    };
  });
}

/**
 * The scenario `base` with its nodes and links replaced by those the 015 data describe (see the file
 * comment); `warnings` lists every difference from the file's own topology.
 */
export function scenarioFromEtsi015(
  base: Scenario,
  sources: readonly Etsi015Source[],
): { scenario: Scenario; warnings: string[] } {
  const warnings: string[] = [];
  const nameOf = new Map<string, string>(); // qkdn_id → node name
  const nodes: ScenarioNode[] = [];
  const perNode: { origin: string; links: Link015[] }[] = [];
  for (const s of sources) {
    const n = obj(s.node);
    const id = str(n?.qkdn_id);
    if (!n || !id) throw bad(s.origin, 'no qkd_node with a qkdn_id');
    const name = str(n.qkdn_location_id) || id;
    if (nameOf.has(id) || nodes.some((x) => x.id === name))
      throw bad(s.origin, `node ${name} reported twice`);
    nameOf.set(id, name);
    const known = base.nodes.find((x) => x.id === name);
    nodes.push(known ?? { id: name, name, lat: 0, lon: 0, kind: 'trusted-node' });
    if (!known) warnings.push(`node ${name} is not in the scenario file (no map position)`);
    perNode.push({ origin: s.origin, links: readLinks(n, s.origin) });
  }
  const baseByUuid = new Map(base.links.map((l) => [sdnUuid('link', l.id), l]));
  const template = base.links[0];
  const links: ScenarioLink[] = [];
  const cutAtStart: string[] = [];
  const seenEnds = new Set<string>();
  for (const { origin, links: ls } of perNode)
    for (const l of ls) {
      if (l.type !== `${TYPES}PHYS`) continue;
      const from = nameOf.get(l.local.node);
      const to = nameOf.get(l.remote.node);
      if (!from) throw bad(origin, `qkd_link ${l.id}: qkdl_local names another node`);
      if (!to) {
        warnings.push(`link ${l.id} at ${from} leads to a node that was not read; left out`);
        continue;
      }
      const ends = [`${l.local.node}#${l.local.iface}`, `${l.remote.node}#${l.remote.iface}`]
        .sort()
        .join('|');
      if (seenEnds.has(ends)) continue; // the other end's record of the same link
      seenEnds.add(ends);
      const known = baseByUuid.get(l.id);
      const link: ScenarioLink = known
        ? known.from === to && known.to === from
          ? known
          : { ...known, from, to }
        : {
            id: l.id,
            from,
            to,
            lengthKm: undefined,
            rateBps: l.skrBps,
            rateModel: 'measured',
            asymptoticRateBps: undefined,
            finiteRateBps: undefined,
            rateSource: 'measured',
            model: undefined,
            qber: l.qber ?? null,
            technology: undefined,
            passes: undefined,
            capacityBits: template?.capacityBits ?? 4_000_000,
            initialBits: template?.initialBits ?? 1_000_000,
            source: 'model',
            eventPulses: DEFAULT_EVENT_PULSES,
            params: undefined,
            preset: undefined,
            published: undefined,
            variation: true,
            clearSky: XINGLONG_CLEAR_NIGHT_FRACTION,
          };
      if (known && !((known.from === from && known.to === to) || (known.from === to && known.to === from)))
        warnings.push(
          `link ${known.id} joins ${from}–${to} in the 015 data, ${known.from}–${known.to} in the file`,
        );
      if (!known)
        warnings.push(
          `link ${l.id} (${from}–${to}) is not in the scenario file: measured rate ${l.skrBps} bit/s`,
        );
      links.push(link);
      if (l.status === `${TYPES}OFF` || !l.enabled) cutAtStart.push(link.id);
    }
  const ids = new Set(links.map((l) => l.id));
  for (const l of base.links)
    if (!ids.has(l.id)) warnings.push(`link ${l.id} of the file is reported by no node`);
  const names = new Set(nodes.map((n) => n.id));
  const apps = base.apps.filter((a) => names.has(a.from) && names.has(a.to));
  for (const a of base.apps)
    if (!apps.includes(a)) warnings.push(`application ${a.id} joins a node not read`);
  const inGraph = (t: string) => ids.has(t) || names.has(t);
  return {
    scenario: {
      ...base,
      nodes,
      links,
      apps,
      classical: base.classical.filter((c) => names.has(c.from) && names.has(c.to)),
      events: [
        ...cutAtStart.map((target) => ({ atS: 0, kind: 'fail' as const, target })),
        ...base.events.filter((e) => inGraph(e.target)),
      ],
      warnings: [...base.warnings, ...warnings],
    },
    warnings,
  };
}
