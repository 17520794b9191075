/**
 * The relay machine of ./relay.ts (ITU-T Y.3803 (2020) §8 key relay, hop by hop one-time pad, XOR shares
 * over node-disjoint paths) between LIVE key managers. Node ids are KME ids; the link between adjacent
 * nodes is `linkIdOf(x, y)`. Every hop's link key comes from the sending KME's SQLite store
 * (./kme-relay.ts `keyStoreHopKeys`): taking it forms an ETSI key whose reservation travels with the
 * relay message, over mutual TLS, to the next KME's relay route (src/kms relay-route.ts), which applies
 * it before this module's handler fetches the same bytes by key_ID — both copies are then erased.
 *
 * Order at the source (and, for their hop, at every trusted node): link key taken and the take fsync'd
 * (durable before visible: a crash can lose a chunk, never re-issue it), then the announcement to the
 * destination over the end KMEs' own mutual-TLS channel (./relay-integrity.ts: paths, count, share
 * MACs), then the shares hop by hop, then key confirmation over the same direct channel. The destination
 * supplies the key into its KME (owner: the source) only when every announced share arrived over its
 * announced path with a valid MAC and the source's confirmation tag matched; the source supplies its
 * copy only after checking the destination's tag. A forged or missing share, or a failed confirmation,
 * discards the key at both ends and raises a critical alert naming the path (`onAlert`, `alerts`).
 * A hop whose message did not get through turns its link-key reservation into an erase notice for the
 * peer (src/kms, pushed until acknowledged), so the peer's copy is erased too.
 *
 * Provenance `qkd-relayed` (one path; exposedTo = its intermediate nodes) or `qkd-multipath` (k ≥ 2
 * node-disjoint paths; exposedTo = []). Relay messages carry only ciphertext, key IDs and MACs.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { isQkdnetError, type Alert, type Provenance } from '../common/index.ts';
import { relaySaeId, type KmeHandle } from '../kms/index.ts';
import { AlertFactory, type NetworkAlertKind } from './alerts.ts';
import { keyStoreHopKeys, type ReservationRecord } from './kme-relay.ts';
import {
  DOCUMENTATION_PEN,
  openShare,
  relayExtensionName,
  shareContextFromWire,
  shareContextToWire,
  type HopProtocol,
  type ShareContext,
} from './live-relay-etsi020.ts';
import {
  announceFromWire,
  announceToWire,
  asAnswer,
  confirmFromWire,
  confirmToWire,
  fromB64,
  shareFromWire,
  shareToWire,
  toB64,
  type Answer,
  type LiveRelayFailure,
} from './live-relay-wire.ts';
import {
  confirmationTag,
  nodeDisjoint,
  pathText,
  RelayAssembler,
  shareDigest,
  type IntegrityRefusal,
} from './relay-integrity.ts';
import {
  relayReceive,
  splitKey,
  xorBytes,
  startRelayShares,
  type RelayRoute,
  type RelayShareMessage,
} from './relay.ts';

export type { LiveRelayFailure } from './live-relay-wire.ts';

/** Link id of the QKD link between KMEs `x` and `y` (order-free). */
export function linkIdOf(x: string, y: string): string {
  return x < y ? `${x}~${y}` : `${y}~${x}`;
}

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
  relayKey(
    paths: readonly (readonly string[])[],
    keyBytes?: number,
    opts?: LiveRelayRequest,
  ): Promise<LiveRelayResult>;
  /** What this node saw in the clear while forwarding (only kept with `recordViews`; for audits/tests). */
  readonly views: Map<string, Uint8Array[]>;
  /** Keys announced to this node as a destination and not yet confirmed or refused. */
  readonly pending: number;
  /** Alerts this node raised (newest last; the last 100). */
  readonly alerts: readonly Alert[];
}

/** Who asks for a relayed key (charged to that SAE's quota at the source KME, src/kms quota.ts). */
export interface LiveRelayRequest {
  /** The local SAE the key is for; absent: nobody's quota (every local SAE's reserve is still kept). */
  readonly sae?: string;
}

/** Options of `attachLiveRelay`. */
export interface LiveRelayOptions {
  /** Keep forwarded plaintext shares in `views` (tests/audits only; default false: erased at once). */
  readonly recordViews?: boolean;
  /** Source of shares, keys, MAC keys and nonces (default: node:crypto CSPRNG). */
  readonly random?: (n: number) => Uint8Array;
  /** Called with every alert (forged or missing share, failed confirmation). */
  readonly onAlert?: (alert: Alert) => void;
  /** How long a destination waits for all announced shares (default 30 s). */
  readonly shareTimeoutMs?: number;
  /**
   * Called at the source after the destination's confirmation matched, before this KME stores its copy
   * (tests: a crash at exactly that point, live-relay-orphan.slow.test.ts).
   */
  readonly onConfirmed?: (keyId: string) => Promise<void> | void;
  /**
   * How the hop to each neighbour KME is carried (default: the KME config's `peers[].protocol`, else
   * `qkdnet`: one-time pad over their QKD link and the relay route). `etsi020`: an inter-domain hop inside an interworking node, the share handed over
   * with ETSI GS QKD 020 `ext_keys` (./live-relay-etsi020.ts). Both KMEs of such a hop must say so.
   */
  readonly hopProtocol?: Readonly<Record<string, HopProtocol>>;
  /**
   * IANA PEN naming the relay's 020 extension (`E<pen>_qkdnet_relay`; default the KME config's
   * `etsi020.pen`, else RFC 5612's documentation PEN 32473).
   */
  readonly etsi020Pen?: number;
}

const KIND: Record<string, NetworkAlertKind> = {
  'forged-share': 'relay-share-forged',
  'missing-share': 'relay-share-missing',
  'confirmation-failed': 'relay-confirmation-failed',
};
const STATISTIC: Record<string, string> = {
  'forged-share': 'share-mac-mismatch',
  'missing-share': 'shares-missing',
  'confirmation-failed': 'key-confirmation-mismatch',
};

/**
 * Makes KME `kme` a live relay node: registers its relay-route handler (forwarding, or checking,
 * reassembling, confirming and supplying at the destination) and returns the source-side API.
 */
export function attachLiveRelay(kme: KmeHandle, options: LiveRelayOptions = {}): LiveRelayNode {
  const self = kme.id;
  const random = options.random ?? ((n: number) => new Uint8Array(randomBytes(n)));
  const ttl = options.shareTimeoutMs ?? 30_000;
  const assembler = new RelayAssembler(self, { shareTimeoutMs: ttl });
  const views = new Map<string, Uint8Array[]>();
  const protocolTo = (peer: string): HopProtocol =>
    options.hopProtocol?.[peer] ?? kme.etsi020.hopProtocol(peer) ?? 'qkdnet';
  const extension = relayExtensionName(options.etsi020Pen ?? kme.etsi020.pen ?? DOCUMENTATION_PEN);
  const alerts: Alert[] = [];
  const factory = new AlertFactory(`relay-${self}`);
  const peerOf = (linkId: string) => {
    const [x, y] = linkId.split('~');
    if (x === self) return y!;
    if (y === self) return x!;
    throw new RangeError(`Link "${linkId}" does not end at KME "${self}"`);
  };
  /**
   * HopKeys over this KME's store; reservations of taken link keys land in `out` (sent with the message).
   * A take leaves the quota reserves (src/kms quota.ts) of every local SAE but `sae` (a relay forwarded
   * for another KME: of every local SAE).
   */
  const hopKeys = (out: ReservationRecord[], sae = relaySaeId(self)) =>
    keyStoreHopKeys(self, kme.store, peerOf, (_from, _to, r) => out.push(r), Date.now, {
      keepReservation: true,
      keepBits: () => kme.core.quotas.keepFor(sae),
    });

  const alert = (
    reason: LiveRelayFailure,
    paths: readonly (readonly string[])[],
    detail: string,
    node?: string,
  ) => {
    const kind = KIND[reason];
    if (!kind) return;
    const suspects = paths.flatMap((p) => p.slice(1, -1));
    const a = factory.make(
      kind,
      Date.now() * 1e6,
      { nodeId: node ?? suspects[0] ?? self },
      { statistic: STATISTIC[reason]!, value: Math.max(1, paths.length), threshold: 0 },
      `Relayed key refused at ${self} (${reason}) over path ${paths.map(pathText).join(', ') || '?'}` +
        `${node ? ` from ${node}` : ''}: ${detail}; both ends discard it`,
    );
    alerts.push(a);
    if (alerts.length > 100) alerts.shift();
    kme.app.log.error({ alert: a }, 'relay refused');
    options.onAlert?.(a);
  };
  const refused = (r: IntegrityRefusal): Answer => {
    alert(r.reason, r.paths, r.detail, r.node);
    return {
      status: 'error',
      reason: r.reason,
      at: self,
      detail: r.detail,
      paths: r.paths.map((p) => [...p]),
    };
  };

  /** Sends one hop's message with its link-key reservations; settles them by the outcome. */
  const sendHop = async (m: RelayShareMessage, rs: readonly ReservationRecord[]): Promise<Answer> => {
    const next = m.path[m.hop]!;
    await kme.store.syncWal(); // the taken link key is on disk before its ciphertext leaves
    let answer: Answer;
    try {
      answer = asAnswer(await kme.sendRelay(next, rs, shareToWire(m)), next);
    } catch (e) {
      for (const r of rs) kme.core.abandonReservation(next, r.keyId); // the peer erases its copy
      return { status: 'error', reason: 'unreachable', at: next, detail: (e as Error).message };
    }
    for (const r of rs) kme.store.clearOutboxKey(next, r.keyId); // applied there with the message
    return answer;
  };
  /** A message to the other end KME over the direct channel (no reservations). */
  const direct = async (peer: string, message: Record<string, unknown>): Promise<Answer> => {
    try {
      return asAnswer(await kme.sendRelay(peer, [], message), peer);
    } catch (e) {
      return { status: 'error', reason: 'unreachable', at: peer, detail: (e as Error).message };
    }
  };

  const supplyEnd = (peer: string, keyId: string, key: Uint8Array, paths: readonly (readonly string[])[]) => {
    const meta = endMeta(paths);
    kme.supply(peer, {
      keyId,
      key: key.slice(), // the store may keep the array it is given; ours is erased below
      provenance: paths.length > 1 ? 'qkd-multipath' : 'qkd-relayed',
      path: meta.path,
      exposedTo: meta.exposedTo,
      owner: paths[0]![0]!,
    });
    key.fill(0);
  };

  const expireLater = () =>
    setTimeout(() => {
      for (const r of assembler.expire(Date.now())) refused(r);
    }, ttl + 5).unref();

  kme.onRelay(async (from, wire): Promise<Answer> => {
    const keyId = typeof wire.keyId === 'string' ? wire.keyId : '';
    const bad = (detail: string): Answer => ({ status: 'error', reason: 'bad-message', at: self, detail });
    if (wire.type === 'relay-abort') {
      assembler.abort(from, keyId, Date.now());
      return { status: 'pending' };
    }
    if (wire.type === 'relay-announce') {
      const a = announceFromWire(wire);
      if (!a) return bad('malformed announcement');
      const r = assembler.announce(from, a, Date.now());
      if (!r.ok) return refused(r);
      expireLater();
      return { status: 'pending' };
    }
    if (wire.type === 'relay-confirm') {
      const c = confirmFromWire(wire);
      if (!c) return bad('malformed confirmation');
      const r = assembler.confirm(from, c.keyId, c.nonce, c.tag);
      if (!r.ok) return refused(r);
      supplyEnd(from, c.keyId, r.key, r.paths); // durable (the store syncs supply) before the answer
      return { status: 'confirmed', tag: toB64(r.tag) };
    }
    const msg = shareFromWire(wire);
    if (!msg) return bad('malformed share');
    if (msg.path[msg.hop - 1] !== from || msg.links[msg.hop - 1] !== linkIdOf(from, self))
      return { status: 'error', reason: 'not-on-path', at: self };
    const rs: ReservationRecord[] = [];
    const after = msg.path[msg.hop + 1];
    if (after !== undefined && protocolTo(after) === 'etsi020') {
      const share = openShare(self, msg, hopKeys(rs));
      if (!share) return { status: 'error', reason: 'no-link-key', at: self };
      const { keyId, shareIndex, shareCount, path } = msg;
      return forward020({ keyId, shareIndex, shareCount, path, hop: msg.hop + 1 }, share);
    }
    const step = relayReceive(self, msg, hopKeys(rs));
    if (step.kind === 'error') return { status: 'error', reason: step.reason, at: self };
    if (step.kind === 'forward') {
      if (options.recordViews) views.set(msg.keyId, [...(views.get(msg.keyId) ?? []), step.view]);
      else step.view.fill(0);
      return sendHop(step.message, rs);
    }
    const r = assembler.share(from, step.keyId, msg.path, step.shareIndex, step.shareCount, step.share);
    return r.ok ? { status: r.status } : refused(r);
  });

  /** Hands an opened share to the next KME over ETSI 020 and answers with its acknowledgement. */
  async function forward020(
    c: ShareContext,
    share: Uint8Array,
    extensionOptional?: Readonly<Record<string, unknown>>,
  ): Promise<Answer> {
    const next = c.path[c.hop]!;
    if (options.recordViews) views.set(c.keyId, [...(views.get(c.keyId) ?? []), share.slice()]);
    let outcome;
    try {
      [outcome] = await kme.etsi020.sendKeys(next, {
        keys: [{ value: share }],
        initiator: relaySaeId(c.path[0]!),
        targets: [relaySaeId(c.path.at(-1)!)],
        extensionMandatory: { [extension]: shareContextToWire(c) },
        ...(extensionOptional ? { extensionOptional } : {}), // passed on unchanged (020 "Extensions")
      });
    } finally {
      share.fill(0);
    }
    if (outcome?.status === 'relayed') return { status: 'pending' };
    const detail = `ETSI 020 ${outcome?.status ?? 'no outcome'}${outcome?.message ? `: ${outcome.message}` : ''}`;
    return { status: 'error', reason: 'unreachable', at: next, detail: detail.slice(0, 300) };
  }

  /** A share that arrived over ETSI 020 at hop `c.hop` (this KME): assembled here or carried on. */
  async function continueShare(
    from: string,
    c: ShareContext,
    share: Uint8Array,
    extensionOptional?: Readonly<Record<string, unknown>>,
  ): Promise<Answer> {
    if (c.hop === c.path.length - 1) {
      const r = assembler.share(from, c.keyId, c.path, c.shareIndex, c.shareCount, share);
      return r.ok ? { status: r.status } : refused(r);
    }
    const next = c.path[c.hop + 1]!;
    if (protocolTo(next) === 'etsi020') return forward020({ ...c, hop: c.hop + 1 }, share, extensionOptional);
    if (options.recordViews) views.set(c.keyId, [...(views.get(c.keyId) ?? []), share.slice()]);
    const rs: ReservationRecord[] = [];
    const out = hopKeys(rs).take(linkIdOf(self, next), share.length);
    if (!out) {
      share.fill(0);
      return { status: 'error', reason: 'no-link-key', at: self };
    }
    const message: RelayShareMessage = {
      type: 'relay-share',
      keyId: c.keyId,
      shareIndex: c.shareIndex,
      shareCount: c.shareCount,
      path: c.path,
      links: c.path.slice(1).map((n, i) => linkIdOf(c.path[i]!, n)),
      hop: c.hop + 1,
      linkKeyRef: out.ref,
      ciphertext: xorBytes(share, out.key),
    };
    share.fill(0);
    return sendHop(message, rs);
  }

  kme.etsi020.addRoute({
    extensions: [extension],
    claims: (b) =>
      protocolTo(b.from) === 'etsi020' &&
      b.extensionMandatory !== undefined &&
      Object.keys(b.extensionMandatory).length === 1 &&
      extension in b.extensionMandatory,
    async deliver(b) {
      const c = shareContextFromWire(b.extensionMandatory?.[extension]);
      const [k] = b.keys;
      const failed = (message: string) =>
        b.keys.map((x) => ({ keyId: x.keyId, status: 'failed' as const, message }));
      if (!c || !k || b.keys.length !== 1) return failed('malformed relay extension');
      if (c.path[c.hop] !== self || c.path[c.hop - 1] !== b.from) return failed('not on the relay path');
      const a = await continueShare(b.from, c, k.value.slice(), b.extensionOptional);
      if (a.status === 'error') return failed(`${a.reason} at ${a.at}`);
      return [{ keyId: k.keyId, status: 'relayed' }];
    },
  });

  const fail = (reason: LiveRelayFailure, at: string, detail?: string): LiveRelayResult => ({
    ok: false,
    reason,
    at,
    ...(detail !== undefined ? { detail } : {}),
  });

  /** The relay from the announcement on (the source's side; link keys already taken). */
  async function carry(
    keyId: string,
    key: Uint8Array,
    paths: readonly (readonly string[])[],
    macKey: Uint8Array,
    digests: Uint8Array[],
    rs: readonly ReservationRecord[],
    messages: readonly RelayShareMessage[],
  ): Promise<LiveRelayResult> {
    const dst = paths[0]!.at(-1)!;
    const keyBytes = key.length;
    await kme.store.syncWal(); // link keys consumed durably before the announcement leaves
    const abandonAll = () => rs.forEach((r, i) => kme.core.abandonReservation(paths[i]![1]!, r.keyId));
    const announced = await direct(dst, announceToWire({ keyId, paths, keyBytes, macKey, digests }));
    macKey.fill(0);
    if (announced.status === 'error') {
      key.fill(0);
      abandonAll();
      return fail(announced.reason, announced.at, announced.detail);
    }
    const abort = async (e: Extract<Answer, { status: 'error' }>, path?: readonly string[]) => {
      key.fill(0);
      const concerned = e.paths && e.paths.length > 0 ? e.paths : path ? [path] : [];
      // The suspect is an intermediate node of the path concerned, or the node that did not answer.
      const suspect = e.reason === 'unreachable' || concerned.length === 0 ? e.at : undefined;
      alert(
        e.reason === 'unreachable' ? 'missing-share' : e.reason,
        concerned,
        e.detail ?? e.reason,
        suspect,
      );
      await direct(dst, { type: 'relay-abort', keyId });
      return fail(e.reason, e.at, e.detail);
    };
    for (let i = 0; i < messages.length; i++) {
      const a = await sendHop(messages[i]!, [rs[i]!]);
      if (a.status === 'error') {
        rs.slice(i + 1).forEach((r, j) => kme.core.abandonReservation(paths[i + 1 + j]![1]!, r.keyId));
        return abort(a, paths[i]);
      }
    }
    // Hop answers pass through trusted nodes; only the destination's own word (direct channel) counts.
    const nonce = random(32);
    const confirmed = await direct(
      dst,
      confirmToWire(keyId, nonce, confirmationTag(nonce, 'source', keyId, self, dst, key)),
    );
    if (confirmed.status === 'error') return abort(confirmed);
    const expect = confirmationTag(nonce, 'destination', keyId, self, dst, key);
    const got = confirmed.status === 'confirmed' ? fromB64(confirmed.tag) : undefined;
    if (!got || got.length !== expect.length || !timingSafeEqual(got, expect))
      return abort({
        status: 'error',
        reason: 'confirmation-failed',
        at: dst,
        detail: 'destination tag mismatch',
        paths: paths.map((p) => [...p]),
      });
    await options.onConfirmed?.(keyId);
    supplyEnd(dst, keyId, key, paths);
    await kme.settled(); // this end's copy durable before the intent is forgotten
    const meta = endMeta(paths);
    return { ok: true, keyId, provenance: paths.length > 1 ? 'qkd-multipath' : 'qkd-relayed', ...meta };
  }

  return {
    id: self,
    views,
    alerts,
    get pending() {
      return assembler.pending;
    },
    async relayKey(paths, keyBytes = 32, opts = {}): Promise<LiveRelayResult> {
      const dst = paths[0]?.at(-1);
      const valid =
        dst !== undefined &&
        paths.length <= 16 &&
        paths.every((p) => p.length >= 2 && p[0] === self && p.at(-1) === dst) &&
        nodeDisjoint(paths);
      if (!valid) return fail('no-route', self);
      // A path leaves its source over the source's own network; an interworking hop comes later.
      if (paths.some((p) => protocolTo(p[1]!) === 'etsi020'))
        return fail('no-route', self, 'the first hop of a path cannot be an ETSI 020 hop');
      if (!Number.isInteger(keyBytes) || keyBytes < 1 || keyBytes > 4096)
        throw new RangeError(`relayKey: keyBytes must be 1..4096, got ${keyBytes}`);
      const routes: RelayRoute[] = paths.map((p) => ({
        nodes: [...p],
        links: p.slice(1).map((n, i) => linkIdOf(p[i]!, n)),
      }));
      let refund = () => undefined as void;
      if (opts.sae !== undefined) {
        try {
          refund = kme.core.chargeRelay(
            opts.sae,
            paths.map((p) => p[1]!),
            keyBytes,
          );
        } catch (e) {
          if (!isQkdnetError(e)) throw e;
          return fail(e.code === 'KMS_QUOTA_EXCEEDED' ? 'quota-exceeded' : 'no-route', self, e.message);
        }
      }
      const keyId = randomUUID();
      const key = random(keyBytes);
      const shares = splitKey(key, routes.length, random);
      const macKey = random(32);
      const digests = shares.map((s, i) => shareDigest(macKey, keyId, paths[i]!, i, shares.length, s));
      const rs: ReservationRecord[] = [];
      const start = startRelayShares(keyId, shares, routes, hopKeys(rs, opts.sae));
      for (const s of shares) s.fill(0);
      if (!start.ok) {
        if (rs.length === 0) refund(); // no link key taken
        key.fill(0);
        rs.forEach((r, i) => kme.core.abandonReservation(paths[i]![1]!, r.keyId));
        return fail(start.reason, self);
      }
      // The relay's intent and the link keys it consumed are durable before the announcement leaves: a
      // crash from here on is settled at restart (the destination erases its copy, src/kms core.ts).
      kme.core.beginRelay(dst, keyId, keyBytes);
      try {
        return await carry(keyId, key, paths, macKey, digests, rs, start.messages);
      } finally {
        kme.core.finishRelay(keyId); // stored here: intent forgotten; otherwise an erase notice
      }
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
