/**
 * ETSI GS QKD 020 V1.1.1, "Interoperable Key Management System API": the KME-to-KME key exchange
 * between KMEs of different QKD networks, policy domains or vendors that sit together in an interworking
 * node. This file is the protocol without I/O (./etsi-gs-qkd-020-endpoint.ts drives it over HTTPS):
 *
 * - `ext_keys` (operation post-ext_keys): a peer KME passes keys (`key_id`, base64 `value`) for an
 *   initiator SAE and target SAEs. `Etsi020Book.accept` runs every check that allows a 400 ("known to be
 *   invalid without further investigation") or a 503 before anything is retained — clause "Operation of
 *   the API": a KME "shall not retain an association for any key in a request … for which it returned
 *   either a 400 … or a 401". Only then are the keys held, each exactly once.
 * - `ext_keys/ack` (post_ext_keys_ack): outcomes of keys this KME passed on (`relayed`, `failed`,
 *   `voided`, `failed to void`, `key not present`), matched to what it is waiting for (`expect`).
 * - `ext_keys/void` (post_ext_keys_void): erases held keys at once; keys already delivered are
 *   `failed to void`; unknown ones `key not present`; an empty `key_ids` voids every key between the SAEs
 *   only with `all_confirmation: true`, otherwise 400 with a `no_all_confirmation` detail (schema
 *   `all_confirmation`).
 * - Errors are RFC 9457 problem details (schema `problem_details`) with the `type` URIs of the
 *   specification's examples under https://qkd.etsi.org/gs020-interop-kms/.
 * - Extensions (clause "Extensions"): every property name is `E<IANA PEN>_…`; PEN 13019 (ETSI) is
 *   reserved; an `extension_mandatory` this KME does not implement → 503 `unsupported_mandatory_extension`;
 *   `extension_optional` is kept unchanged with the keys for whoever passes them on.
 *
 * Key material: held bytes are copies; `take` hands each key out once and forgets it (the caller erases
 * its array after use), `void` and `fail` zero the bytes. Key IDs seen once are remembered (bounded):
 * the same key ID again from the same peer with the same bytes and SAEs is a retry, answered with the
 * key's known outcome and never held twice; with anything else it is refused — never two keys under one
 * ID. A repeated acknowledgement is accepted as a no-op.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type {
  AckContainerWire,
  AckStatus,
  ExtKeyContainerWire,
  VoidContainerWire,
} from './etsi-gs-qkd-020-schema.ts';

/** Base of the problem `type` URIs the specification uses in its examples. */
export const PROBLEM_BASE = 'https://qkd.etsi.org/gs020-interop-kms/';
/** ETSI's IANA Private Enterprise Number: reserved, "shall not be used" (clause "Extensions"). */
export const ETSI_PEN = 13019;
/** API versions this KME serves (`GET /kmapi/versions`). */
export const API_VERSIONS = ['v1'] as const;
/** Capabilities: the optional synchronous mode is implemented beside the mandatory asynchronous one. */
export const CAPABILITIES = ['synchronous_mode'] as const;

/** The problem `type` names of the specification's examples (plus `invalid-parameter` of the schema). */
export type ProblemKind =
  | 'missing-parameters'
  | 'invalid-parameter'
  | 'key-routing-error'
  | 'void-request-not-understood'
  | 'no-key-ids-or-confirmation'
  | 'ack-not-understood'
  | 'key-not-present'
  | 'unauthorized'
  | 'timeout'
  | 'server-side-general-error'
  | 'insufficient-key-material'
  | 'unsupported-mandatory-extension';

/** An RFC 9457 problem details object as 020 shapes it. */
export interface Problem {
  readonly type: string;
  readonly status: number;
  readonly title: string;
  readonly details: Readonly<Record<string, string>>;
}

/** A refusal carrying its problem details (thrown by the book, answered by the routes). */
export class Etsi020Problem extends Error {
  readonly problem: Problem;
  constructor(kind: ProblemKind, status: number, details: Record<string, string>) {
    const title = kind === 'invalid-parameter' ? 'invalid parameter format' : kind.replace(/-/g, ' ');
    super(`${status} ${title}: ${Object.values(details).join('; ')}`);
    this.problem = { type: `${PROBLEM_BASE}${kind}`, status, title, details };
  }
}

/** Shorthand for a problem with one detail. */
export function problem(kind: ProblemKind, status: number, detail: string, text: string): Etsi020Problem {
  return new Etsi020Problem(kind, status, { [detail]: text });
}

/** A vendor extension name: `E`, an IANA PEN (no leading zero), `_`, then at least one character. */
const EXTENSION_NAME = /^E([1-9][0-9]{0,9})_./;

/** The PEN of extension name `name`, or undefined when the name breaks the clause "Extensions" rule. */
export function extensionPen(name: string): number | undefined {
  const m = EXTENSION_NAME.exec(name);
  const pen = m ? Number(m[1]) : undefined;
  return pen === undefined || pen === ETSI_PEN ? undefined : pen;
}

/** The name of extension `suffix` under enterprise `pen` (`E<pen>_<suffix>`). */
export function extensionName(pen: number, suffix: string): string {
  const name = `E${pen}_${suffix}`;
  if (!Number.isInteger(pen) || pen < 1 || extensionPen(name) === undefined)
    throw new RangeError(`extensionName: ${pen} is not a usable IANA Private Enterprise Number`);
  return name;
}

function checkNames(obj: Readonly<Record<string, unknown>> | undefined, where: string): void {
  for (const k of Object.keys(obj ?? {}))
    if (extensionPen(k) === undefined)
      throw problem(
        'invalid-parameter',
        400,
        'invalid_extension_name',
        `${where} property "${k.slice(0, 64)}" does not start with E<IANA PEN>_ (PEN ${ETSI_PEN} is reserved)`,
      );
}

/**
 * Key bytes of a base64 `value` (schema `value`, RFC 4648 §4 alphabet with padding), or undefined unless
 * the text is the canonical encoding of its bytes (no stray characters, padding only at the end, zero
 * pad bits — so padding never becomes key material). Whole bytes only (non-integer sizes are optional).
 */
export function decodeValue(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === 0 || bytes.toString('base64') !== text) {
    bytes.fill(0);
    return undefined;
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** One key passed over `ext_keys`. */
export interface ExtKey {
  readonly keyId: string;
  /** Key bytes (the holder's copy; erase after use). */
  readonly value: Uint8Array;
  readonly extension?: Readonly<Record<string, unknown>>;
}

/** What one accepted `ext_keys` call asks for. */
export interface ExtKeyBatch {
  /** The peer KME that passed the keys (from its certificate). */
  readonly from: string;
  readonly initiator: string;
  readonly targets: readonly string[];
  readonly keys: readonly ExtKey[];
  /** Absent: synchronous mode. */
  readonly callbackUrl?: string;
  readonly extensionMandatory?: Readonly<Record<string, unknown>>;
  /** Passed on unchanged by whoever relays the keys further. */
  readonly extensionOptional?: Readonly<Record<string, unknown>>;
  /** Keys of an identical earlier request (a retry) whose outcome is known: acknowledged again. */
  readonly repeated?: readonly KeyOutcome[];
}

/** The outcome of one key, as an `ack_container` reports it. */
export interface KeyOutcome {
  readonly keyId: string;
  readonly status: AckStatus;
  readonly message?: string;
}

/** Options of the book. */
export interface Etsi020BookOptions {
  /** `extension_mandatory` names this KME implements. */
  readonly mandatory?: (name: string) => boolean;
  /** Most target SAEs a request may name (more → 503 `no_route_multiple_targets`). Default 1. */
  readonly maxTargets?: number;
  /** How many finished key IDs are remembered to refuse duplicates (default 1 048 576). */
  readonly remember?: number;
  /** Most keys held at once (more → 503 `server-side-general-error`, nothing held). Default 65 536. */
  readonly maxHeld?: number;
}

type Gone = 'delivered' | 'voided' | 'failed';
/** What is remembered of a key ID once passed here: enough to recognise an identical retry. */
interface Trace {
  readonly from: string;
  /** Initiator and targets of the request. */
  readonly pair: string;
  /** HMAC-SHA-256 of the key bytes under a per-process random key (never the bytes). */
  readonly fp: Buffer;
  /** The outcome reported for it, once known. */
  outcome?: KeyOutcome;
}
interface Held extends Trace {
  readonly batch: Omit<ExtKeyBatch, 'keys'>;
  readonly key: ExtKey;
  /** Targets are SAEs of this KME and the key may be handed to them (`takeForSae`). */
  ready: boolean;
}
interface Finished extends Trace {
  readonly how: Gone;
}
const pairOf = (initiator: string, targets: readonly string[]) => [initiator, ...targets].join('\n');
interface Waiting {
  readonly peer: string;
  readonly initiator: string;
  readonly targets: readonly string[];
  readonly settle: (o: KeyOutcome) => void;
}

/** The state of one KME's 020 interface: keys received and held, keys sent and awaiting acks. */
export class Etsi020Book {
  readonly #held = new Map<string, Held>();
  readonly #gone = new Map<string, Finished>();
  readonly #waiting = new Map<string, Waiting>();
  /** Acknowledgements applied (peer and status by key ID), so a repeated acknowledgement is a no-op. */
  readonly #acked = new Map<string, { peer: string; status: AckStatus }>();
  readonly #fpKey = randomBytes(32);
  readonly #mandatory: (name: string) => boolean;
  readonly #maxTargets: number;
  readonly #remember: number;
  readonly #maxHeld: number;

  constructor(opts: Etsi020BookOptions = {}) {
    this.#mandatory = opts.mandatory ?? (() => false);
    this.#maxTargets = opts.maxTargets ?? 1;
    this.#remember = opts.remember ?? 1 << 20;
    this.#maxHeld = opts.maxHeld ?? 1 << 16;
  }

  /** Keys held (received, not yet delivered, voided or failed). */
  get held(): number {
    return this.#held.size;
  }

  /** Keys sent and still awaiting an acknowledgement. */
  get awaiting(): number {
    return this.#waiting.size;
  }

  /**
   * Checks an `ext_keys` request from peer KME `from` and holds its keys. `routable` says whether this
   * KME knows a route to the targets (else 400 `key-routing-error`). Throws an Etsi020Problem — having
   * retained nothing — for every refusal.
   */
  accept(
    from: string,
    w: ExtKeyContainerWire,
    routable: (b: Omit<ExtKeyBatch, 'keys'>) => boolean,
  ): ExtKeyBatch {
    checkNames(w.extension_mandatory, 'extension_mandatory');
    checkNames(w.extension_optional, 'extension_optional');
    for (const k of w.keys) checkNames(k.extension, 'key extension');
    if (w.ack_callback_url !== undefined && !isHttpsUrl(w.ack_callback_url))
      throw problem(
        'invalid-parameter',
        400,
        'ack_callback_url',
        'ack_callback_url is not a complete https:// URL',
      );
    const ids = new Set<string>();
    for (const k of w.keys) {
      const id = k.key_id.toLowerCase();
      if (ids.has(id))
        throw problem(
          'invalid-parameter',
          400,
          'duplicate_key_id',
          `key_id ${id} is repeated in the request`,
        );
      ids.add(id);
    }
    if (new Set(w.target_sae_ids).size !== w.target_sae_ids.length)
      throw problem('invalid-parameter', 400, 'duplicate_target_sae_id', 'target_sae_ids repeats an SAE ID');
    const unsupported = Object.keys(w.extension_mandatory ?? {}).filter((n) => !this.#mandatory(n));
    if (unsupported.length > 0)
      throw problem(
        'unsupported-mandatory-extension',
        503,
        'unsupported_mandatory_extension',
        `Mandatory extension(s) ${unsupported.map((n) => n.slice(0, 64)).join(', ')} cannot be supported for this request.`,
      );
    if (w.target_sae_ids.length > this.#maxTargets)
      throw problem(
        'key-routing-error',
        503,
        'no_route_multiple_targets',
        `Routes not available to support ${w.target_sae_ids.length} target SAEs (this KME supports ${this.#maxTargets}).`,
      );
    const meta: Omit<ExtKeyBatch, 'keys'> = {
      from,
      initiator: w.initiator_sae_id,
      targets: [...w.target_sae_ids],
      ...(w.ack_callback_url !== undefined ? { callbackUrl: w.ack_callback_url } : {}),
      ...(w.extension_mandatory ? { extensionMandatory: w.extension_mandatory } : {}),
      ...(w.extension_optional ? { extensionOptional: w.extension_optional } : {}),
    };
    if (!routable(meta))
      throw problem(
        'key-routing-error',
        400,
        'target_sae_id_not_recognized',
        'KME associated with a target SAE ID is not known.',
      );
    const decoded: ExtKey[] = [];
    for (const k of w.keys) {
      const value = decodeValue(k.value);
      if (!value) {
        for (const x of decoded) x.value.fill(0);
        throw problem(
          'invalid-parameter',
          400,
          'malformed_value',
          `value of key ${k.key_id} is not canonical base64`,
        );
      }
      decoded.push({
        keyId: k.key_id.toLowerCase(),
        value,
        ...(k.extension ? { extension: k.extension } : {}),
      });
    }
    // A key ID seen before is an identical retry (clause "Operation of the API": after a timeout the
    // sender "shall either retry … or void") — answered with its known outcome, never held twice — or a
    // conflict. A conflict is refused with 503, not 400: 400 is not allowed while this KME holds an
    // association for a key ID in the request (response 400-extkey).
    const pair = pairOf(meta.initiator, meta.targets);
    const fresh: { key: ExtKey; fp: Buffer }[] = [];
    const repeated: KeyOutcome[] = [];
    for (const key of decoded) {
      const fp = createHmac('sha256', this.#fpKey).update(key.value).digest();
      const seen = this.#held.get(key.keyId) ?? this.#gone.get(key.keyId);
      const same = seen && seen.from === from && seen.pair === pair && timingSafeEqual(seen.fp, fp);
      if (!seen && !this.#waiting.has(key.keyId)) fresh.push({ key, fp });
      else if (same) {
        key.value.fill(0);
        if (seen.outcome) repeated.push(seen.outcome);
      } else {
        for (const x of decoded) x.value.fill(0);
        throw problem(
          'server-side-general-error',
          503,
          'duplicate_key_id',
          `key_id ${key.keyId} is already associated with other material or SAEs at this KME`,
        );
      }
    }
    if (this.#held.size + fresh.length > this.#maxHeld) {
      for (const x of decoded) x.value.fill(0);
      throw problem(
        'server-side-general-error',
        503,
        'server_side_general_error',
        `This KME holds ${this.#held.size} keys not yet delivered and takes no more now.`,
      );
    }
    for (const { key, fp } of fresh)
      this.#held.set(key.keyId, { batch: meta, key, ready: false, from, pair, fp });
    return { ...meta, keys: fresh.map((f) => f.key), repeated };
  }

  /**
   * Hands held keys out once (to the component that relays them further): forgets them and returns the
   * bytes; the caller erases them after use. Throws RangeError for a key not held (a caller bug).
   */
  take(keyIds: readonly string[]): ExtKey[] {
    const out = keyIds.map((id) => this.#held.get(id));
    if (out.some((h) => !h)) throw new RangeError('Etsi020Book.take: a key is not held');
    for (const id of keyIds) this.#finish(id, 'delivered');
    return out.map((h) => h!.key);
  }

  /** Records the outcomes reported for keys (an identical retry is answered with them). */
  settle(outcomes: readonly KeyOutcome[]): void {
    for (const o of outcomes) {
      const t = this.#held.get(o.keyId) ?? this.#gone.get(o.keyId);
      if (t) t.outcome = o;
    }
  }

  /** Marks held keys as deliverable to their target SAEs at this KME (`takeForSae`). */
  ready(keyIds: readonly string[]): void {
    for (const id of keyIds) {
      const h = this.#held.get(id);
      if (h) h.ready = true;
    }
  }

  /**
   * Keys `keyIds` for target SAE `sae` of this KME, initiated by `initiator` (ETSI GS QKD 014 "Get key
   * with key IDs" at the far end of 020, Fig. 5 step 11); each handed out once. Undefined unless every ID
   * names a ready key for that pair (nothing is taken then).
   */
  takeForSae(sae: string, initiator: string, keyIds: readonly string[]): ExtKey[] | undefined {
    const hs = keyIds.map((id) => this.#held.get(id.toLowerCase()));
    if (!hs.every((h) => h && h.ready && h.batch.initiator === initiator && h.batch.targets.includes(sae)))
      return undefined;
    return this.take(hs.map((h) => h!.key.keyId));
  }

  /** Erases held keys whose relay failed (they are never delivered). */
  fail(keyIds: readonly string[]): void {
    for (const id of keyIds) {
      const h = this.#held.get(id);
      if (!h) continue;
      h.key.value.fill(0);
      this.#finish(id, 'failed');
    }
  }

  /**
   * An `ext_keys/void` from peer KME `from`: erases the keys it names (held keys it passed here, or keys
   * this KME passed to it and awaits acks for) and returns each key's outcome. Throws a 400 problem for
   * an empty `key_ids` without `all_confirmation: true`.
   */
  void(from: string, w: VoidContainerWire): KeyOutcome[] {
    checkNames(w.extension, 'extension');
    const same = (initiator: string, targets: readonly string[]) =>
      initiator === w.initiator_sae_id &&
      targets.length === w.target_sae_ids.length &&
      targets.every((t) => w.target_sae_ids.includes(t));
    let ids = w.key_ids.map((k) => k.toLowerCase());
    if (ids.length === 0) {
      if (w.all_confirmation !== true)
        throw new Etsi020Problem('no-key-ids-or-confirmation', 400, {
          no_all_confirmation:
            'When no key_ids are passed, all keys shared between the SAEs will be voided; set all_confirmation to true for that, or name the key_ids to void.',
        });
      ids = [...this.#held.entries()]
        .filter(([, h]) => h.batch.from === from && same(h.batch.initiator, h.batch.targets))
        .map(([id]) => id);
    }
    return [...new Set(ids)].map((keyId): KeyOutcome => {
      const h = this.#held.get(keyId);
      if (h && h.batch.from === from && same(h.batch.initiator, h.batch.targets)) {
        h.key.value.fill(0);
        this.#finish(keyId, 'voided');
        return { keyId, status: 'voided' };
      }
      const wt = this.#waiting.get(keyId);
      if (wt && wt.peer === from && same(wt.initiator, wt.targets)) {
        this.#waiting.delete(keyId);
        wt.settle({ keyId, status: 'voided', message: `voided by KME ${from}` });
        return { keyId, status: 'voided' };
      }
      const g = this.#gone.get(keyId)?.how;
      if (g === 'delivered') return { keyId, status: 'failed to void', message: 'already delivered' };
      if (g === 'voided' || g === 'failed') return { keyId, status: 'voided' };
      return { keyId, status: 'key not present' };
    });
  }

  /**
   * Registers keys this KME is about to pass to `peer`; `settle` is called once per key with its
   * acknowledged outcome (`ack`), or by `cancel`.
   */
  expect(
    peer: string,
    keyIds: readonly string[],
    initiator: string,
    targets: readonly string[],
    settle: (o: KeyOutcome) => void,
  ): void {
    for (const id of keyIds) {
      if (this.#waiting.has(id)) throw new RangeError(`Etsi020Book.expect: ${id} already awaits an ack`);
      this.#waiting.set(id, { peer, initiator, targets, settle });
    }
  }

  /** Stops waiting for `keyIds` (settled with `outcome` unless already settled). */
  cancel(keyIds: readonly string[], status: AckStatus, message: string): void {
    for (const id of keyIds) {
      const w = this.#waiting.get(id);
      if (!w) continue;
      this.#waiting.delete(id);
      w.settle({ keyId: id, status, message });
    }
  }

  /**
   * An `ext_keys/ack` from peer KME `from`. Every acknowledged key must be one this KME passed to `from`
   * (same initiator and targets) and still awaits; otherwise 400 `key-not-present` and nothing is applied.
   */
  ack(from: string, containers: readonly AckContainerWire[]): void {
    for (const c of containers) checkNames(c.extension, 'ack extension');
    const all = containers.flatMap((c) => c.key_id_container.map((k) => ({ c, id: k.key_id.toLowerCase() })));
    for (const { c, id } of all) {
      checkNames(c.key_id_container.find((k) => k.key_id.toLowerCase() === id)?.extension, 'key extension');
      const w = this.#waiting.get(id);
      const match =
        w &&
        w.peer === from &&
        w.initiator === c.initiator_sae_id &&
        w.targets.length === c.target_sae_ids.length &&
        w.targets.every((t) => c.target_sae_ids.includes(t));
      const done = this.#acked.get(id); // a repeated acknowledgement (its 200 was lost): a no-op
      if (!match && !(done && done.peer === from && done.status === c.ack_status))
        throw problem(
          'key-not-present',
          400,
          'key_not_present',
          `The acknowledged key ID ${id} is not known to this KME (or not awaited from KME ${from}).`,
        );
    }
    if (new Set(all.map((x) => x.id)).size !== all.length)
      throw problem('ack-not-understood', 400, 'ack_not_understood', 'A key ID is acknowledged twice.');
    for (const { c, id } of all) {
      const w = this.#waiting.get(id);
      if (!w) continue;
      this.#waiting.delete(id);
      this.#acked.set(id, { peer: from, status: c.ack_status });
      if (this.#acked.size > this.#remember) this.#acked.delete(this.#acked.keys().next().value!);
      w.settle({
        keyId: id,
        status: c.ack_status,
        ...(c.message !== undefined ? { message: c.message } : {}),
      });
    }
  }

  #finish(id: string, how: Gone): void {
    const h = this.#held.get(id);
    this.#held.delete(id);
    if (h)
      this.#gone.set(id, {
        how,
        from: h.from,
        pair: h.pair,
        fp: h.fp,
        ...(h.outcome ? { outcome: h.outcome } : {}),
      });
    if (this.#gone.size > this.#remember) this.#gone.delete(this.#gone.keys().next().value!);
  }
}

/** True when `s` is a complete `https://` URL (schema `ack_callback_url`). */
export function isHttpsUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' && u.hostname.length > 0 && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

/**
 * `ack_containers` for outcomes of keys of one initiator and target set: one container per status
 * (schema `ack_containers`: each container groups keys sharing `ack_status`, `initiator_sae_id` and
 * `target_sae_ids`), at most 1024 keys per container.
 */
export function ackContainers(
  outcomes: readonly KeyOutcome[],
  initiator: string,
  targets: readonly string[],
): AckContainerWire[] {
  const by = new Map<string, KeyOutcome[]>();
  for (const o of outcomes) by.set(o.status, [...(by.get(o.status) ?? []), o]);
  const out: AckContainerWire[] = [];
  for (const [status, list] of by)
    for (let i = 0; i < list.length; i += 1024) {
      const part = list.slice(i, i + 1024);
      const message = [...new Set(part.flatMap((o) => (o.message ? [o.message] : [])))]
        .join('; ')
        .slice(0, 4096);
      out.push({
        key_id_container: part.map((o) => ({ key_id: o.keyId })),
        ack_status: status as AckStatus,
        initiator_sae_id: initiator,
        target_sae_ids: [...targets],
        ...(message ? { message } : {}),
      });
    }
  return out;
}
