/**
 * Trusted-node key relay (ITU-T Y.3803 (2020) §8 "key relay"; the SECOQC hop-by-hop scheme of M. Peev
 * et al., New J. Phys. 11, 075001 (2009)) as a sans-IO state machine: messages in, messages out, no
 * clock and no transport. The source splits an end-to-end key K into k XOR shares (k − 1 uniformly random
 * shares and K ⊕ all of them), one per node-disjoint path; every share travels hop by hop, one-time-pad
 * encrypted with the key of each link it crosses (the receiving node decrypts with the same link key and
 * re-encrypts with the next). A trusted node therefore sees in the clear only the share of the path it is
 * on; with k ≥ 2 node-disjoint paths no single intermediate node holds K. The same machine runs in the
 * simulator (link keys from simulated pools) and between live KMEs (link keys from their stores, messages
 * over mutual TLS).
 */

/** Reference of a link key: a byte offset in a simulation, an ETSI key_ID between live KMEs. */
export type KeyRef = number | string;

/** Link key access at one node: the sender takes fresh key, the receiver fetches the same key by ref. */
export interface HopKeys {
  /** Reserves `lengthBytes` of link key (sender side); undefined if the link has too little. */
  take(linkId: string, lengthBytes: number): { readonly ref: KeyRef; readonly key: Uint8Array } | undefined;
  /** The link key a `take` at the other end returned (receiver side); undefined if unknown. */
  fetch(linkId: string, ref: KeyRef, lengthBytes: number): Uint8Array | undefined;
}

/** One share of a relayed key on one hop, encrypted with that hop's link key. */
export interface RelayShareMessage {
  readonly type: 'relay-share';
  readonly keyId: string;
  readonly shareIndex: number;
  readonly shareCount: number;
  /** Node ids from source to destination. */
  readonly path: readonly string[];
  /** Link ids between consecutive nodes of `path`. */
  readonly links: readonly string[];
  /** Index in `path` of the receiving node (1 … path.length − 1). */
  readonly hop: number;
  /** Reference of the link key used on this hop (the key_ID in a live network). */
  readonly linkKeyRef: KeyRef;
  readonly ciphertext: Uint8Array;
}

/** What a node did with a message: forwarded it, or (at the destination) obtained a share. */
export type RelayStep =
  | { readonly kind: 'forward'; readonly message: RelayShareMessage; readonly view: Uint8Array }
  | {
      readonly kind: 'share';
      readonly keyId: string;
      readonly shareIndex: number;
      readonly shareCount: number;
      readonly share: Uint8Array;
    }
  | { readonly kind: 'error'; readonly reason: 'no-link-key' | 'not-on-path' };

/** XOR of byte arrays of equal length into a new array. */
export function xorBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new RangeError(`xorBytes: lengths differ (${a.length} vs ${b.length})`);
  const out = new Uint8Array(a.length);
  let i = 0;
  if (a.length >= 64 && (a.byteOffset & 3) === 0 && (b.byteOffset & 3) === 0) {
    const n = a.length >>> 2;
    const wa = new Uint32Array(a.buffer, a.byteOffset, n);
    const wb = new Uint32Array(b.buffer, b.byteOffset, n);
    const wo = new Uint32Array(out.buffer, 0, n);
    for (let k = 0; k < n; k++) wo[k] = wa[k]! ^ wb[k]!;
    i = 4 * n;
  }
  for (; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Splits `key` into `k` XOR shares: k − 1 from `random`, the last makes them XOR to the key. */
export function splitKey(key: Uint8Array, k: number, random: (n: number) => Uint8Array): Uint8Array[] {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`splitKey: k must be a positive integer, got ${k}`);
  const shares: Uint8Array[] = [];
  let last: Uint8Array = key.slice();
  for (let i = 0; i < k - 1; i++) {
    const s = random(key.length);
    if (s.length !== key.length) throw new RangeError('splitKey: random() returned the wrong length');
    shares.push(s);
    last = xorBytes(last, s);
  }
  shares.push(last);
  return shares;
}

/** A relay route: node ids and the link ids joining them. */
export interface RelayRoute {
  readonly nodes: readonly string[];
  readonly links: readonly string[];
}

/**
 * Source side: splits `key` over `routes` and encrypts each share for its first hop.
 * Returns the first-hop messages, or the reason it could not (nothing is sent then — but link key
 * already taken for earlier routes is spent, as in a real KME).
 */
export function startRelay(
  keyId: string,
  key: Uint8Array,
  routes: readonly RelayRoute[],
  keys: HopKeys,
  random: (n: number) => Uint8Array,
): { ok: true; messages: RelayShareMessage[] } | { ok: false; reason: 'no-link-key' | 'no-route' } {
  if (routes.length === 0) return { ok: false, reason: 'no-route' };
  return startRelayShares(keyId, splitKey(key, routes.length, random), routes, keys);
}

/**
 * `startRelay` with the shares already split (share i travels over route i): the live relay needs them
 * to announce their digests to the destination first (./relay-integrity.ts).
 */
export function startRelayShares(
  keyId: string,
  shares: readonly Uint8Array[],
  routes: readonly RelayRoute[],
  keys: HopKeys,
): { ok: true; messages: RelayShareMessage[] } | { ok: false; reason: 'no-link-key' | 'no-route' } {
  if (routes.length === 0 || shares.length !== routes.length) return { ok: false, reason: 'no-route' };
  const messages: RelayShareMessage[] = [];
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i]!;
    const linkKey = keys.take(r.links[0]!, shares[i]!.length);
    if (!linkKey) return { ok: false, reason: 'no-link-key' };
    messages.push({
      type: 'relay-share',
      keyId,
      shareIndex: i,
      shareCount: routes.length,
      path: r.nodes,
      links: r.links,
      hop: 1,
      linkKeyRef: linkKey.ref,
      ciphertext: xorBytes(shares[i]!, linkKey.key),
    });
  }
  return { ok: true, messages };
}

/**
 * Node side: decrypts the share with the incoming link's key; at the destination returns it, otherwise
 * re-encrypts it with the next link's key. `view` is what this node saw in the clear (for audits/tests).
 */
export function relayReceive(nodeId: string, msg: RelayShareMessage, keys: HopKeys): RelayStep {
  if (msg.path[msg.hop] !== nodeId) return { kind: 'error', reason: 'not-on-path' };
  const inLink = msg.links[msg.hop - 1]!;
  const inKey = keys.fetch(inLink, msg.linkKeyRef, msg.ciphertext.length);
  if (!inKey) return { kind: 'error', reason: 'no-link-key' };
  const share = xorBytes(msg.ciphertext, inKey);
  if (msg.hop === msg.path.length - 1) {
    return { kind: 'share', keyId: msg.keyId, shareIndex: msg.shareIndex, shareCount: msg.shareCount, share };
  }
  const outLink = msg.links[msg.hop]!;
  const outKey = keys.take(outLink, share.length);
  if (!outKey) return { kind: 'error', reason: 'no-link-key' };
  return {
    kind: 'forward',
    view: share,
    message: { ...msg, hop: msg.hop + 1, linkKeyRef: outKey.ref, ciphertext: xorBytes(share, outKey.key) },
  };
}

/** Destination side: collects the shares of one key and returns the key once all have arrived. */
export class ShareCollector {
  readonly #parts = new Map<string, (Uint8Array | undefined)[]>();

  /** Adds a share; returns the reassembled key when it completes the set. */
  add(keyId: string, shareIndex: number, shareCount: number, share: Uint8Array): Uint8Array | undefined {
    let parts = this.#parts.get(keyId);
    if (!parts) {
      parts = new Array<Uint8Array | undefined>(shareCount).fill(undefined);
      this.#parts.set(keyId, parts);
    }
    parts[shareIndex] = share;
    if (parts.some((p) => p === undefined)) return undefined;
    this.#parts.delete(keyId);
    return parts.reduce((acc, p) => xorBytes(acc!, p!))!;
  }

  /** Forgets the shares of `keyId` (relay aborted); true if any were held. */
  drop(keyId: string): boolean {
    const parts = this.#parts.get(keyId);
    for (const p of parts ?? []) p?.fill(0);
    return this.#parts.delete(keyId);
  }

  /** Keys waiting for shares. */
  get pending(): number {
    return this.#parts.size;
  }
}

/**
 * Runs a whole relay synchronously (the simulator's transport: instant, lossless). `keys` is one HopKeys
 * for every node (simulated pools) or each node's own (e.g. its KME key store, see kme-relay.ts).
 * Returns the key the destination reassembled and every intermediate node's view.
 */
export function relayInProcess(
  keyId: string,
  key: Uint8Array,
  routes: readonly RelayRoute[],
  keys: HopKeys | ((nodeId: string) => HopKeys),
  random: (n: number) => Uint8Array,
): { ok: true; key: Uint8Array; views: Map<string, Uint8Array[]> } | { ok: false; reason: string } {
  const at = typeof keys === 'function' ? keys : () => keys;
  const start = startRelay(keyId, key, routes, at(routes[0]?.nodes[0] ?? ''), random);
  if (!start.ok) return start;
  const views = new Map<string, Uint8Array[]>();
  const collector = new ShareCollector();
  let result: Uint8Array | undefined;
  const queue = [...start.messages];
  while (queue.length > 0) {
    const msg = queue.shift()!;
    const nodeId = msg.path[msg.hop]!;
    const step = relayReceive(nodeId, msg, at(nodeId));
    if (step.kind === 'error') return { ok: false, reason: step.reason };
    if (step.kind === 'forward') {
      const v = views.get(nodeId) ?? [];
      v.push(step.view);
      views.set(nodeId, v);
      queue.push(step.message);
    } else {
      result = collector.add(step.keyId, step.shareIndex, step.shareCount, step.share) ?? result;
    }
  }
  if (!result) return { ok: false, reason: 'incomplete' };
  return { ok: true, key: result, views };
}
