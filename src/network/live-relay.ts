/**
 * The relay machine of ./relay.ts (startRelay, relayReceive, ShareCollector; ITU-T Y.3803 (2020) §8 key
 * relay, hop by hop one-time pad, XOR shares over node-disjoint paths) between LIVE key managers. Node
 * ids are KME ids; the link between two adjacent nodes is `linkIdOf(x, y)`. Every hop's link key comes
 * from the sending KME's SQLite store (./kme-relay.ts `keyStoreHopKeys`): taking it forms an ETSI key
 * whose reservation travels with the relay message, over mutual TLS, to the next KME's relay route
 * (src/kms relay-route.ts), which applies it before this module's handler fetches the same bytes by
 * key_ID — both copies are then erased. Each hop is one HTTPS request answered once the rest of the path
 * has answered, so the source learns the outcome: when the destination has reassembled the key it
 * supplies it into its KME for the source KME (owner: the source), answers `delivered`, and the source
 * then supplies the same key ID into its own KME. A master SAE at the source gets it with ETSI 014
 * enc_keys and the slave SAE at the destination the same bytes with dec_keys (the end KMEs must be
 * configured as peers of each other). Provenance `qkd-relayed` (one path; exposedTo = its intermediate
 * nodes) or `qkd-multipath` (k ≥ 2 paths; exposedTo = [] as no single trusted node holds the key). A
 * failure anywhere yields an error value and no key is supplied at either end (link key already taken on
 * hops before the failure is spent, as in the simulator). Relay messages carry only ciphertext and key IDs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Provenance } from '../common/index.ts';
import type { KmeHandle } from '../kms/index.ts';
import { keyStoreHopKeys, type ReservationRecord } from './kme-relay.ts';
import {
  relayReceive,
  ShareCollector,
  startRelay,
  type RelayRoute,
  type RelayShareMessage,
} from './relay.ts';

/** Link id of the QKD link between KMEs `x` and `y` (order-free). */
export function linkIdOf(x: string, y: string): string {
  return x < y ? `${x}~${y}` : `${y}~${x}`;
}

/** Why a live relay failed. */
export type LiveRelayFailure = 'no-link-key' | 'no-route' | 'not-on-path' | 'unreachable' | 'bad-message';

/** Outcome of `relayKey`. */
export type LiveRelayResult =
  | {
      readonly ok: true;
      readonly keyId: string;
      readonly provenance: Provenance;
      readonly path: readonly string[];
      readonly exposedTo: readonly string[];
    }
  | { readonly ok: false; readonly reason: LiveRelayFailure; readonly at: string; readonly detail?: string };

/** A KME taking part in live relays. */
export interface LiveRelayNode {
  readonly id: string;
  /**
   * Relays a fresh `keyBytes`-byte key from this KME over `paths` (node lists from this KME to the same
   * destination; several = node-disjoint XOR shares) and supplies it into both end KMEs.
   */
  relayKey(paths: readonly (readonly string[])[], keyBytes?: number): Promise<LiveRelayResult>;
  /** What this node saw in the clear while forwarding (only kept with `recordViews`; for audits/tests). */
  readonly views: Map<string, Uint8Array[]>;
  /** Shares waiting at this node as a destination. */
  readonly pending: number;
}

/** Options of `attachLiveRelay`. */
export interface LiveRelayOptions {
  /** Keep forwarded plaintext shares in `views` (tests/audits only; default false: erased at once). */
  readonly recordViews?: boolean;
  /** Source of shares and keys (default: node:crypto CSPRNG). */
  readonly random?: (n: number) => Uint8Array;
}

type Answer =
  | { status: 'delivered' | 'pending' }
  | { status: 'error'; reason: LiveRelayFailure; at: string; detail?: string };

const toWire = (m: RelayShareMessage) => ({ ...m, ciphertext: Buffer.from(m.ciphertext).toString('base64') });

function fromWire(w: Record<string, unknown>): RelayShareMessage | undefined {
  const strs = (x: unknown) => Array.isArray(x) && x.every((s) => typeof s === 'string');
  const int = (x: unknown) => Number.isSafeInteger(x);
  if (w.type !== 'relay-share' || typeof w.keyId !== 'string' || typeof w.ciphertext !== 'string')
    return undefined;
  if (!strs(w.path) || !strs(w.links) || !int(w.hop) || !int(w.shareIndex) || !int(w.shareCount))
    return undefined;
  const path = w.path as string[];
  const hop = w.hop as number;
  const count = w.shareCount as number;
  if ((w.links as string[]).length !== path.length - 1 || hop < 1 || hop >= path.length) return undefined;
  if (count < 1 || count > 16 || (w.shareIndex as number) < 0 || (w.shareIndex as number) >= count)
    return undefined;
  if (typeof w.linkKeyRef !== 'string') return undefined;
  return {
    type: 'relay-share',
    keyId: w.keyId,
    shareIndex: w.shareIndex as number,
    shareCount: count,
    path,
    links: w.links as string[],
    hop,
    linkKeyRef: w.linkKeyRef,
    ciphertext: new Uint8Array(Buffer.from(w.ciphertext, 'base64')),
  };
}

function asAnswer(x: unknown, at: string): Answer {
  const a = x as Answer | undefined;
  if (a && (a.status === 'delivered' || a.status === 'pending' || a.status === 'error')) return a;
  return { status: 'error', reason: 'bad-message', at, detail: 'unexpected answer' };
}

/**
 * Makes KME `kme` a live relay node: registers its relay-route handler (forwarding, or reassembling and
 * supplying at the destination) and returns the source-side API.
 */
export function attachLiveRelay(kme: KmeHandle, options: LiveRelayOptions = {}): LiveRelayNode {
  const self = kme.id;
  const random = options.random ?? ((n: number) => new Uint8Array(randomBytes(n)));
  const collector = new ShareCollector();
  const routesOf = new Map<string, string[][]>();
  const views = new Map<string, Uint8Array[]>();
  const peerOf = (linkId: string) => {
    const [x, y] = linkId.split('~');
    if (x === self) return y!;
    if (y === self) return x!;
    throw new RangeError(`Link "${linkId}" does not end at KME "${self}"`);
  };
  /** HopKeys over this KME's store; reservations of taken link keys land in `out` (sent with the message). */
  const hopKeys = (out: ReservationRecord[]) =>
    keyStoreHopKeys(self, kme.store, peerOf, (_from, _to, r) => out.push(r), Date.now);

  const send = async (m: RelayShareMessage, rs: ReservationRecord[]): Promise<Answer> => {
    const next = m.path[m.hop]!;
    try {
      return asAnswer(await kme.sendRelay(next, rs, toWire(m)), next);
    } catch (e) {
      return { status: 'error', reason: 'unreachable', at: next, detail: (e as Error).message };
    }
  };

  const supplyEnd = (peer: string, keyId: string, key: Uint8Array, paths: readonly (readonly string[])[]) => {
    const multi = paths.length > 1;
    const meta = endMeta(paths);
    kme.supply(peer, {
      keyId,
      key: key.slice(), // the store may keep the array it is given; ours is erased below
      provenance: multi ? 'qkd-multipath' : 'qkd-relayed',
      path: meta.path,
      exposedTo: meta.exposedTo,
      owner: paths[0]![0]!,
    });
    key.fill(0);
  };

  kme.onRelay(async (from, wire): Promise<Answer> => {
    if (wire.type === 'relay-abort' && typeof wire.keyId === 'string') {
      collector.drop(wire.keyId);
      routesOf.delete(wire.keyId);
      return { status: 'pending' };
    }
    const msg = fromWire(wire);
    if (!msg) return { status: 'error', reason: 'bad-message', at: self };
    if (msg.path[msg.hop - 1] !== from || msg.links[msg.hop - 1] !== linkIdOf(from, self))
      return { status: 'error', reason: 'not-on-path', at: self };
    const rs: ReservationRecord[] = [];
    const step = relayReceive(self, msg, hopKeys(rs));
    if (step.kind === 'error') return { status: 'error', reason: step.reason, at: self };
    if (step.kind === 'forward') {
      if (options.recordViews) views.set(msg.keyId, [...(views.get(msg.keyId) ?? []), step.view]);
      else step.view.fill(0);
      return send(step.message, rs);
    }
    const paths = routesOf.get(step.keyId) ?? [];
    paths[step.shareIndex] = [...msg.path];
    routesOf.set(step.keyId, paths);
    const key = collector.add(step.keyId, step.shareIndex, step.shareCount, step.share);
    if (!key) return { status: 'pending' };
    routesOf.delete(step.keyId);
    supplyEnd(msg.path[0]!, step.keyId, key, paths);
    return { status: 'delivered' };
  });

  return {
    id: self,
    views,
    get pending() {
      return collector.pending;
    },
    async relayKey(paths, keyBytes = 32): Promise<LiveRelayResult> {
      const dst = paths[0]?.at(-1);
      const valid =
        dst !== undefined &&
        paths.every(
          (p) => p.length >= 2 && p[0] === self && p.at(-1) === dst && new Set(p).size === p.length,
        );
      if (!valid) return { ok: false, reason: 'no-route', at: self };
      if (!Number.isInteger(keyBytes) || keyBytes < 1 || keyBytes > 4096)
        throw new RangeError(`relayKey: keyBytes must be 1..4096, got ${keyBytes}`);
      const routes: RelayRoute[] = paths.map((p) => ({
        nodes: [...p],
        links: p.slice(1).map((n, i) => linkIdOf(p[i]!, n)),
      }));
      const keyId = randomUUID();
      const key = random(keyBytes);
      const rs: ReservationRecord[] = [];
      const start = startRelay(keyId, key, routes, hopKeys(rs), random);
      if (!start.ok) {
        key.fill(0);
        return { ok: false, reason: start.reason, at: self };
      }
      let last: Answer = { status: 'pending' };
      for (let i = 0; i < start.messages.length; i++) {
        last = await send(start.messages[i]!, [rs[i]!]);
        if (last.status === 'error') break;
      }
      if (last.status !== 'delivered') {
        key.fill(0);
        if (paths.length > 1) await kme.sendRelay(dst, [], { type: 'relay-abort', keyId }).catch(() => {});
        const e =
          last.status === 'error' ? last : { reason: 'bad-message' as const, at: dst, detail: 'incomplete' };
        return {
          ok: false,
          reason: e.reason,
          at: e.at,
          ...(e.detail !== undefined ? { detail: e.detail } : {}),
        };
      }
      supplyEnd(dst, keyId, key, paths);
      const meta = endMeta(paths);
      return { ok: true, keyId, provenance: paths.length > 1 ? 'qkd-multipath' : 'qkd-relayed', ...meta };
    },
  };
}

/** Path and exposure recorded with a relayed key (as the simulator records them). */
function endMeta(paths: readonly (readonly string[])[]): { path: string[]; exposedTo: string[] } {
  const first = paths[0]!;
  if (paths.length === 1) return { path: [...first], exposedTo: first.slice(1, -1) };
  const middle = paths.flatMap((p) => p.slice(1, -1));
  return { path: [first[0]!, ...middle, first.at(-1)!], exposedTo: [] };
}
