/**
 * End-to-end integrity of a relayed key (sans-IO; the destination side of ./live-relay.ts). A trusted
 * node on one path of a multipath relay (ITU-T Y.3803 (2020) §8; XOR shares over node-disjoint paths)
 * sees its share in the clear and can replace it, or claim the set has fewer shares, so the destination
 * must not trust anything a share message says about the set. Three checks close that:
 *
 * 1. **Announcement over the end-to-end authenticated channel.** Before any share leaves, the source
 *    KME tells the destination KME directly (their mutual-TLS peer channel, which no intermediate node
 *    can read or write) the key ID, the node-disjoint paths (so the share count), a fresh MAC key and,
 *    per share, HMAC-SHA-256(macKey, "qkdnet/v1/relay-share" ‖ keyId ‖ source ‖ destination ‖ index ‖
 *    count ‖ path ‖ share) (RFC 2104). The destination accepts a share only if it arrived from the
 *    penultimate node of the announced path of its index, with the announced count, and its MAC matches;
 *    anything else is a forgery that aborts the whole key and names the path it came over.
 * 2. **Completion only on the announced set**: the key exists only once every announced share is in.
 * 3. **Key confirmation** (the "hash of the key under a fresh key" of key-establishment practice, e.g.
 *    NIST SP 800-56A Rev. 3 §5.9.1, key confirmation with a MAC): the source sends
 *    HMAC-SHA-256(nonce, "qkdnet/v1/relay-confirm/source" ‖ …‖ K) over the same channel; the destination
 *    compares it in constant time with its own and answers with the "…/destination" tag, which the
 *    source checks. Neither end supplies the key to its store before its check passed.
 *
 * The announcement and confirmation are computationally secure (HMAC-SHA-256 behind TLS); the key itself
 * still travels only as one-time-pad ciphertext. docs/security.md "Relay and multipath".
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { xorBytes } from './relay.ts';

/** What the source announces to the destination before any share leaves. */
export interface RelayAnnouncement {
  readonly keyId: string;
  /** Node paths from the source to the destination, one per share, node-disjoint. */
  readonly paths: readonly (readonly string[])[];
  readonly keyBytes: number;
  /** Fresh random MAC key for the share digests (32 bytes). */
  readonly macKey: Uint8Array;
  /** Per share, `shareDigest(…)`. */
  readonly digests: readonly Uint8Array[];
}

const enc = (parts: readonly (string | number)[]) => Buffer.from(JSON.stringify(parts), 'utf8');

/** MAC of share `index` of key `keyId` (binds source, destination, count and path). */
export function shareDigest(
  macKey: Uint8Array,
  keyId: string,
  path: readonly string[],
  index: number,
  count: number,
  share: Uint8Array,
): Uint8Array {
  const h = createHmac('sha256', macKey);
  h.update(enc(['qkdnet/v1/relay-share', keyId, path[0]!, path.at(-1)!, index, count, path.join('>')]));
  h.update(share);
  return new Uint8Array(h.digest());
}

/** Key-confirmation tag of `role` for key `key` (id `keyId`) between `source` and `destination`. */
export function confirmationTag(
  nonce: Uint8Array,
  role: 'source' | 'destination',
  keyId: string,
  source: string,
  destination: string,
  key: Uint8Array,
): Uint8Array {
  const h = createHmac('sha256', nonce);
  h.update(enc([`qkdnet/v1/relay-confirm/${role}`, keyId, source, destination, key.length]));
  h.update(key);
  return new Uint8Array(h.digest());
}

/** True when the intermediate nodes of `paths` are pairwise disjoint and each path is simple. */
export function nodeDisjoint(paths: readonly (readonly string[])[]): boolean {
  const seen = new Set<string>();
  for (const p of paths) {
    if (new Set(p).size !== p.length) return false;
    for (const n of p.slice(1, -1)) {
      if (seen.has(n)) return false;
      seen.add(n);
    }
  }
  // Two single-hop paths would be the same link twice.
  return paths.filter((p) => p.length === 2).length <= 1;
}

/** Why the destination refused. */
export type IntegrityFailure = 'forged-share' | 'missing-share' | 'confirmation-failed' | 'bad-message';

/** A refusal with the path (and the node that delivered it) it concerns. */
export interface IntegrityRefusal {
  readonly ok: false;
  readonly reason: IntegrityFailure;
  readonly keyId: string;
  readonly source?: string;
  /** Paths concerned (the forged one, or those whose share is missing). */
  readonly paths: readonly (readonly string[])[];
  /** The neighbour that delivered the offending message, if any. */
  readonly node?: string;
  readonly detail: string;
}

interface Pending {
  readonly source: string;
  readonly a: RelayAnnouncement;
  readonly shares: (Uint8Array | undefined)[];
  readonly deadlineMs: number;
  key?: Uint8Array;
}

const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);
const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && timingSafeEqual(a, b);
/** `a>b>c` for messages and alerts. */
export const pathText = (p: readonly string[]) => p.join('>');

/**
 * Destination side: announced keys, their shares, confirmation. Refusals erase what was held for the key
 * and remember the key ID for `tombstoneMs`, so a late share or confirmation of it is refused too.
 */
export class RelayAssembler {
  readonly #self: string;
  readonly #ttlMs: number;
  readonly #pending = new Map<string, Pending>();
  readonly #dead = new Map<string, number>();

  constructor(self: string, opts: { shareTimeoutMs: number }) {
    this.#self = self;
    this.#ttlMs = opts.shareTimeoutMs;
  }

  /** Keys announced and not yet confirmed or refused. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Records an announcement from neighbour-or-not peer `from` (must be the source of every path). */
  announce(from: string, a: RelayAnnouncement, nowMs: number): { ok: true } | IntegrityRefusal {
    // Refusing an announcement never touches a key already held (another peer cannot cancel it).
    const refuse = (detail: string): IntegrityRefusal => ({
      ok: false,
      reason: 'bad-message',
      keyId: a.keyId,
      paths: [],
      node: from,
      detail,
    });
    if (this.#pending.has(a.keyId) || this.#dead.has(a.keyId)) return refuse('key ID announced before');
    if (a.paths.length < 1 || a.paths.length > 16 || a.digests.length !== a.paths.length)
      return refuse('share count and digests disagree');
    if (!a.paths.every((p) => p.length >= 2 && p[0] === from && p.at(-1) === this.#self))
      return refuse('paths must run from the announcing KME to this one');
    if (!nodeDisjoint(a.paths)) return refuse('paths are not node-disjoint');
    if (a.macKey.length < 16 || !Number.isInteger(a.keyBytes) || a.keyBytes < 1)
      return refuse('bad MAC key or key size');
    this.#pending.set(a.keyId, {
      source: from,
      a,
      shares: new Array<Uint8Array | undefined>(a.paths.length).fill(undefined),
      deadlineMs: nowMs + this.#ttlMs,
    });
    return { ok: true };
  }

  /**
   * A share that reached this node over `path` from neighbour `from`. Returns `pending`, `assembled`
   * (every announced share in and authentic) or a refusal (the key is dropped).
   */
  share(
    from: string,
    keyId: string,
    path: readonly string[],
    index: number,
    count: number,
    share: Uint8Array,
  ): { ok: true; status: 'pending' | 'assembled' } | IntegrityRefusal {
    const p = this.#pending.get(keyId);
    if (!p) {
      share.fill(0);
      const why = this.#dead.has(keyId) ? 'key already refused' : 'share of a key never announced';
      return this.#refuse(keyId, 'forged-share', [path], why, from);
    }
    const announced = p.a.paths[index];
    const arrivedOn = p.a.paths.find((q) => q.at(-2) === from) ?? path;
    let why: string | undefined;
    if (count !== p.a.paths.length) why = `claims ${count} shares, ${p.a.paths.length} announced`;
    else if (share.length !== p.a.keyBytes) why = `holds ${share.length} bytes, ${p.a.keyBytes} announced`;
    else if (!announced || !same(announced, path)) why = 'path or share index differs from the announcement';
    else if (announced.at(-2) !== from) why = 'arrived from a node not on its path';
    else if (p.shares[index] !== undefined) why = 'share sent twice';
    else if (!eq(shareDigest(p.a.macKey, keyId, announced, index, count, share), p.a.digests[index]!))
      why = 'share does not match the source’s digest';
    if (why !== undefined) {
      share.fill(0);
      return this.#refuse(keyId, 'forged-share', [arrivedOn], why, from);
    }
    p.shares[index] = share;
    if (p.shares.some((s) => s === undefined)) return { ok: true, status: 'pending' };
    p.key = p.shares.reduce<Uint8Array>((acc, s) => xorBytes(acc, s!), new Uint8Array(p.a.keyBytes));
    for (const s of p.shares) s!.fill(0);
    return { ok: true, status: 'assembled' };
  }

  /**
   * The source's confirmation tag for `keyId`. On success returns the key (the caller supplies, then
   * erases it) and this end's tag for the source; the key is no longer held here.
   */
  confirm(
    from: string,
    keyId: string,
    nonce: Uint8Array,
    tag: Uint8Array,
  ):
    { ok: true; key: Uint8Array; tag: Uint8Array; paths: readonly (readonly string[])[] } | IntegrityRefusal {
    const p = this.#pending.get(keyId);
    if (!p || p.source !== from)
      // Not the source's (or unknown): refused without touching a key held for someone else.
      return {
        ok: false,
        reason: 'confirmation-failed',
        keyId,
        paths: [],
        node: from,
        detail: 'no such key',
      };
    if (!p.key) {
      const missing = p.a.paths.filter((_, i) => p.shares[i] === undefined);
      return this.#refuse(keyId, 'missing-share', missing, `${missing.length} share(s) never arrived`);
    }
    const self = this.#self;
    if (nonce.length < 16 || !eq(confirmationTag(nonce, 'source', keyId, from, self, p.key), tag))
      return this.#refuse(keyId, 'confirmation-failed', p.a.paths, 'the two ends hold different keys');
    this.#pending.delete(keyId);
    this.#dead.set(keyId, p.deadlineMs + this.#ttlMs);
    const key = p.key;
    return {
      ok: true,
      key,
      tag: confirmationTag(nonce, 'destination', keyId, from, self, key),
      paths: p.a.paths,
    };
  }

  /** The source gave up on `keyId`: drop it (no refusal raised here; the source alerts). */
  abort(from: string, keyId: string, nowMs: number): boolean {
    const p = this.#pending.get(keyId);
    if (!p || p.source !== from) return false;
    this.#drop(keyId);
    this.#dead.set(keyId, nowMs + this.#ttlMs);
    return true;
  }

  /** Drops keys whose shares did not all arrive in time; returns a refusal per key. */
  expire(nowMs: number): IntegrityRefusal[] {
    const out: IntegrityRefusal[] = [];
    for (const [keyId, p] of this.#pending)
      if (p.deadlineMs <= nowMs) {
        const missing = p.a.paths.filter((_, i) => p.shares[i] === undefined);
        out.push(this.#refuse(keyId, 'missing-share', missing, 'timed out waiting for shares'));
      }
    for (const [keyId, forgetAt] of this.#dead) if (forgetAt <= nowMs) this.#dead.delete(keyId);
    return out;
  }

  /** Erases what is held for `keyId`; a key that was held is remembered as refused. */
  #drop(keyId: string): Pending | undefined {
    const p = this.#pending.get(keyId);
    if (!p) return undefined;
    for (const s of p.shares) s?.fill(0);
    p.key?.fill(0);
    this.#pending.delete(keyId);
    this.#dead.set(keyId, p.deadlineMs + this.#ttlMs);
    return p;
  }

  #refuse(
    keyId: string,
    reason: IntegrityFailure,
    paths: readonly (readonly string[])[],
    detail: string,
    node?: string,
  ): IntegrityRefusal {
    const p = this.#drop(keyId);
    return {
      ok: false,
      reason,
      keyId,
      ...(p ? { source: p.source } : {}),
      paths,
      ...(node !== undefined ? { node } : {}),
      detail,
    };
  }
}
