/**
 * ETSI GS QKD 015 V2.1.1 (2022-04), "Control Interface for Software Defined Networks": the data of YANG
 * module `etsi-qkd-sdn-node` (revision 2022-01-30; identities from `etsi-qkd-node-types`) for one
 * SD-QKD node, built from a plain description of the node's state, in the JSON encoding of RFC 7951.
 * Line numbers "yang:N" below cite the module text as vendored by TeraFlowSDN
 * (src/tests/tools/mock_qkd_node/yang/etsi-qkd-sdn-node.yang, 941 lines, SHA-256 67a3383c…d929354).
 *
 * Encoding rules that force choices here (RFC 7951): identityrefs from another module are qualified with
 * that module's *name* (§6.8: `etsi-qkd-node-types:ACTIVE`, never the prefix `etsi-qkdn-types:`);
 * decimal64 is a JSON string (§6.1: `phys_channel_att`, `max_absorption`, `phys_perf/value`, 3 fraction
 * digits, yang:429/516/553); uint32 is a JSON number (§6.1: only 64-bit integers are strings, and the
 * module has none); empty lists and leaf-lists are left out. Only the top-level member carries the
 * module name (§4); the RESTCONF layer (./etsi-gs-qkd-015-restconf.ts) adds it.
 *
 * The notifications of yang:715–937 for link state changes are derived by comparing two states
 * (`linkNotifications`): `sdqkdn_link_down` (yang:802) when a link leaves ACTIVE for OFF or PENDING,
 * `event` (yang:899) with the link's new status on every change, `sdqkdn_link_perf_update` (yang:817)
 * when the secret key rate moves by more than a tenth.
 */
import { uuidV5 } from './supply.ts';

/** Identities of `etsi-qkd-node-types` used here (yang types module, lines 40–303). */
export const QKD_NODE_TYPES = 'etsi-qkd-node-types';
/** The module whose data this file builds. */
export const SDN_NODE_MODULE = 'etsi-qkd-sdn-node';

export type NodeStatus = 'NEW' | 'OPERATING' | 'DOWN' | 'FAILURE' | 'OUT';
export type LinkStatus = 'ACTIVE' | 'PASSIVE' | 'PENDING' | 'OFF';
export type InterfaceStatus = 'ENABLED' | 'DISABLED' | 'FAILED';
export type AppStatus = 'ON' | 'DISCONNECTED' | 'OUT-OF-TIME' | 'ZOMBIE';
export type QkdRole = 'TRANSMITTER' | 'RECEIVER' | 'TRANSCEIVER';
export type QkdTechnology = 'CV-QKD' | 'DV-QKD' | 'DV-QKD-COW' | 'DV-QKD-2Ws';

/** One QKD interface (a QKD module plugged into the node), yang:403–452. */
export interface SdnInterface {
  /** `qkdi_id`: unique within the node. */
  readonly id: number;
  readonly model: string;
  readonly technology: QkdTechnology;
  /**
   * `qkdi_att_point`: where the module attaches. qkdnet follows TeraFlowSDN's reading (device = the peer
   * node's name, port = the peer's interface id), which its QKD driver needs to name endpoints.
   */
  readonly attachDevice: string;
  readonly attachPort: number;
  readonly role: QkdRole;
  readonly status: InterfaceStatus;
}

/** One key-association link of the node, yang:574–663. */
export interface SdnLink {
  /** `qkdl_id` (UUID). */
  readonly id: string;
  readonly status: LinkStatus;
  readonly enabled: boolean;
  readonly localInterface: number;
  readonly remoteNodeId: string;
  readonly remoteInterface: number;
  readonly type: 'PHYS' | 'VIRT';
  /** Application ids drawing key from the link. */
  readonly apps: readonly string[];
  /** PHYS: expected channel loss, dB. */
  readonly channelAttenuationDb?: number;
  readonly role?: QkdRole;
  /** Secret key rate now, bit/s (yang:484). */
  readonly skrBps: number;
  /** Effective SKR left for applications, bit/s (yang:491). */
  readonly eskrBps: number;
  /** Sum of the bandwidths of the applications on the link, bit/s (yang:477). */
  readonly expectedConsumptionBps: number;
  /** PHYS: the link's QBER as a fraction (reported as a percentage, 3 fraction digits). */
  readonly qber?: number;
}

/** One application (SAE group) registered at the node, yang:304–341. */
export interface SdnApp {
  readonly id: string;
  readonly status: AppStatus;
  readonly type: 'CLIENT' | 'INTERNAL';
  readonly serverUri: string;
  readonly clientUris: readonly string[];
  readonly priority: number;
  readonly localNodeId: string;
  readonly remoteNodeId: string;
  readonly backingLinks: readonly string[];
  readonly maxBandwidthBps?: number;
  readonly minBandwidthBps?: number;
  readonly ttlS?: number;
}

/** Everything `etsi-qkd-sdn-node:qkd_node` says about one node (yang:666–685). */
export interface SdnNodeState {
  /** `qkdn_id` (UUID; the only mandatory leaf of the module, yang:45–47). */
  readonly nodeId: string;
  readonly status: NodeStatus;
  readonly version: string;
  /** The secure site housing the node. */
  readonly locationId: string;
  readonly linkStats: boolean;
  readonly appStats: boolean;
  readonly keyRelay: boolean;
  readonly interfaces: readonly SdnInterface[];
  readonly links: readonly SdnLink[];
  readonly apps: readonly SdnApp[];
}

/** The UUID qkdnet gives a named thing in 015 data (name-based, RFC 9562 v5, stable across runs). */
export const sdnUuid = (kind: 'node' | 'link' | 'app', name: string): string =>
  uuidV5(`etsi-gs-qkd-015:${kind}:${name}`);

/** A JSON object of 015 data. */
export type YangJson = { [k: string]: YangValue };
export type YangValue = string | number | boolean | YangValue[] | YangJson;

const ident = (name: string) => `${QKD_NODE_TYPES}:${name}`;

/** uint32 (RFC 7951 §6.1: a JSON number), clamped into 0 … 2³²−1. */
export function uint32(x: number): number {
  if (!Number.isFinite(x) || x <= 0) return 0;
  return Math.min(4_294_967_295, Math.floor(x));
}

/**
 * decimal64 with `fd` fraction digits as RFC 7951 §6.1 writes it (a JSON string) in YANG's canonical form
 * (RFC 7950 §9.3.2: no leading or trailing zeros beyond one digit each side of the point).
 */
export function decimal64(x: number, fd = 3): string {
  if (!Number.isFinite(x)) throw new RangeError(`decimal64: ${x} is not finite`);
  const s = x.toFixed(fd).replace(/0+$/, '');
  const t = s.endsWith('.') ? `${s}0` : s;
  return t === '-0.0' ? '0.0' : t;
}

function interfaceJson(i: SdnInterface, withStatus: boolean): YangJson {
  return {
    qkdi_id: uint32(i.id),
    qkdi_model: i.model,
    qkdi_type: ident(i.technology),
    qkdi_att_point: { device: i.attachDevice, port: uint32(i.attachPort) },
    qkdi_capabilities: { role_support: ident(i.role) },
    ...(withStatus ? { qkdi_status: ident(i.status) } : {}),
  };
}

function performanceJson(l: SdnLink, phys: boolean): YangJson {
  return {
    expected_consumption: uint32(l.expectedConsumptionBps),
    skr: uint32(l.skrBps),
    eskr: uint32(l.eskrBps),
    // phys_perf's `when "../qkdl_type = 'PHYS'"` (yang:657) compares with a bare string, which a strict
    // XPath evaluator never finds equal to the qualified identity: the list is emitted only for PHYS links.
    ...(phys && l.qber !== undefined
      ? { phys_perf: [{ perf_type: ident('QBER'), value: decimal64(l.qber * 100) }] }
      : {}),
  };
}

function linkJson(l: SdnLink, nodeId: string): YangJson {
  const phys = l.type === 'PHYS';
  return {
    qkdl_id: l.id,
    qkdl_status: ident(l.status),
    qkdl_enable: l.enabled,
    qkdl_local: { qkdn_id: nodeId, qkdi_id: uint32(l.localInterface) },
    qkdl_remote: { qkdn_id: l.remoteNodeId, qkdi_id: uint32(l.remoteInterface) },
    qkdl_type: ident(l.type),
    ...(l.apps.length ? { qkdl_applications: [...l.apps] } : {}),
    ...(phys && l.channelAttenuationDb !== undefined
      ? { phys_channel_att: decimal64(l.channelAttenuationDb) }
      : {}),
    ...(phys && l.role ? { phys_qkd_role: ident(l.role) } : {}),
    qkdl_performance: performanceJson(l, phys),
  };
}

function appJson(a: SdnApp): YangJson {
  const qos: YangJson = {
    ...(a.maxBandwidthBps !== undefined ? { max_bandwidth: uint32(a.maxBandwidthBps) } : {}),
    ...(a.minBandwidthBps !== undefined ? { min_bandwidth: uint32(a.minBandwidthBps) } : {}),
    ...(a.ttlS !== undefined ? { ttl: uint32(a.ttlS) } : {}),
    clients_shared_path_enable: false,
    clients_shared_keys_required: false,
  };
  return {
    app_id: a.id,
    app_status: ident(a.status),
    app_type: ident(a.type),
    server_app_id: a.serverUri,
    ...(a.clientUris.length ? { client_app_id: [...a.clientUris] } : {}),
    app_priority: uint32(a.priority),
    app_qos: qos,
    ...(a.backingLinks.length ? { backing_qkdl_id: [...a.backingLinks] } : {}),
    local_qkdn_id: a.localNodeId,
    remote_qkdn_id: a.remoteNodeId,
  };
}

/** The content of container `qkd_node` (yang:666) for `s`, RFC 7951 member names unqualified below it. */
export function qkdNodeJson(s: SdnNodeState): YangJson {
  return {
    qkdn_id: s.nodeId,
    qkdn_status: ident(s.status),
    qkdn_version: s.version,
    qkdn_location_id: s.locationId,
    qkdn_capabilities: {
      link_stats_support: s.linkStats,
      application_stats_support: s.appStats,
      key_relay_mode_enable: s.keyRelay,
    },
    qkd_applications: s.apps.length ? { qkd_app: s.apps.map(appJson) } : {},
    qkd_interfaces: s.interfaces.length
      ? { qkd_interface: s.interfaces.map((i) => interfaceJson(i, true)) }
      : {},
    qkd_links: s.links.length ? { qkd_link: s.links.map((l) => linkJson(l, s.nodeId)) } : {},
  };
}

/** One notification of the module: its qualified name and content (RFC 8040 §6.4 wraps it). */
export interface SdnNotification {
  readonly name: string;
  readonly content: YangJson;
}

const down = (s: LinkStatus) => s === 'OFF' || s === 'PENDING';

/**
 * The notifications that the change from `prev` to `next` raises for the node's links (yang:802
 * `sdqkdn_link_down`, yang:817 `sdqkdn_link_perf_update`, yang:899 `event`), in link order.
 */
export function linkNotifications(prev: SdnNodeState, next: SdnNodeState): SdnNotification[] {
  const before = new Map(prev.links.map((l) => [l.id, l]));
  const out: SdnNotification[] = [];
  const q = (n: string) => `${SDN_NODE_MODULE}:${n}`;
  for (const l of next.links) {
    const p = before.get(l.id);
    if (!p) continue;
    if (p.status !== l.status) {
      if (down(l.status) && !down(p.status))
        out.push({
          name: q('sdqkdn_link_down'),
          content: { qkd_link: { qkdl_id: l.id, reason: `status ${p.status} -> ${l.status}` } },
        });
      out.push({
        name: q('event'),
        content: {
          link: {
            qkdl_id: l.id,
            qkdl_status: ident(l.status),
            message: `link status changed from ${p.status} to ${l.status}`,
            severity: ident(down(l.status) ? 'MAJOR' : 'MINOR'),
          },
        },
      });
    }
    const moved = Math.abs(l.skrBps - p.skrBps) > 0.1 * Math.max(p.skrBps, 1);
    if (moved && !down(l.status)) {
      const perf = performanceJson(l, l.type === 'PHYS');
      out.push({
        name: q('sdqkdn_link_perf_update'),
        content: { qkd_link: { qkdl_id: l.id, performance: perf } },
      });
    }
  }
  return out;
}
