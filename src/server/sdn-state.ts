/**
 * What each node of the live network tells an SDN controller through ETSI GS QKD 015 (src/kms
 * etsi-gs-qkd-015.ts): one QKD interface per QKD link it terminates (numbered 1… in the file's link
 * order; the attachment point names the peer node and the peer's interface number, the convention
 * TeraFlowSDN's driver reads), one PHYS link per such link (qkdl_id derived from the link's id,
 * `sdnUuid('link', id)`) with its status and rates from the running network, and one CLIENT application
 * per scenario application ending at the node. Link status (LINK-STATUS-TYPES): up → ACTIVE, quarantined
 * → PASSIVE (no generation, pooled keys kept), down → OFF; out of a satellite pass → PENDING.
 */
import {
  QKDNET_VERSION,
  saeUri,
  sdnUuid,
  type LinkStatus,
  type SdnApp,
  type SdnLink,
  type SdnNodeState,
} from '../kms/index.ts';
import type { LinkView, Scenario } from '../network/index.ts';
import { saeName } from './kme-fleet.ts';

const statusOf = (v: LinkView | undefined): LinkStatus =>
  !v
    ? 'ACTIVE'
    : v.state === 'down'
      ? 'OFF'
      : v.state === 'quarantined'
        ? 'PASSIVE'
        : v.generating
          ? 'ACTIVE'
          : 'PENDING';

/**
 * The 015 state of node `nodeId` of `scenario`; `live(linkId)` gives the running network's view of a link
 * (undefined before the network runs: every link ACTIVE at its modelled rate).
 */
export function scenarioSdnState(
  scenario: Scenario,
  nodeId: string,
  live: (linkId: string) => LinkView | undefined = () => undefined,
): SdnNodeState {
  const incident = (n: string) => scenario.links.filter((l) => l.from === n || l.to === n);
  const ifaceOf = (n: string, linkId: string) => incident(n).findIndex((l) => l.id === linkId) + 1;
  const mine = incident(nodeId);
  const nodeUuid = (n: string) => sdnUuid('node', n);
  const apps: SdnApp[] = scenario.apps
    .filter((a) => a.from === nodeId || a.to === nodeId)
    .map((a) => {
      const peer = a.from === nodeId ? a.to : a.from;
      const direct = mine.find((l) => l.from === peer || l.to === peer);
      return {
        id: sdnUuid('app', a.id),
        status: 'ON',
        type: 'CLIENT',
        serverUri: saeUri(saeName(a.from)),
        clientUris: [saeUri(saeName(a.to))],
        priority: 0,
        localNodeId: nodeUuid(nodeId),
        remoteNodeId: nodeUuid(peer),
        backingLinks: direct ? [sdnUuid('link', direct.id)] : [],
        maxBandwidthBps: a.rateBps,
      };
    });
  const links: SdnLink[] = mine.map((l, i) => {
    const peer = l.from === nodeId ? l.to : l.from;
    const v = live(l.id);
    const status = statusOf(v);
    const skr = status === 'ACTIVE' ? (v?.rateBps ?? l.rateBps) : 0;
    const users = apps.filter((a) => a.backingLinks.includes(sdnUuid('link', l.id)));
    const consumption = users.reduce((s, a) => s + (a.maxBandwidthBps ?? 0), 0);
    const qber = v ? v.qber : l.qber;
    return {
      id: sdnUuid('link', l.id),
      status,
      enabled: true,
      localInterface: i + 1,
      remoteNodeId: nodeUuid(peer),
      remoteInterface: ifaceOf(peer, l.id),
      type: 'PHYS',
      apps: users.map((a) => a.id),
      role: l.from === nodeId ? 'TRANSMITTER' : 'RECEIVER',
      skrBps: skr,
      eskrBps: Math.max(0, skr - consumption),
      expectedConsumptionBps: consumption,
      ...(qber !== null && qber !== undefined ? { qber } : {}),
    };
  });
  return {
    nodeId: nodeUuid(nodeId),
    status: 'OPERATING',
    version: QKDNET_VERSION,
    locationId: nodeId,
    linkStats: true,
    appStats: false,
    keyRelay: true,
    interfaces: mine.map((l, i) => {
      const peer = l.from === nodeId ? l.to : l.from;
      return {
        id: i + 1,
        model: l.preset ? `qkdnet simulated (${l.preset})` : 'qkdnet simulated',
        technology: l.model?.startsWith('cv-') ? 'CV-QKD' : 'DV-QKD',
        attachDevice: peer,
        attachPort: ifaceOf(peer, l.id),
        role: l.from === nodeId ? 'TRANSMITTER' : 'RECEIVER',
        status: 'ENABLED',
      };
    }),
    links,
    apps,
  };
}
