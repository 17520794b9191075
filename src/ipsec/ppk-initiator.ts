// @edge: the UE's PPK agent: ETSI 014 master SAE, drives charon over VICI, rotates on a timer
/**
 * The initiator's PPK agent (UE side, ETSI GS QKD 014 master SAE). One `establish()`:
 *  1. a new key from its KME (`enc_keys`, naming the N3IWF's SAE as slave);
 *  2. the key_ID to the N3IWF's agent over the authenticated channel, which loads the same key;
 *  3. the key into its own charon as PPK (PPK_ID = key_ID), its copy erased; the connection reloaded with
 *     `ppk_id` = key_ID and `ppk_required`;
 *  4. `initiate`: a new IKE SA whose SK_d, SK_pi, SK_pr are re-keyed with the PPK (RFC 8784 §3: SK_d' =
 *     prf+(PPK, SK_d), …), then the previous IKE SA is deleted and its PPK unloaded on both sides
 *     (make-before-break reauthentication: a new PPK only acts on a new IKE SA).
 * `start()` repeats this every `lifetimeS`. The pool-exhaustion policy (./exhaustion-policy.ts) decides:
 * `fail-closed` sets up no SA without a QKD key (and deletes an SA whose key lifetime ran out); `pqc`
 * derives a PPK from an ML-KEM-768 exchange between the agents (provenance `pqc`; the SA then rests on
 * X25519 + ML-KEM); `hybrid` uses QKD key ⊕ ML-KEM key (./hybrid-ppk.ts) and ML-KEM alone when the pool is
 * empty. Every downgrade and refusal raises an alert; there is no path to an SA without a PPK, because
 * both ends set `ppk_required`, and a key_ID seen before is refused (a PPK is never used twice).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { fail, ok, type Provenance, type Result } from '../common/index.ts';
import { agentAlert, type AlertSink } from './alerts.ts';
import { connMessage, ppkMessage, ppkSecretId, type ConnSpec } from './connections.ts';
import { planPpk, type NoKeyPolicy, type PlanAlert } from './exhaustion-policy.ts';
import { hybridPpk } from './hybrid-ppk.ts';
import type { KeySource } from './key-source.ts';
import type { ChannelClient } from './peer-channel.ts';
import type { PqcKem } from './ppk-responder.ts';
import { initiate, terminateIke } from './testbed.ts';
import type { ViciMessageIn } from './vici-codec.ts';
import type { ViciClient } from './vici-client.ts';

export type { NoKeyPolicy } from './exhaustion-policy.ts';

/** Options of the initiator agent. */
export interface InitiatorAgentOptions {
  readonly vici: ViciClient;
  readonly keys: KeySource;
  readonly channel: ChannelClient;
  /** Connection name and authentication; role, ppk_id and ppk_required are set by the agent. */
  readonly conn: Pick<ConnSpec, 'name' | 'auth' | 'certPem'>;
  /**
   * With one's own strongSwan: builds the `load-conn` message naming `ppkId` (default: the testbed's
   * connection from `conn`). See `withPpk()` for a template-based builder.
   */
  readonly connFor?: (ppkId: string) => ViciMessageIn;
  /** How long VICI `initiate` may take before the round fails (default 5000 ms). */
  readonly initiateTimeoutMs?: number;
  /** The CHILD SA to initiate (default `n3gpp`, the testbed's). */
  readonly childName?: string;
  readonly policy: NoKeyPolicy;
  readonly pqc?: PqcKem;
  /** Seconds between reauthentications with a fresh key. */
  readonly lifetimeS: number;
  /** PPK length in bits (default 256). */
  readonly keyBits?: number;
  readonly log: Logger;
  readonly alert: AlertSink;
  readonly nodeId?: string;
  /**
   * Called after every round with its outcome (e.g. to print rotations) and what started it: `lifetime`
   * for the agent's own reauthentication when the SA's key lifetime (`lifetimeS`) ran out, `call` for
   * `establish()`/`start()`.
   */
  readonly onRound?: (r: EstablishResult, cause: RoundCause) => void;
  /**
   * Every PPK_ID this agent (or its siblings, when shared — one N3IWF, many UE agents) has used: a key_ID
   * seen again is refused with an alert, so strongSwan is never handed the same PPK for two SAs.
   */
  readonly usedPpkIds?: Set<string>;
}

/** The SA the agent keeps up. */
export interface ActiveSa {
  readonly keyId: string;
  readonly provenance: Provenance;
  readonly ikeUniqueId: string;
  /** Key fetch, transfer, loading and IKE set-up, milliseconds. */
  readonly elapsedMs: number;
}

/** Why a round did not install a new SA. */
export type EstablishFailure = 'no-key' | 'peer-refused' | 'authentication-failed' | 'ike-failed';

/** What started a round: a caller, or the SA's key lifetime running out. */
export type RoundCause = 'call' | 'lifetime';

/** Outcome of one round. */
export type EstablishResult = Result<ActiveSa, EstablishFailure, { readonly message: string }>;

/** The UE's agent. */
export class InitiatorAgent {
  readonly #o: InitiatorAgentOptions;
  #current: ActiveSa | undefined;
  #timer: NodeJS.Timeout | undefined;
  #busy: Promise<EstablishResult> | undefined;
  readonly #used: Set<string>;

  constructor(options: InitiatorAgentOptions) {
    if (!(options.lifetimeS > 0))
      throw new RangeError(`lifetimeS must be positive, got ${options.lifetimeS}`);
    if (options.policy !== 'fail-closed' && !options.pqc)
      throw new RangeError(`policy ${options.policy} needs a PqcKem`);
    this.#o = options;
    this.#used = options.usedPpkIds ?? new Set();
  }

  /** The SA currently protected by this agent's PPK, if any. */
  get current(): ActiveSa | undefined {
    return this.#current;
  }

  /**
   * Establishes now, then reauthenticates every `lifetimeS` seconds until `stop()`: each expiry of the
   * SA's key lifetime draws a fresh key for a new IKE SA (a new PPK acts only on a new IKE SA). charon's
   * own `reauth_time` cannot do this: its reauthentication builds the new IKE SA from the old one's peer
   * config (strongSwan's ike_sa.c `reestablish()`), i.e. the same `ppk_id` — the same PPK for a second
   * IKE SA, or none once it is unloaded.
   */
  async start(): Promise<EstablishResult> {
    const r = await this.establish();
    clearInterval(this.#timer);
    this.#timer = setInterval(() => void this.#establish('lifetime'), this.#o.lifetimeS * 1000);
    this.#timer.unref();
    return r;
  }

  /** One round (serialised: a round started while one runs waits for it). */
  establish(): Promise<EstablishResult> {
    return this.#establish('call');
  }

  #establish(cause: RoundCause): Promise<EstablishResult> {
    const next = (this.#busy ?? Promise.resolve()).then(() =>
      this.#round().catch((e: unknown) => this.#broken(e)),
    );
    void next.then((r) => this.#o.onRound?.(r, cause)).catch(() => undefined);
    this.#busy = next;
    return next;
  }

  /** charon or the KME client failed unexpectedly (socket closed, daemon gone): no SA, an alert. */
  #broken(e: unknown): EstablishResult {
    const message = `PPK round failed: ${(e as Error)?.message ?? String(e)}`;
    this.#raise({
      kind: 'ipsec-unavailable',
      severity: 'critical',
      action: 'notify',
      statistic: 'ppk-round-ok',
      value: 0,
      message,
    });
    this.#o.log.error({ event: 'round-failed' }, message);
    return fail('ike-failed', { message });
  }

  /** Stops rotating, deletes the SA and unloads its PPK on both sides. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#busy;
    const cur = this.#current;
    this.#current = undefined;
    if (cur) await this.#retire(cur);
  }

  async #round(): Promise<EstablishResult> {
    const t0 = performance.now();
    const o = this.#o;
    const got = await o.keys.newKey(o.keyBits ?? 256);
    if (got.ok && this.#used.has(got.value.keyId)) {
      got.value.key.fill(0);
      return this.#reused(got.value.keyId);
    }
    const plan = planPpk(o.policy, got.ok, o.pqc !== undefined);
    let keyId: string;
    let key: Uint8Array;
    let provenance: Provenance;
    const what = got.ok ? '' : `no QKD key from the KME (${got.reason}: ${got.message})`;
    if (plan.source === 'refuse') {
      if (got.ok) got.value.key.fill(0);
      this.#noQkdKey(plan.alert, `${what}; policy ${o.policy}: no SA`);
      o.log.error(
        { reason: got.ok ? 'policy' : got.reason, policy: o.policy, event: 'no-key' },
        `${what}; no SA set up`,
      );
      const stale = this.#current;
      this.#current = undefined;
      if (stale) await this.#retire(stale);
      return fail('no-key', { message: what });
    }
    if (got.ok && plan.source === 'qkd') {
      ({ keyId, key, provenance } = got.value);
      this.#used.add(keyId);
      // the peer fetches and loads its copy while this side loads its own
      const refused = await this.#both(keyId, key, { type: 'ppk', keyId });
      if (refused) return refused;
    } else if (got.ok && plan.source === 'hybrid') {
      keyId = got.value.keyId;
      this.#used.add(keyId);
      const init = await this.#ask({ type: 'pqc-init', keyId });
      if (init.ok !== true || typeof init.publicKey !== 'string') {
        got.value.key.fill(0);
        await this.#ask({ type: 'release', keyId });
        return this.#refused(keyId, init);
      }
      const { cipherText, sharedSecret } = o.pqc!.encapsulate(Buffer.from(init.publicKey, 'base64'));
      const pq = o.pqc!.derive(sharedSecret, keyId, got.value.key.length);
      sharedSecret.fill(0);
      key = hybridPpk(got.value.key, pq);
      provenance = 'hybrid';
      const refused = await this.#both(keyId, key, {
        type: 'hybrid-finish',
        keyId,
        cipherText: Buffer.from(cipherText).toString('base64'),
      });
      if (refused) return refused;
    } else {
      keyId = randomUUID();
      this.#used.add(keyId);
      const init = await this.#ask({ type: 'pqc-init', keyId });
      if (init.ok !== true || typeof init.publicKey !== 'string') return this.#refused(keyId, init);
      const { cipherText, sharedSecret } = o.pqc!.encapsulate(Buffer.from(init.publicKey, 'base64'));
      key = o.pqc!.derive(sharedSecret, keyId, (o.keyBits ?? 256) / 8);
      sharedSecret.fill(0);
      provenance = o.pqc!.provenance;
      const fin = await this.#ask({
        type: 'pqc-finish',
        keyId,
        cipherText: Buffer.from(cipherText).toString('base64'),
      });
      if (fin.ok !== true) {
        key.fill(0);
        return this.#refused(keyId, fin);
      }
      if (plan.source === 'pqc')
        this.#noQkdKey(
          plan.alert,
          `${what}; policy ${o.policy}: PPK ${keyId} from ML-KEM-768 (provenance ${provenance})`,
        );
      await this.#place(keyId, key);
    }
    const r = await initiate(o.vici, o.conn.name, o.initiateTimeoutMs ?? 5000, o.childName);
    if (!r.ok) {
      await this.#unload(keyId);
      const kind = r.reason === 'authentication-failed' ? 'authentication-failed' : 'ike-failed';
      this.#raise({
        kind: 'ipsec-auth-failed',
        severity: 'critical',
        action: 'notify',
        statistic: 'ike-auth-ok',
        value: 0,
        message: `IKE SA with PPK ${keyId} failed: ${r.reason} (${r.message})`,
      });
      o.log.error(
        { keyId, reason: r.reason, event: 'ike-failed' },
        `IKE SA with PPK ${keyId} failed: ${r.reason}`,
      );
      return fail(kind, { message: r.message });
    }
    const sa: ActiveSa = {
      keyId,
      provenance,
      ikeUniqueId: r.value.ikeUniqueId,
      elapsedMs: performance.now() - t0,
    };
    const previous = this.#current;
    this.#current = sa;
    o.log.info(
      { keyId, provenance, ikeSa: sa.ikeUniqueId, previousKeyId: previous?.keyId, event: 'sa-up' },
      `SA up with PPK ${keyId} (provenance ${provenance})`,
    );
    if (previous) await this.#retire(previous);
    return ok(sa);
  }

  /**
   * Sends `ask` to the peer agent (which fetches and loads its copy) while this side loads its own; on a
   * refusal both copies are gone again and the refusal is returned, else `undefined`.
   */
  async #both(
    keyId: string,
    key: Uint8Array,
    ask: Record<string, unknown>,
  ): Promise<EstablishResult | undefined> {
    const [answer, placed] = await Promise.allSettled([this.#ask(ask), this.#place(keyId, key)]);
    if (placed.status === 'rejected') {
      await this.#ask({ type: 'release', keyId }); // the peer's copy must not outlive the failed round
      throw placed.reason;
    }
    if (answer.status === 'rejected') throw answer.reason; // #ask never rejects; kept for the types
    if (answer.value.ok !== true) {
      await this.#o.vici.call('unload-shared', { id: ppkSecretId(keyId) }).catch(() => undefined);
      return this.#refused(keyId, answer.value);
    }
    return undefined;
  }

  /** Raises an alert of this agent; the evidence is `statistic` = `value` against a threshold of 1. */
  #raise(a: Omit<Parameters<typeof agentAlert>[0], 'nodeId' | 'threshold'>): void {
    this.#o.alert(agentAlert({ ...a, nodeId: this.#o.nodeId ?? 'ue', threshold: 1 }));
  }

  /** The policy's alert when the pool had no QKD key (evidence: keys available 0 < 1). */
  #noQkdKey(alert: PlanAlert, message: string): void {
    this.#raise({ ...alert, statistic: 'qkd-keys-available', value: 0, message });
  }

  /** The KME handed out a key_ID this agent used before: refused, never loaded twice. */
  #reused(keyId: string): EstablishResult {
    const message = `key_ID ${keyId} was used for an SA before: refused (a PPK is never reused)`;
    this.#raise({
      kind: 'ipsec-ppk-reused',
      severity: 'critical',
      action: 'notify',
      statistic: 'ppk-id-uses',
      value: 2,
      message,
    });
    this.#o.log.error({ keyId, event: 'ppk-reused' }, message);
    return fail('no-key', { message });
  }

  /** Loads the PPK (erasing this copy) and the connection naming it as `ppk_id`. */
  #place(keyId: string, key: Uint8Array): Promise<void> {
    return loadPpkAndConn(
      this.#o.vici,
      ppkMessage(keyId, key),
      key,
      this.#o.connFor?.(keyId) ??
        connMessage({ ...this.#o.conn, role: 'initiator', ppkId: keyId, ppkRequired: true }),
    );
  }

  async #ask(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    try {
      return await this.#o.channel.request(body);
    } catch (e) {
      return { ok: false, reason: 'unavailable', message: (e as Error).message };
    }
  }

  #refused(keyId: string, answer: Record<string, unknown>): EstablishResult {
    const message = `peer agent did not load PPK ${keyId}: ${String(answer.reason)} (${String(answer.message ?? '')})`;
    this.#raise({
      kind: 'ipsec-peer-refused',
      severity: 'critical',
      action: 'notify',
      statistic: 'peer-ppk-loaded',
      value: 0,
      message,
    });
    this.#o.log.error({ keyId, reason: answer.reason, event: 'peer-refused' }, message);
    return fail('peer-refused', { message });
  }

  async #retire(sa: ActiveSa): Promise<void> {
    await terminateIke(this.#o.vici, sa.ikeUniqueId).catch(() => undefined);
    await this.#unload(sa.keyId);
    this.#o.log.info(
      { keyId: sa.keyId, ikeSa: sa.ikeUniqueId, event: 'sa-retired' },
      `SA ${sa.ikeUniqueId} deleted, PPK ${sa.keyId} unloaded`,
    );
  }

  async #unload(keyId: string): Promise<void> {
    await this.#o.vici.call('unload-shared', { id: ppkSecretId(keyId) }).catch(() => undefined);
    await this.#ask({ type: 'release', keyId });
  }
}

/**
 * A `connFor` from a `load-conn` template of one's own (one connection, as swanctl.conf's `connections`
 * section would send it): sets `ppk_id` to the key_ID and `ppk_required = yes`, leaves the rest alone.
 */
export function withPpk(template: ViciMessageIn): (ppkId: string) => ViciMessageIn {
  const names = Object.keys(template);
  const conn = template[names[0] ?? ''];
  if (
    names.length !== 1 ||
    typeof conn !== 'object' ||
    conn === null ||
    Array.isArray(conn) ||
    conn instanceof Uint8Array
  )
    throw new RangeError(`a connection template holds exactly one connection section, got ${names.length}`);
  return (ppkId) => ({ [names[0]!]: { ...(conn as ViciMessageIn), ppk_id: ppkId, ppk_required: 'yes' } });
}

/**
 * Loads a key (`load-shared`, `shared` built from `key`) and, when given, the connection naming it
 * (`load-conn`) in one VICI round trip: both requests are written at once — charon handles one
 * connection's requests in strict order (strongSwan vici_socket.c, `process_queue`), so the answers come
 * back in order and the connection never precedes its key — instead of the second waiting for the
 * first's answer. `key` is erased once the `load-shared` is answered (or failed); rejects with the first
 * failure after both settled.
 */
export async function loadPpkAndConn(
  vici: ViciClient,
  shared: ViciMessageIn,
  key: Uint8Array,
  conn?: ViciMessageIn,
): Promise<void> {
  const loads = [
    vici.call('load-shared', shared).finally(() => key.fill(0)),
    ...(conn ? [vici.call('load-conn', conn)] : []),
  ];
  for (const r of await Promise.allSettled(loads)) if (r.status === 'rejected') throw r.reason;
}
