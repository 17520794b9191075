/**
 * The KME-to-KME relay route (qkdnet's own protocol, beside the reservation routes of ./peer.ts): carries
 * one opaque trusted-node relay message (ITU-T Y.3803 (2020) §8 key relay; the state machine lives in
 * src/network, which kms must not import) from an authenticated peer KME to the handler the composition
 * registers with `KmeHandle.onRelay`. With the message travel the reservations of the link keys the
 * sender took for it (`master = relay:<sender>`, `slaves = [relay:<receiver>]`): they are applied here,
 * all-or-nothing, before the handler runs, so the handler can fetch the same link key by key_ID. The body
 * holds only one-time-pad ciphertext and key IDs — never key material in the clear — and is never logged.
 * Only a client certificate naming a configured peer KME, equal to the `{kme}` path segment, may call it
 * (401 with the spec's Error object otherwise); no handler registered → 503.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { QkdnetError } from '../common/index.ts';
import type { KmeCore } from './core.ts';
import type { CallerIdentity } from './plugin.ts';
import { reservationFromWire } from './peer.ts';
import * as S from './schema.ts';
import type { ReservationRecord } from './store.ts';

/** Prefix of the SAE names a KME uses for itself as master/slave of relay link keys. */
export const RELAY_SAE_PREFIX = 'relay:';

/** The SAE name of KME `kmeId` for relay link keys (`relay:<kmeId>`). */
export function relaySaeId(kmeId: string): string {
  return `${RELAY_SAE_PREFIX}${kmeId}`;
}

/**
 * Handles one relay message from peer KME `fromKme`; resolves with a JSON-serialisable answer for the
 * sender. Thrown QkdnetErrors become their status and Error object; the message must not echo material.
 */
export type RelayHandler = (fromKme: string, message: Record<string, unknown>) => Promise<unknown>;

/** Wire body of the relay route. */
export const RelayRequestSchema = Type.Object({
  reservations: Type.Array(S.ReservationSchema.properties.reservations.items, { maxItems: 64 }),
  message: Type.Object({}, { additionalProperties: true }),
});
/** Wire body of the relay route (static type). */
export type RelayRequestWire = Static<typeof RelayRequestSchema>;

/** Answer of the relay route: the handler's result. */
export const RelayAnswerSchema = Type.Object({ result: Type.Unknown() });

/** Applies relay link-key reservations from `peerId` (checks their naming), all-or-nothing. */
export function applyRelayReservations(
  core: KmeCore,
  peerId: string,
  rs: readonly ReservationRecord[],
  nowMs: number,
): void {
  const master = relaySaeId(peerId);
  const slave = relaySaeId(core.id);
  for (const r of rs)
    if (r.master !== master || r.slaves.length !== 1 || r.slaves[0] !== slave)
      throw new QkdnetError(
        'KMS_BAD_REQUEST',
        `A relay reservation must name master "${master}" and slave "${slave}" (key ${r.keyId})`,
      );
  core.store.transaction(() => {
    for (const r of rs) core.store.applyReservation(peerId, r, nowMs);
  });
}

/** Registers `POST /api/v1/kme/{kme}/relay` (called from the 014 plugin, sharing its error handling). */
export function registerRelayRoute(
  app: FastifyInstance,
  core: KmeCore,
  callerOf: (req: FastifyRequest) => CallerIdentity,
  handler: () => RelayHandler | undefined,
): void {
  const errors = { 400: S.ErrorSchema, 401: S.ErrorSchema, 503: S.ErrorSchema };
  app.post(
    '/api/v1/kme/:sae/relay',
    {
      config: { auth: 'kme' }, // checked before the body is parsed (./plugin.ts)
      schema: {
        params: S.SaePathSchema,
        querystring: S.NoQuerySchema,
        body: RelayRequestSchema,
        response: { 200: RelayAnswerSchema, ...errors },
      },
    },
    async (req: FastifyRequest<{ Params: { sae: string }; Body: RelayRequestWire }>) => {
      const who = callerOf(req);
      if (!who || who.kind !== 'kme' || who.id !== req.params.sae)
        throw new QkdnetError('KMS_UNAUTHORIZED', 'Only the named peer KME may relay keys here');
      const h = handler();
      if (!h) throw new QkdnetError('KMS_PEER_UNAVAILABLE', `KME "${core.id}" does not relay keys`);
      applyRelayReservations(core, who.id, req.body.reservations.map(reservationFromWire), Date.now());
      return { result: (await h(who.id, req.body.message)) ?? null };
    },
  );
}
