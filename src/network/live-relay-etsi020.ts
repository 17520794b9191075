/**
 * Inter-domain hops of the live trusted-node relay (./live-relay.ts) over ETSI GS QKD 020 V1.1.1. Two
 * KMEs of different QKD networks (or policy domains, or vendors) inside one interworking node share no
 * QKD link; 020 lets them hand keys across directly, inside the node's protected environment (020
 * clauses "Overview" and "Security and operational environment"). On such a hop the relay does what 020's
 * figure 5 shows for a whole key: the sending KME opens the share it received (it is a trusted node, as on
 * any hop) and passes it as one 020 key (`ext_keys`, asynchronous mode) to the next KME; that KME answers
 * 202, carries the share on over its own network (one-time pad over its next QKD link, or another 020 hop)
 * or, as destination, hands it to the share assembler, and acknowledges `relayed` or `failed` to the
 * sender's callback. The sender's hop answer waits for that acknowledgement.
 *
 * The share's place in the relay (key ID, share index and count, path, hop) travels in one mandatory
 * vendor extension `E<PEN>_qkdnet_relay` (020 clause "Extensions"): a KME that does not implement it must
 * refuse the call (503 `unsupported_mandatory_extension`) rather than deliver a share to an SAE. qkdnet
 * holds no IANA Private Enterprise Number of its own: the default is 32473, the number IANA set aside for
 * documentation (RFC 5612) — a deployment sets the PEN of its operator (`etsi020Pen`).
 * The initiator and target SAE IDs name the relay's end KMEs (`relay:<kme>`, ../kms relay-route.ts).
 */
import type { HopKeys, RelayShareMessage } from './relay.ts';
import { xorBytes } from './relay.ts';

/** How a hop to a neighbour KME is carried. */
export type HopProtocol = 'qkdnet' | 'etsi020';

/** RFC 5612's documentation PEN: the default of `etsi020Pen` until an operator sets its own. */
export const DOCUMENTATION_PEN = 32473;

/** Where a share stands in its relay (the extension's content). */
export interface ShareContext {
  readonly keyId: string;
  readonly shareIndex: number;
  readonly shareCount: number;
  readonly path: readonly string[];
  /** Index in `path` of the KME receiving the share over 020. */
  readonly hop: number;
}

/** The extension name for `pen` (`E<pen>_qkdnet_relay`). */
export function relayExtensionName(pen: number): string {
  if (!Number.isInteger(pen) || pen < 1 || pen === 13019 || pen > 4_294_967_295)
    throw new RangeError(`etsi020Pen: ${pen} is not a usable IANA Private Enterprise Number`);
  return `E${pen}_qkdnet_relay`;
}

/** The extension's value for `c`. */
export function shareContextToWire(c: ShareContext): Record<string, unknown> {
  return {
    key_id: c.keyId,
    share_index: c.shareIndex,
    share_count: c.shareCount,
    path: [...c.path],
    hop: c.hop,
  };
}

const isIndex = (x: unknown, below: number): x is number =>
  typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < below;

/** The extension's value read back (undefined when malformed). */
export function shareContextFromWire(w: unknown): ShareContext | undefined {
  if (!w || typeof w !== 'object' || Array.isArray(w)) return undefined;
  const o = w as Record<string, unknown>;
  const path = o.path;
  if (!Array.isArray(path) || path.length < 2 || path.length > 64) return undefined;
  if (!path.every((n) => typeof n === 'string' && n.length > 0 && n.length <= 256)) return undefined;
  if (typeof o.key_id !== 'string' || o.key_id.length === 0 || o.key_id.length > 64) return undefined;
  if (!isIndex(o.share_count, 17) || o.share_count < 1 || !isIndex(o.share_index, o.share_count))
    return undefined;
  if (!isIndex(o.hop, path.length) || o.hop < 1) return undefined;
  return {
    keyId: o.key_id,
    shareIndex: o.share_index,
    shareCount: o.share_count,
    path: path as string[],
    hop: o.hop,
  };
}

/**
 * Opens a share at node `self` without forwarding it (the next hop is a 020 hop): fetches the link key of
 * the incoming hop (erasing it there) and removes the pad. Undefined when `self` is not the message's
 * receiver or the link key is missing.
 */
export function openShare(self: string, msg: RelayShareMessage, keys: HopKeys): Uint8Array | undefined {
  if (msg.path[msg.hop] !== self || msg.hop >= msg.path.length - 1) return undefined;
  const inKey = keys.fetch(msg.links[msg.hop - 1]!, msg.linkKeyRef, msg.ciphertext.length);
  if (!inKey) return undefined;
  const share = xorBytes(msg.ciphertext, inKey);
  inKey.fill(0);
  return share;
}
