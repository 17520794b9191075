/**
 * One KME's ETSI GS QKD 020 V1.1.1 endpoint: the protocol book (./etsi-gs-qkd-020.ts) driven over HTTPS.
 *
 * Receiving (`ext_keys` from a peer KME): the book checks and holds the keys; a registered route that
 * claims the request (e.g. the trusted-node relay, src/network) or, when every target SAE is served here,
 * the local route delivers them. In the required asynchronous mode the caller has its 202 at once and the
 * outcomes follow as `ext_keys/ack` requests to its `ack_callback_url` (clause "Operation of the API",
 * figures 1 and 3), retried on failure and, when they never get through, the held keys are voided here
 * (the clause's "either retry … or void"). In the optional synchronous mode (no callback URL) the
 * outcomes are the 200 answer.
 *
 * Sending (`sendKeys`): registers the keys as awaiting acknowledgement, calls the peer with this KME's
 * own callback URL, and resolves once every key has an outcome. A 400 or 401 answer means the peer kept
 * no association (the keys count as `failed` and may be reused); any other answer, a timeout or missing
 * acknowledgements mean associations may exist, so the keys are voided at the peer and count as failed.
 */
import { randomUUID } from 'node:crypto';
import type { CoreLog } from './core.ts';
import { Etsi020Client, type Etsi020Peer } from './etsi-gs-qkd-020-client.ts';
import {
  ackContainers,
  API_VERSIONS,
  CAPABILITIES,
  Etsi020Book,
  type ExtKey,
  type ExtKeyBatch,
  type KeyOutcome,
} from './etsi-gs-qkd-020.ts';
import {
  ACK_STATUSES,
  type AckContainerWire,
  type ExtKeyContainerWire,
  type VersionContainerWire,
} from './etsi-gs-qkd-020-schema.ts';
import type { JsonAnswer, MtlsIdentity } from './https-json.ts';

/** A component that takes keys arriving over 020 further (e.g. the trusted-node relay). */
export interface Etsi020Route {
  /** `extension_mandatory` names it implements. */
  readonly extensions: readonly string[];
  /** True when it takes this request (decided before the 202, so an unroutable request is a 400). */
  claims(b: Omit<ExtKeyBatch, 'keys'>): boolean;
  /**
   * Takes the keys further; resolves with each key's outcome (`relayed` or `failed`). The keys are handed
   * over once (no longer held by the endpoint): it must erase their bytes after use.
   */
  deliver(b: ExtKeyBatch): Promise<KeyOutcome[]>;
}

/** Options of the endpoint. */
export interface Etsi020EndpointOptions {
  readonly identity: MtlsIdentity;
  readonly peers: readonly (Etsi020Peer & { readonly protocol?: 'qkdnet' | 'etsi020' })[];
  /** IANA PEN of the operator, naming its extensions (config `etsi020.pen`). */
  readonly pen?: number;
  readonly revoked?: (serial: string) => boolean;
  /** True for an SAE this KME serves (the local route delivers to them). */
  readonly isLocalSae: (sae: string) => boolean;
  /** How long `sendKeys` waits for acknowledgements after a 202 (default 30 s). */
  readonly ackTimeoutMs?: number;
  /** Attempts to deliver one acknowledgement to a callback URL (default 3). */
  readonly ackAttempts?: number;
  readonly log?: CoreLog;
}

/** What `sendKeys` passes. */
export interface SendKeysRequest {
  readonly keys: readonly { readonly keyId?: string; readonly value: Uint8Array }[];
  readonly initiator: string;
  readonly targets: readonly string[];
  readonly extensionMandatory?: Readonly<Record<string, unknown>>;
  readonly extensionOptional?: Readonly<Record<string, unknown>>;
  /** Ask for the optional synchronous mode (check the peer's capabilities first). */
  readonly synchronous?: boolean;
}

const b64 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');

/** The 020 interface of one KME. */
export class Etsi020Endpoint {
  readonly book: Etsi020Book;
  readonly client: Etsi020Client;
  readonly #routes = new Set<Etsi020Route>();
  readonly #opts: Etsi020EndpointOptions;
  #selfUrl = '';
  #closed = false;

  constructor(opts: Etsi020EndpointOptions) {
    this.#opts = opts;
    this.client = new Etsi020Client(opts.identity, opts.peers, opts.revoked ? { revoked: opts.revoked } : {});
    this.book = new Etsi020Book({
      mandatory: (n) => [...this.#routes].some((r) => r.extensions.includes(n)),
    });
  }

  /** How the configured relay hop to `peer` is carried (config `peers[].protocol`, default `qkdnet`). */
  hopProtocol(peer: string): 'qkdnet' | 'etsi020' | undefined {
    return this.#opts.peers.find((p) => p.id === peer)?.protocol;
  }

  /** The configured IANA Private Enterprise Number for extension names (config `etsi020.pen`). */
  get pen(): number | undefined {
    return this.#opts.pen;
  }

  /** Sets this KME's own base URL (its callback URL is `<url>/kmapi/v1/ext_keys/ack`). */
  listening(url: string): void {
    this.#selfUrl = url;
  }

  /** This KME's `ack_callback_url`. */
  get callbackUrl(): string {
    return `${this.#selfUrl}/kmapi/v1/ext_keys/ack`;
  }

  /** Registers a route; returns its removal. */
  addRoute(r: Etsi020Route): () => void {
    this.#routes.add(r);
    return () => this.#routes.delete(r);
  }

  /** `version_container` of `GET /kmapi/versions`. */
  versions(): VersionContainerWire {
    return { versions: [...API_VERSIONS], capabilities: [...CAPABILITIES] };
  }

  #route(b: Omit<ExtKeyBatch, 'keys'>): Etsi020Route | 'local' | undefined {
    for (const r of this.#routes) if (r.claims(b)) return r;
    if (b.extensionMandatory === undefined && b.targets.every((t) => this.#opts.isLocalSae(t)))
      return 'local';
    return undefined;
  }

  /** Checks and holds an `ext_keys` request of peer `from` (throws its Etsi020Problem). */
  receive(from: string, w: ExtKeyContainerWire): ExtKeyBatch {
    return this.book.accept(from, w, (b) => this.#route(b) !== undefined);
  }

  /**
   * Takes held keys to their route; resolves with every key's outcome, with the known outcomes of keys
   * an identical earlier request already passed (never rejects).
   */
  async deliver(b: ExtKeyBatch): Promise<KeyOutcome[]> {
    const fresh = b.keys.length > 0 ? await this.#deliverFresh(b) : [];
    this.book.settle(fresh);
    return [...(b.repeated ?? []), ...fresh];
  }

  async #deliverFresh(b: ExtKeyBatch): Promise<KeyOutcome[]> {
    const ids = b.keys.map((k) => k.keyId);
    const route = this.#route(b);
    if (route === 'local') {
      this.book.ready(ids); // Fig. 5 steps 11–12: the target SAE fetches them here by key ID
      return ids.map((keyId) => ({ keyId, status: 'relayed' }));
    }
    if (!route) {
      this.book.fail(ids);
      return ids.map((keyId) => ({ keyId, status: 'failed', message: 'no route' }));
    }
    let keys: ExtKey[] = [];
    try {
      keys = this.book.take(ids);
      const got = await route.deliver({ ...b, keys });
      const byId = new Map(got.map((o) => [o.keyId, o]));
      return ids.map((keyId) => byId.get(keyId) ?? { keyId, status: 'failed', message: 'no outcome' });
    } catch (e) {
      this.#opts.log?.error({ err: (e as Error).message }, 'ETSI 020 route failed');
      return ids.map((keyId) => ({ keyId, status: 'failed', message: 'relay failed' }));
    } finally {
      for (const k of keys) k.value.fill(0);
    }
  }

  /**
   * Posts outcomes to `from`'s callback URL as `ext_keys/ack` (retried); when no attempt is answered
   * 200 the keys still held here are voided (clause "Operation of the API": retry or void).
   */
  async acknowledge(
    from: string,
    callbackUrl: string,
    initiator: string,
    targets: readonly string[],
    outcomes: readonly KeyOutcome[],
  ): Promise<boolean> {
    const containers = ackContainers(outcomes, initiator, targets);
    const attempts = this.#opts.ackAttempts ?? 3;
    for (let i = 0; i < attempts && !this.#closed; i++) {
      try {
        const a = await this.client.ack(from, callbackUrl, containers);
        if (a.status === 200) return true;
        this.#opts.log?.warn({ peer: from, status: a.status }, 'ETSI 020 acknowledgement refused');
        if (a.status === 400 || a.status === 401) break; // the peer will not take it however often sent
      } catch (e) {
        this.#opts.log?.warn({ peer: from, err: (e as Error).message }, 'ETSI 020 acknowledgement failed');
      }
      await new Promise((r) => setTimeout(r, 200 * 2 ** i).unref());
    }
    const held = outcomes.filter((o) => o.status === 'relayed').map((o) => o.keyId);
    if (held.length > 0)
      this.book.void(from, { key_ids: held, initiator_sae_id: initiator, target_sae_ids: [...targets] });
    return false;
  }

  /**
   * Passes keys to peer KME `peer` (`ext_keys`) and resolves with every key's outcome once acknowledged
   * (asynchronous mode) or answered (synchronous mode). Never rejects; the keys' bytes are not erased.
   */
  async sendKeys(peer: string, req: SendKeysRequest): Promise<KeyOutcome[]> {
    const keys = req.keys.map((k) => ({ keyId: (k.keyId ?? randomUUID()).toLowerCase(), value: k.value }));
    const ids = keys.map((k) => k.keyId);
    const voidThere = (unsure: readonly string[]) =>
      this.voidKeys(peer, unsure, req.initiator, req.targets).then(() => undefined);
    return this.#exchange(peer, ids, req.initiator, req.targets, req.synchronous ?? false, voidThere, (cb) =>
      this.client.extKeys(peer, {
        keys: keys.map((k) => ({ key_id: k.keyId, value: b64(k.value) })),
        initiator_sae_id: req.initiator,
        target_sae_ids: [...req.targets],
        ...(cb !== undefined ? { ack_callback_url: cb } : {}),
        ...(req.extensionMandatory ? { extension_mandatory: { ...req.extensionMandatory } } : {}),
        ...(req.extensionOptional ? { extension_optional: { ...req.extensionOptional } } : {}),
      }),
    );
  }

  /**
   * Voids keys at peer KME `peer` (`ext_keys/void`) and resolves with each key's outcome (`voided`,
   * `failed to void`, `key not present`, or `failed` when the peer never said). Never rejects.
   */
  async voidKeys(
    peer: string,
    keyIds: readonly string[],
    initiator: string,
    targets: readonly string[],
    opts: { synchronous?: boolean; all?: boolean } = {},
  ): Promise<KeyOutcome[]> {
    const ids = keyIds.map((k) => k.toLowerCase());
    this.book.cancel(ids, 'failed', 'voided by this KME'); // a pending ext_keys of these keys is moot
    return this.#exchange(
      peer,
      ids,
      initiator,
      targets,
      opts.synchronous ?? false,
      async () => undefined,
      (cb) =>
        this.client.voidKeys(peer, {
          key_ids: ids,
          initiator_sae_id: initiator,
          target_sae_ids: [...targets],
          ...(cb !== undefined ? { ack_callback_url: cb } : {}),
          ...(opts.all ? { all_confirmation: true } : {}),
        }),
    );
  }

  /**
   * One request whose outcomes arrive as acknowledgements (202) or in the answer (synchronous 200).
   * `unsure(ids)` runs for keys whose fate the peer left open (clause "Operation of the API").
   */
  async #exchange(
    peer: string,
    ids: readonly string[],
    initiator: string,
    targets: readonly string[],
    synchronous: boolean,
    unsure: (ids: readonly string[]) => Promise<void>,
    post: (callbackUrl: string | undefined) => Promise<JsonAnswer>,
  ): Promise<KeyOutcome[]> {
    const outcomes = new Map<string, KeyOutcome>();
    let allIn = () => undefined as void;
    const settled = new Promise<void>((r) => (allIn = r));
    if (!synchronous && ids.length > 0)
      this.book.expect(peer, ids, initiator, targets, (o) => {
        outcomes.set(o.keyId, o);
        if (outcomes.size === ids.length) allIn();
      });
    const failAll = (message: string) => {
      this.book.cancel(ids, 'failed', message);
      return ids.map((keyId) => outcomes.get(keyId) ?? { keyId, status: 'failed' as const, message });
    };
    let answer: JsonAnswer;
    try {
      answer = await post(synchronous ? undefined : this.callbackUrl);
    } catch (e) {
      const r = failAll(`no answer: ${(e as Error).message}`);
      await unsure(ids).catch(() => undefined);
      return r;
    }
    if (answer.status === 400 || answer.status === 401) return failAll(`refused with ${answer.status}`);
    if (synchronous && answer.status === 200) {
      const got = outcomesOf(answer.body);
      const missing = ids.filter((id) => !got.has(id));
      if (missing.length > 0) await unsure(missing).catch(() => undefined);
      return ids.map((keyId) => got.get(keyId) ?? { keyId, status: 'failed', message: 'not acknowledged' });
    }
    if (answer.status !== 202 || ids.length === 0) {
      const r = failAll(`answered ${answer.status}`);
      if (answer.status !== 202) await unsure(ids).catch(() => undefined);
      return r;
    }
    const timer = setTimeout(allIn, this.#opts.ackTimeoutMs ?? 30_000);
    await settled;
    clearTimeout(timer);
    const missing = ids.filter((id) => !outcomes.has(id));
    if (missing.length > 0) {
      this.book.cancel(missing, 'failed', 'no acknowledgement in time');
      await unsure(missing).catch(() => undefined);
    }
    return ids.map((keyId) => outcomes.get(keyId)!);
  }

  /** Stops retrying and closes connections. */
  close(): void {
    this.#closed = true;
    this.client.close();
  }
}

/** Outcomes in a synchronous-mode 200 body (`ack_containers`), by key ID. */
function outcomesOf(body: unknown): Map<string, KeyOutcome> {
  const out = new Map<string, KeyOutcome>();
  if (!Array.isArray(body)) return out;
  for (const c of body as Partial<AckContainerWire>[]) {
    const status = c.ack_status;
    if (!status || !(ACK_STATUSES as readonly string[]).includes(status)) continue;
    for (const k of c.key_id_container ?? [])
      if (typeof k?.key_id === 'string')
        out.set(k.key_id.toLowerCase(), { keyId: k.key_id.toLowerCase(), status });
  }
  return out;
}
