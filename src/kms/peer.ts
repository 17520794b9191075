/**
 * KME-to-KME coordination over mutual TLS (qkdnet's own protocol; ETSI GS QKD 014 leaves it open and
 * GS QKD 020 is a draft). The master's KME posts `{reservations:[…]}` to the slave's KME at
 * `POST /api/v1/kme/{kme_ID}/reserve`; the peer applies each reservation all-or-nothing in one durable
 * transaction, answers 200 only after its COMMIT and lists the key IDs it refused. Reservations of one event-loop turn travel in one message
 * (the peer side batches them again through group commit), so the hop costs one round trip per batch,
 * not per key. Only a client certificate naming a configured peer KME may reserve.
 */
import type https from 'node:https';
import { QkdnetError } from '../common/index.ts';
import type { Reservation, ReserveFn } from './core.ts';
import { createMtlsAgent, requestJson, type MtlsIdentity } from './https-json.ts';

/** Creates the reservation sender of KME `selfId` for its peers (`url` per peer id). */
export function createPeerLink(
  selfId: string,
  peers: readonly { id: string; url: string }[],
  identity: MtlsIdentity,
): { reserve: ReserveFn; close: () => void } {
  const agent: https.Agent = createMtlsAgent(identity, 8);
  const urls = new Map(peers.map((p) => [p.id, p.url.replace(/\/+$/, '')]));
  type Waiter = { ids: readonly string[]; ok: () => void; ko: (e: unknown) => void };
  const pending = new Map<string, { rs: Reservation[]; waiters: Waiter[] }>();

  const flush = async (peerId: string) => {
    const batch = pending.get(peerId);
    pending.delete(peerId);
    if (!batch) return;
    const url = `${urls.get(peerId)}/api/v1/kme/${encodeURIComponent(selfId)}/reserve`;
    try {
      const a = await requestJson(agent, url, 'POST', {
        reservations: batch.rs.map((r) => ({
          key_ID: r.keyId,
          chunk_IDs: r.chunkIds,
          size: r.sizeBits,
          master_SAE_ID: r.master,
          slave_SAE_IDs: r.slaves,
        })),
      });
      if (a.status !== 200) {
        const msg = (a.body as { message?: unknown } | undefined)?.message;
        throw new QkdnetError(
          'KMS_PEER_UNAVAILABLE',
          `KME "${peerId}" refused the reservation (${a.status}${typeof msg === 'string' ? `: ${msg}` : ''})`,
        );
      }
      const refused = new Set((a.body as { refused_key_IDs?: string[] }).refused_key_IDs ?? []);
      for (const w of batch.waiters) {
        const bad = w.ids.filter((id) => refused.has(id));
        if (bad.length === 0) w.ok();
        else
          w.ko(
            new QkdnetError(
              'KMS_PEER_UNAVAILABLE',
              `KME "${peerId}" refused ${bad.length} reservation(s): key material not in step`,
            ),
          );
      }
    } catch (e) {
      const err =
        e instanceof QkdnetError
          ? e
          : new QkdnetError('KMS_PEER_UNAVAILABLE', `Cannot reach KME "${peerId}": ${(e as Error).message}`);
      for (const w of batch.waiters) w.ko(err);
    }
  };

  const reserve: ReserveFn = (peerId, rs) => {
    if (!urls.has(peerId))
      return Promise.reject(new QkdnetError('KMS_PEER_UNAVAILABLE', `No URL configured for KME "${peerId}"`));
    return new Promise<void>((ok, ko) => {
      let b = pending.get(peerId);
      if (!b) {
        b = { rs: [], waiters: [] };
        pending.set(peerId, b);
        setImmediate(() => void flush(peerId));
      }
      b.rs.push(...rs);
      b.waiters.push({ ids: rs.map((r) => r.keyId), ok, ko });
    });
  };
  return { reserve, close: () => agent.destroy() };
}
