/**
 * The relay machine (relay.ts) over real key managers: each trusted node's link keys come from its KME's
 * durable key store (src/kms `KeyStore`, SQLite) instead of simulated pools. Taking link key at the
 * sending node forms an ETSI key (`takeForMaster`) whose reservation record must reach the KME at the
 * other end of the link (`applyReservation`) before that node can fetch the same bytes by key_ID
 * (`takeForSlave`, which also erases them). The reservation's transport is injected: in one process a
 * direct call, between live KMEs their mutual-TLS peer channel. Key material is erased from both stores
 * once used, exactly as for an application key (ITU-T Y.3803 key relay over the KM layer).
 */
import { isQkdnetError } from '../common/index.ts';
import { relaySaeId, type KeyStore } from '../kms/index.ts';
import type { HopKeys, KeyRef } from './relay.ts';

/** A KME reservation record (what `KeyStore.applyReservation` takes). */
export type ReservationRecord = Parameters<KeyStore['applyReservation']>[1];

/** Delivers a reservation from KME `from` to the KME of node `to` (must apply it before returning). */
export type ReservationTransport = (from: string, to: string, record: ReservationRecord) => void;

/** The SAE name a relaying node's KME uses for itself (masters and slaves of relay keys). */
export function relaySae(nodeId: string): string {
  return relaySaeId(nodeId); // the naming the KMEs' relay route checks
}

/**
 * HopKeys for node `nodeId` over its KME store. `peerOf(linkId)` names the node at the other end of a
 * link of this node. `nowMs` stamps the delivery log (inject a clock for determinism).
 */
export function keyStoreHopKeys(
  nodeId: string,
  store: KeyStore,
  peerOf: (linkId: string) => string,
  transport: ReservationTransport,
  nowMs: () => number,
  opts: {
    /**
     * Leave the link key's reservation in the store's outbox (the caller clears it once the message
     * carrying it was answered, or turns it into an erase notice if it never got through).
     */
    keepReservation?: boolean;
    /** Bits of the pool to `peer` this take must leave (other SAEs' quota reserves, src/kms quota.ts). */
    keepBits?: (peer: string) => number;
  } = {},
): HopKeys {
  return {
    take(linkId, lengthBytes) {
      const peer = peerOf(linkId);
      if (store.level(peer).mineBytes * 8 - (opts.keepBits?.(peer) ?? 0) < lengthBytes * 8) return undefined;
      let k: ReturnType<KeyStore['takeForMaster']>[number] | undefined;
      try {
        // Only key that protects (never simulated-deterministic test keys: the store's default rank).
        [k] = store.takeForMaster({
          peer,
          master: relaySae(nodeId),
          slaves: [relaySae(peer)],
          localSlaves: [],
          remoteSlaves: [relaySae(peer)],
          number: 1,
          sizeBits: lengthBytes * 8,
          nowMs: nowMs(),
        });
      } catch (e) {
        if (isQkdnetError(e, 'KMS_KEY_EXHAUSTED')) return undefined; // e.g. the pool holds only test keys
        throw e;
      }
      if (!k) return undefined;
      const [record] = store.outbox(peer, 1, [k.keyId]);
      if (!record) throw new Error(`relay key ${k.keyId} has no reservation for ${peer} (bug)`);
      transport(nodeId, peer, record);
      if (!opts.keepReservation) store.clearOutboxKey(peer, record.keyId);
      return { ref: k.keyId, key: k.key };
    },
    fetch(linkId, ref: KeyRef, lengthBytes) {
      const peer = peerOf(linkId);
      const [k] = store.takeForSlave(relaySae(nodeId), relaySae(peer), [String(ref)], nowMs());
      return k && k.key.length === lengthBytes ? k.key : undefined;
    },
  };
}

/** In-process transport over a map of stores (one per node): applies the reservation at once. */
export function directTransport(
  stores: ReadonlyMap<string, KeyStore>,
  nowMs: () => number,
): ReservationTransport {
  return (from, to, record) => {
    const s = stores.get(to);
    if (!s) throw new RangeError(`No key store for node "${to}"`);
    s.applyReservation(from, record, nowMs());
  };
}
