/**
 * The client side of ETSI GS QKD 020 V1.1.1: the four operations (`get_versions`, `post-ext_keys`,
 * `post_ext_keys_ack`, `post_ext_keys_void`) as HTTPS requests with mutual TLS 1.3 (clause "Connection
 * specification and security scheme": HTTP/1.1, TLS 1.3, "mutual authentication between the KMEs …
 * using certificates", each KME confirming the other's identity from its certificate). Every connection
 * goes to a configured peer KME and checks that the server proves to be it: the KME id as a DNS
 * subjectAltName, the pin and the CRL (./identity.ts `serverCheck`). The qkdnet kme role is required when
 * the certificate carries any qkdnet role and not demanded of another vendor's certificate (`if-present`).
 * An acknowledgement goes to the caller's `ack_callback_url`, but only over a connection that proves to
 * be the KME that made the request — a callback URL cannot point this KME at anybody else.
 */
import type https from 'node:https';
import { QkdnetError } from '../common/index.ts';
import type {
  AckContainerWire,
  ExtKeyContainerWire,
  VersionContainerWire,
  VoidContainerWire,
} from './etsi-gs-qkd-020-schema.ts';
import { createMtlsAgent, requestJson, type JsonAnswer, type MtlsIdentity } from './https-json.ts';
import type { CertPin } from './identity.ts';

/** A peer KME reachable over 020. */
export interface Etsi020Peer {
  readonly id: string;
  /** Base URL (`https://host:port`); the API lives under `/kmapi/`. */
  readonly url: string;
  readonly pin?: CertPin;
}

/** HTTPS client of the 020 operations towards configured peer KMEs. */
export class Etsi020Client {
  readonly #peers: Map<string, Etsi020Peer>;
  readonly #agents = new Map<string, https.Agent>();
  readonly #identity: MtlsIdentity;
  readonly #revoked: (serial: string) => boolean;
  readonly #timeoutMs: number;

  constructor(
    identity: MtlsIdentity,
    peers: readonly Etsi020Peer[],
    opts: { revoked?: (serial: string) => boolean; timeoutMs?: number } = {},
  ) {
    this.#identity = identity;
    this.#peers = new Map(peers.map((p) => [p.id, p]));
    this.#revoked = opts.revoked ?? (() => false);
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** True when `peerId` is a configured peer. */
  knows(peerId: string): boolean {
    return this.#peers.has(peerId);
  }

  #agent(peerId: string): https.Agent {
    const p = this.#peers.get(peerId);
    if (!p) throw new QkdnetError('KMS_PEER_UNAVAILABLE', `No URL configured for KME "${peerId}"`);
    let a = this.#agents.get(peerId);
    if (!a) {
      a = createMtlsAgent(this.#identity, 8, {
        kmeId: p.id,
        role: 'if-present',
        revoked: this.#revoked,
        ...(p.pin ? { pin: p.pin } : {}),
      });
      this.#agents.set(peerId, a);
    }
    return a;
  }

  #url(peerId: string, path: string): string {
    return `${this.#peers.get(peerId)?.url ?? ''}${path}`;
  }

  /** `GET /kmapi/versions`. */
  async versions(peerId: string): Promise<{ status: number; body: VersionContainerWire | unknown }> {
    const agent = this.#agent(peerId);
    return requestJson(agent, this.#url(peerId, '/kmapi/versions'), 'GET', undefined, this.#timeoutMs);
  }

  /** `POST /kmapi/v1/ext_keys` (202: accepted, acks follow; 200: synchronous-mode `ack_containers`). */
  extKeys(peerId: string, body: ExtKeyContainerWire): Promise<JsonAnswer> {
    const agent = this.#agent(peerId);
    return requestJson(agent, this.#url(peerId, '/kmapi/v1/ext_keys'), 'POST', body, this.#timeoutMs);
  }

  /** `POST /kmapi/v1/ext_keys/void`. */
  voidKeys(peerId: string, body: VoidContainerWire): Promise<JsonAnswer> {
    const agent = this.#agent(peerId);
    return requestJson(agent, this.#url(peerId, '/kmapi/v1/ext_keys/void'), 'POST', body, this.#timeoutMs);
  }

  /**
   * `POST <ack_callback_url>` with `ack_containers`, to KME `peerId` (the one that made the request):
   * the server at the URL must prove to be that KME.
   */
  ack(peerId: string, callbackUrl: string, containers: readonly AckContainerWire[]): Promise<JsonAnswer> {
    const agent = this.#agent(peerId);
    return requestJson(agent, callbackUrl, 'POST', containers, this.#timeoutMs);
  }

  /** Closes every connection. */
  close(): void {
    for (const a of this.#agents.values()) a.destroy();
    this.#agents.clear();
  }
}
