/**
 * KME-to-KME coordination over mutual TLS (qkdnet's own protocol; ETSI GS QKD 014 leaves it open; the
 * interoperable ETSI GS QKD 020 exchange between domains or vendors is ./etsi-gs-qkd-020-endpoint.ts).
 * The KME that owns a chunk (./supply.ts) is the authority on what it became: it records "chunks C form
 * key K for master M and slaves S" in its outbox in the same durable transaction that delivers K to M.
 * It then pushes outbox entries to the slaves' KME in batches (`POST /api/v1/kme/{self}/reserve`),
 * retrying until acknowledged; a slave that asks before the push arrives makes its KME pull the entry
 * (`POST /api/v1/kme/{self}/lookup`). Applying is idempotent, so push, pull and re-sends after a crash
 * never conflict. Only a client certificate naming a configured
 * peer KME may call either route. A peer run as replicas has several URLs: reserve and lookup fail over
 * freely (both idempotent), a relay message only when it certainly never arrived (./failover.ts).
 */
import { QkdnetError } from '../common/index.ts';
import { FailoverGroup, type Idempotency } from './failover.ts';
import { createMtlsAgent, requestJson, type MtlsIdentity } from './https-json.ts';
import type { CertPin } from './identity.ts';
import type { ReservationRecord } from './store.ts';

/** The client side of the KME-to-KME protocol. */
export interface PeerLink {
  /** Sends reservations; resolves with the key IDs the peer refused, once the rest are durable there. */
  send(peerId: string, rs: readonly ReservationRecord[]): Promise<string[]>;
  /** Asks the peer for its unacknowledged reservations of `keyIds` destined to this KME. */
  lookup(peerId: string, keyIds: readonly string[]): Promise<ReservationRecord[]>;
  /**
   * Sends one opaque relay message with the reservations of the link keys it uses to the peer's relay
   * route (./relay-route.ts); resolves with the peer handler's result.
   */
  relay?(
    peerId: string,
    rs: readonly ReservationRecord[],
    message: Record<string, unknown>,
  ): Promise<unknown>;
  /** Sends one ETSI GS QKD 004 stream message (./etsi-gs-qkd-004-service.ts); resolves with the answer. */
  etsi004?(peerId: string, body: unknown): Promise<Record<string, unknown>>;
  close(): void;
}

/** Reservations as they travel (wire names live in ./schema.ts). */
export function reservationToWire(r: ReservationRecord) {
  return {
    key_ID: r.keyId,
    chunk_IDs: [...r.chunkIds],
    size: r.sizeBits,
    master_SAE_ID: r.master,
    slave_SAE_IDs: [...r.slaves],
    ...(r.offset ? { chunk_offset: r.offset } : {}),
  };
}

/** Reservations from the wire (IDs lower-cased). */
export function reservationFromWire(
  w: ReturnType<typeof reservationToWire> & { chunk_offset?: number },
): ReservationRecord {
  return {
    ...(w.chunk_offset ? { offset: w.chunk_offset } : {}),
    keyId: w.key_ID.toLowerCase(),
    chunkIds: w.chunk_IDs.map((c) => c.toLowerCase()),
    sizeBits: w.size,
    master: w.master_SAE_ID,
    slaves: w.slave_SAE_IDs,
  };
}

/**
 * Creates the peer link of KME `selfId` (peer URLs by id), presenting `identity` as client certificate.
 * Each peer must prove to be itself: the kme role, its id as a DNS SAN, its pinned SPKI if configured
 * and a serial `revoked` does not list — another KME's certificate is refused in the handshake.
 */
export function createPeerLink(
  selfId: string,
  peers: readonly { id: string; url: string; urls?: readonly string[]; pin?: CertPin }[],
  identity: MtlsIdentity,
  revoked: (serial: string) => boolean = () => false,
): PeerLink & Required<Pick<PeerLink, 'relay' | 'etsi004'>> {
  const agents = new Map(
    peers.map((p) => [
      p.id,
      createMtlsAgent(identity, 8, {
        kmeId: p.id,
        revoked,
        ...(p.pin ? { pin: p.pin } : {}),
      }),
    ]),
  );
  const groups = new Map(peers.map((p) => [p.id, new FailoverGroup([p.url, ...(p.urls ?? [])])]));
  const post = async (peerId: string, route: string, body: unknown, idem: Idempotency = 'safe') => {
    const group = groups.get(peerId);
    const agent = agents.get(peerId);
    if (!group || !agent)
      throw new QkdnetError('KMS_PEER_UNAVAILABLE', `No URL configured for KME "${peerId}"`);
    const path = `/api/v1/kme/${encodeURIComponent(selfId)}/${route}`;
    let a;
    try {
      a = await group.request(idem, (base) => requestJson(agent, `${base}${path}`, 'POST', body));
    } catch (e) {
      throw new QkdnetError('KMS_PEER_UNAVAILABLE', `Cannot reach KME "${peerId}": ${(e as Error).message}`);
    }
    if (a.status !== 200) {
      const msg = (a.body as { message?: unknown } | undefined)?.message;
      throw new QkdnetError(
        'KMS_PEER_UNAVAILABLE',
        `KME "${peerId}" answered ${a.status} to ${route}${typeof msg === 'string' ? `: ${msg}` : ''}`,
      );
    }
    return a.body as Record<string, unknown>;
  };
  return {
    async send(peerId, rs) {
      const b = await post(peerId, 'reserve', { reservations: rs.map(reservationToWire) });
      return (b.refused_key_IDs as string[] | undefined) ?? [];
    },
    async lookup(peerId, keyIds) {
      const b = await post(peerId, 'lookup', { key_IDs: keyIds });
      const list = (b.reservations as ReturnType<typeof reservationToWire>[] | undefined) ?? [];
      return list.map(reservationFromWire);
    },
    async relay(peerId, rs, message) {
      const b = await post(peerId, 'relay', { reservations: rs.map(reservationToWire), message }, 'once');
      return b.result;
    },
    // Open, form and erase are idempotent at the receiver; a `form` repeated elsewhere names the same key.
    etsi004: (peerId, body) => post(peerId, 'etsi004', body),
    close: () => {
      for (const a of agents.values()) a.destroy();
    },
  };
}
