/**
 * Wire forms of the live relay's messages (./live-relay.ts) as they travel inside the KME relay route's
 * opaque `message` (src/kms relay-route.ts): a share on one hop (OTP ciphertext), and — on the direct
 * mutual-TLS channel between the end KMEs only — the announcement, key confirmation and abort of
 * ./relay-integrity.ts. Binary fields are base64. Every parser returns undefined for anything malformed.
 */
import type { RelayAnnouncement } from './relay-integrity.ts';
import type { RelayShareMessage } from './relay.ts';

/** Why a live relay failed. */
export type LiveRelayFailure =
  | 'no-link-key'
  | 'quota-exceeded'
  | 'no-route'
  | 'not-on-path'
  | 'unreachable'
  | 'bad-message'
  | 'forged-share'
  | 'missing-share'
  | 'confirmation-failed';

/** A hop's (or the destination's) answer. */
export type Answer =
  | { status: 'pending' | 'assembled' }
  | { status: 'confirmed'; tag: string }
  | {
      status: 'error';
      reason: LiveRelayFailure;
      at: string;
      detail?: string;
      /** Paths the failure concerns (forged share, missing shares). */
      paths?: string[][];
    };

const b64 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');
const bytes = (s: unknown) => (typeof s === 'string' ? new Uint8Array(Buffer.from(s, 'base64')) : undefined);
const strs = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
const int = (x: unknown): x is number => Number.isSafeInteger(x);

/** A share message as it travels. */
export const shareToWire = (m: RelayShareMessage) => ({ ...m, ciphertext: b64(m.ciphertext) });

/** A share message from the wire. */
export function shareFromWire(w: Record<string, unknown>): RelayShareMessage | undefined {
  if (w.type !== 'relay-share' || typeof w.keyId !== 'string' || typeof w.ciphertext !== 'string')
    return undefined;
  if (!strs(w.path) || !strs(w.links) || !int(w.hop) || !int(w.shareIndex) || !int(w.shareCount))
    return undefined;
  const { path, hop, shareCount: count, shareIndex: index } = w;
  if (w.links.length !== path.length - 1 || hop < 1 || hop >= path.length) return undefined;
  if (count < 1 || count > 16 || index < 0 || index >= count) return undefined;
  if (typeof w.linkKeyRef !== 'string') return undefined;
  return {
    type: 'relay-share',
    keyId: w.keyId,
    shareIndex: index,
    shareCount: count,
    path,
    links: w.links,
    hop,
    linkKeyRef: w.linkKeyRef,
    ciphertext: bytes(w.ciphertext)!,
  };
}

/** The announcement as it travels (end KMEs only). */
export const announceToWire = (a: RelayAnnouncement) => ({
  type: 'relay-announce',
  keyId: a.keyId,
  paths: a.paths,
  keyBytes: a.keyBytes,
  macKey: b64(a.macKey),
  digests: a.digests.map(b64),
});

/** An announcement from the wire. */
export function announceFromWire(w: Record<string, unknown>): RelayAnnouncement | undefined {
  if (typeof w.keyId !== 'string' || !int(w.keyBytes) || !Array.isArray(w.paths) || !strs(w.digests))
    return undefined;
  if (!w.paths.every(strs) || w.paths.length > 16) return undefined;
  const macKey = bytes(w.macKey);
  if (!macKey) return undefined;
  return {
    keyId: w.keyId,
    paths: w.paths as string[][],
    keyBytes: w.keyBytes,
    macKey,
    digests: w.digests.map((d) => bytes(d)!),
  };
}

/** The source's confirmation as it travels. */
export const confirmToWire = (keyId: string, nonce: Uint8Array, tag: Uint8Array) => ({
  type: 'relay-confirm',
  keyId,
  nonce: b64(nonce),
  tag: b64(tag),
});

/** A confirmation from the wire. */
export function confirmFromWire(
  w: Record<string, unknown>,
): { keyId: string; nonce: Uint8Array; tag: Uint8Array } | undefined {
  const nonce = bytes(w.nonce);
  const tag = bytes(w.tag);
  if (typeof w.keyId !== 'string' || !nonce || !tag) return undefined;
  return { keyId: w.keyId, nonce, tag };
}

/** An answer from the wire (anything unexpected is a `bad-message` error from `at`). */
export function asAnswer(x: unknown, at: string): Answer {
  const a = x as Answer | undefined;
  if (a && (a.status === 'pending' || a.status === 'assembled' || a.status === 'error')) return a;
  if (a && a.status === 'confirmed' && typeof a.tag === 'string') return a;
  return { status: 'error', reason: 'bad-message', at, detail: 'unexpected answer' };
}

/** base64 of bytes (tags in answers). */
export const toB64 = b64;
/** Bytes of base64 text (undefined if not a string). */
export const fromB64 = bytes;
