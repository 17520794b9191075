/**
 * The ETSI GS QKD 015 state a stand-alone KME can tell from its own configuration and store (what
 * `qkdnet kme serve` serves when nothing richer is given): one QKD interface and one PHYS link per peer
 * that a device feeds key for (`supply`), the link ACTIVE while the pool to that peer holds key and
 * PENDING (clause: LINK-STATUS-TYPES, "waiting, no keys") otherwise; one CLIENT application per local SAE
 * and peer KME. What a KME cannot know alone — the secret key rate, the peer's interface number, the
 * QBER — is 0 or left out; the live network (src/server) supplies a state with those from its links.
 */
import type { KmeConfig } from './config.ts';
import {
  sdnUuid,
  type SdnApp,
  type SdnInterface,
  type SdnLink,
  type SdnNodeState,
} from './etsi-gs-qkd-015.ts';
import type { PoolLevel } from './store.ts';

/** qkdnet's software version string for `qkdn_version`. */
export const QKDNET_VERSION = 'qkdnet 0.1.0';

/** A URI naming an SAE (`server_app_id`, `client_app_id` are inet:uri). */
export const saeUri = (sae: string): string => `urn:qkdnet:sae:${encodeURIComponent(sae)}`;

/** The 015 state of KME `c` from its configuration and pool levels. */
export function configSdnState(c: KmeConfig, level: (peer: string) => PoolLevel): SdnNodeState {
  const nodeId = sdnUuid('node', c.id);
  const fed = [...new Set((c.supply ?? []).map((s) => s.peer))];
  const interfaces: SdnInterface[] = fed.map((peer, i) => ({
    id: i + 1,
    model: 'qkdnet supply (JSON Lines)',
    technology: 'DV-QKD',
    attachDevice: peer,
    attachPort: 0,
    role: 'TRANSCEIVER',
    status: 'ENABLED',
  }));
  const linkOf = (peer: string) => sdnUuid('link', [c.id, peer].sort().join('|'));
  const apps: SdnApp[] = c.saes.flatMap((s) =>
    (c.peers ?? []).map((p) => ({
      id: sdnUuid('app', `${s.id}|${p.id}`),
      status: 'ON' as const,
      type: 'CLIENT' as const,
      serverUri: saeUri(s.id),
      clientUris: p.saes.map(saeUri),
      priority: 0,
      localNodeId: nodeId,
      remoteNodeId: sdnUuid('node', p.id),
      backingLinks: fed.includes(p.id) ? [linkOf(p.id)] : [],
    })),
  );
  const links: SdnLink[] = fed.map((peer, i) => {
    const l = level(peer);
    return {
      id: linkOf(peer),
      status: l.mineChunks + l.theirChunks > 0 ? 'ACTIVE' : 'PENDING',
      enabled: true,
      localInterface: i + 1,
      remoteNodeId: sdnUuid('node', peer),
      remoteInterface: 0,
      type: 'PHYS',
      apps: apps.filter((a) => a.backingLinks.includes(linkOf(peer))).map((a) => a.id),
      skrBps: 0,
      eskrBps: 0,
      expectedConsumptionBps: 0,
    };
  });
  return {
    nodeId,
    status: 'OPERATING',
    version: QKDNET_VERSION,
    locationId: c.id,
    linkStats: true,
    appStats: false,
    keyRelay: true,
    interfaces,
    links,
    apps,
  };
}
