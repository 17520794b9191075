/**
 * The I/O side of ETSI GS QKD 004 V2.1.1 in a KME: drives the sans-IO machine (./etsi-gs-qkd-004.ts) with
 * the KME core, the clock and the KME-to-KME channel. A chunk is an ETSI 014 key of Key_chunk_size bytes
 * that the stream's leader KME takes from its link pool for its SAE (master) and reserves for the other
 * end's SAE (slave) — the durable outbox of ./peer.ts carries the reservation, so the follower's KME
 * holds the same bytes and hands them over once, exactly as 014 "Get key with key IDs" would (keys are
 * delivered once and erased at both ends). The follower learns which key forms index i by asking the
 * leader (`form`); opens and closes are announced to the other KME (`open`, `close`); unused copies are
 * erased at TTL expiry or when both ends closed (`erase`). All of it travels over mutual TLS on
 * `POST /api/v1/kme/{self}/etsi004`, admitted only for the configured peer KME.
 */
import { randomUUID } from 'node:crypto';
import { isQkdnetError, QkdnetError } from '../common/index.ts';
import type { KmeCore } from './core.ts';
import { DevicePush } from './etsi-gs-qkd-004-push.ts';
import {
  chunkMetadata,
  DEFAULT_CAPABILITIES,
  Etsi004Machine,
  STATUS,
  type EraseNotice,
  type Etsi004Status,
  type KmCapabilities,
  type Qos,
  type SaeHome,
  type Stream,
} from './etsi-gs-qkd-004.ts';
import {
  fullQosFromWire,
  qosFromWire,
  qosToWire,
  type GetKeyWire,
  type OpenConnectWire,
  type PeerAnswerWire,
  type PeerMessageWire,
  type QosWire,
} from './etsi-gs-qkd-004-schema.ts';

/** Sends one KME-to-KME 004 message to `peerId` (./peer.ts `PeerLink.etsi004`). */
export type Etsi004PeerSend = (peerId: string, body: PeerMessageWire) => Promise<Record<string, unknown>>;

/** Options of the service. */
export interface Etsi004ServiceOptions {
  readonly core: KmeCore;
  readonly send?: Etsi004PeerSend | undefined;
  /** Wall clock in ms (tests move it to expire TTLs). */
  readonly now?: () => number;
  readonly capabilities?: Partial<KmCapabilities>;
  readonly log?: { warn(o: object, m: string): void };
  /** QKD devices allowed to push key material (ETSI 004 push profile): device id → the link's far KME. */
  readonly devices?: ReadonlyMap<string, string>;
}

/** An OPEN_CONNECT answer. */
export interface OpenAnswer {
  status: number;
  key_stream_id?: string;
  qos?: QosWire;
}

/** A GET_KEY answer (key_buffer base64). */
export interface GetKeyAnswer {
  status: number;
  index?: number;
  key_buffer?: string;
  metadata?: { size: number; buffer?: { age: number; hops: number } };
}

/** How often waiting calls look at the pool again when it was empty (ms). */
const POOL_POLL_MS = 20;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** A pool that cannot serve now (the call waits for supply until its Timeout). */
const starved = (e: unknown) =>
  isQkdnetError(e, 'KMS_KEY_EXHAUSTED') || isQkdnetError(e, 'KMS_QUOTA_EXCEEDED');

/** ETSI GS QKD 004 for one KME. */
export class Etsi004Service {
  readonly machine: Etsi004Machine;
  readonly #core: KmeCore;
  readonly #send: Etsi004PeerSend | undefined;
  readonly #now: () => number;
  readonly #log: Etsi004ServiceOptions['log'];
  /** Chunks being formed at this leader, by `ksid:index` (a follower and the leader may ask at once). */
  readonly #forming = new Map<string, Promise<{ keyId: string; formedAtMs: number } | Etsi004Status>>();
  readonly #sweeper: NodeJS.Timeout;
  /** Southbound key input of AIT's push profile (./etsi-gs-qkd-004-push.ts). */
  readonly push: DevicePush;

  constructor(o: Etsi004ServiceOptions) {
    this.#core = o.core;
    this.#send = o.send;
    this.#now = o.now ?? Date.now;
    this.#log = o.log;
    const l = o.core.limits;
    const caps: KmCapabilities = {
      ...DEFAULT_CAPABILITIES,
      minChunkBytes: Math.ceil(l.minSizeBits / 8),
      maxChunkBytes: Math.min(DEFAULT_CAPABILITIES.maxChunkBytes, Math.floor(l.maxSizeBits / 8)),
      ...o.capabilities,
    };
    this.machine = new Etsi004Machine(o.core.id, caps, randomUUID);
    this.push = new DevicePush(o.core, o.devices ?? new Map());
    this.#sweeper = setInterval(() => void this.sweep(), 1000);
    this.#sweeper.unref();
  }

  #home(sae: string): SaeHome | undefined {
    if (this.#core.isLocal(sae)) return { kind: 'local' };
    const kme = this.#core.homeOf(sae);
    return kme === undefined ? undefined : { kind: 'remote', kme };
  }

  /** OPEN_CONNECT (clause 6.1) by local SAE `caller`. */
  async openConnect(caller: string, w: OpenConnectWire): Promise<OpenAnswer> {
    const req = {
      caller,
      source: w.source,
      destination: w.destination,
      ksid: w.key_stream_id ?? undefined,
      qos: qosFromWire(w.qos),
    };
    const other = req.source === caller ? req.destination : req.source;
    const out = this.machine.open(req, this.#home(other.replace(/^urn:qkdnet:sae:/, '')), this.#now());
    if (!out.ok)
      return {
        status: out.status,
        ...(out.ksid ? { key_stream_id: out.ksid } : {}),
        ...(out.qos ? { qos: qosToWire(out.qos) } : {}),
      };
    const s = out.stream;
    const answer = (status: number): OpenAnswer => ({
      status,
      key_stream_id: s.ksid,
      qos: qosToWire(s.qos),
    });
    const remoteKme = this.#remoteKme(s);
    if (remoteKme === undefined)
      return answer(this.machine.peerConnected(s, caller) ? STATUS.SUCCESS : STATUS.PEER_NOT_CONNECTED);
    const localSae = caller;
    const remoteSae = s.leaderSae === localSae ? s.followerSae : s.leaderSae;
    let reply: Record<string, unknown>;
    try {
      reply = await this.#call(remoteKme, s.qos.timeoutMs, {
        op: 'open',
        key_stream_id: s.ksid,
        sae: localSae,
        peer_sae: remoteSae,
        qos: qosToWire(s.qos),
      });
    } catch (e) {
      this.machine.abortOpen(s, caller, out.created);
      return { status: timedOut(e) ? STATUS.TIMEOUT_ERROR : STATUS.NO_QKD_CONNECTION };
    }
    if (reply.status !== STATUS.SUCCESS) {
      this.machine.abortOpen(s, caller, out.created);
      return { status: STATUS.KSID_IN_USE, key_stream_id: s.ksid };
    }
    // A KSID the other side registered first keeps its stored QoS (clause 6.1 note).
    if (out.created && reply.qos) s.qos = fullQosFromWire(reply.qos as QosWire);
    return answer(reply.connected === true ? STATUS.SUCCESS : STATUS.PEER_NOT_CONNECTED);
  }

  #remoteKme(s: Stream): string | undefined {
    if (s.leaderKme === s.followerKme) return undefined;
    return s.leaderKme === this.#core.id ? s.followerKme : s.leaderKme;
  }

  /** Sends a peer message, giving up after `timeoutMs` (rejects with a `timeout` error). */
  async #call(peer: string, timeoutMs: number, body: PeerMessageWire): Promise<Record<string, unknown>> {
    if (!this.#send) throw new QkdnetError('KMS_PEER_UNAVAILABLE', 'no KME-to-KME link');
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { timeout: true })), timeoutMs);
    });
    try {
      return await Promise.race([this.#send(peer, body), limit]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** GET_KEY (clause 6.1) by local SAE `caller`. */
  async getKey(caller: string, w: GetKeyWire): Promise<GetKeyAnswer> {
    const start = this.#now();
    const d = this.machine.beginGet(caller, w.key_stream_id, w.index ?? undefined, start);
    if (!d.ok) return { status: d.status };
    const { stream: s, index } = d;
    const deadline = start + s.qos.timeoutMs;
    let delivered = false;
    try {
      if (d.waitMs > 0) await sleep(d.waitMs);
      const leader = s.leaderKme === this.#core.id && s.leaderSae === caller;
      const hops = 0; // a stream's ends share one link (relayed streams are not offered)
      const want = w.metadata?.size ?? 0;
      if (leader) {
        const f = await this.#formAt(s, index, deadline);
        if (typeof f === 'number') return { status: f };
        const meta = chunkMetadata(f.formedAtMs, this.#now(), hops);
        if (want > 0 && want < meta.length)
          return { status: STATUS.METADATA_TOO_SMALL, metadata: { size: meta.length } };
        const bytes = this.machine.takeLeaderBytes(s, index);
        if (!bytes) return { status: STATUS.INSUFFICIENT_KEY };
        delivered = true;
        return this.#answer(index, bytes, want > 0 ? meta : undefined);
      }
      const k = await this.#learnAt(s, index, deadline);
      if (typeof k === 'number') return { status: k };
      const meta = chunkMetadata(k.formedAtMs, this.#now(), hops);
      if (want > 0 && want < meta.length)
        return { status: STATUS.METADATA_TOO_SMALL, metadata: { size: meta.length } };
      const keys = await this.#core.decKeys(s.followerSae, s.leaderSae, [k.keyId]);
      this.machine.fetched(s, index);
      const key = keys[0]!.key;
      const bytes = Uint8Array.from(key);
      key.fill(0);
      delivered = true;
      return this.#answer(index, bytes, want > 0 ? meta : undefined);
    } catch (e) {
      if (isQkdnetError(e, 'KMS_KEY_NOT_FOUND') || starved(e)) return { status: STATUS.INSUFFICIENT_KEY };
      if (timedOut(e)) return { status: STATUS.TIMEOUT_ERROR };
      if (isQkdnetError(e, 'KMS_PEER_UNAVAILABLE')) return { status: STATUS.NO_QKD_CONNECTION };
      throw e;
    } finally {
      this.machine.finishGet(s, caller, index, delivered, this.#now());
    }
  }

  #answer(index: number, bytes: Uint8Array, meta: string | undefined): GetKeyAnswer {
    const key_buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    bytes.fill(0); // the base64 copy is all that leaves
    return {
      status: STATUS.SUCCESS,
      index,
      key_buffer,
      ...(meta
        ? { metadata: { size: meta.length, buffer: JSON.parse(meta) as { age: number; hops: number } } }
        : {}),
    };
  }

  /**
   * Leader: the chunk at `index`, formed now if needed — a 014 key of the chunk's size for the leader's
   * SAE reserved for the follower's SAE. An empty pool is waited on until `deadline` (then status 2).
   */
  #formAt(
    s: Stream,
    index: number,
    deadline: number,
  ): Promise<{ keyId: string; formedAtMs: number } | Etsi004Status> {
    const now = this.#now();
    const have = this.machine.chunk(s, index, now);
    if (have) return Promise.resolve(have);
    if (s.chunks.has(index)) return Promise.resolve(STATUS.INSUFFICIENT_KEY); // expired (TTL)
    const tag = `${s.ksid}:${index}`;
    let p = this.#forming.get(tag);
    if (!p) {
      p = (async () => {
        for (;;) {
          try {
            const [k] = await this.#core.encKeys(s.leaderSae, s.followerSae, {
              number: 1,
              sizeBits: s.qos.keyChunkSize * 8,
            });
            const bytes = Uint8Array.from(k!.key);
            k!.key.fill(0);
            return this.machine.formed(s, index, k!.keyId, bytes, this.#now());
          } catch (e) {
            if (!starved(e)) throw e;
            const left = deadline - this.#now();
            if (left <= 0) return STATUS.INSUFFICIENT_KEY;
            await sleep(Math.min(POOL_POLL_MS, left));
          }
        }
      })().finally(() => this.#forming.delete(tag));
      this.#forming.set(tag, p);
    }
    return p;
  }

  /** Follower: which key forms chunk `index` (asked of the leader once; remembered until fetched). */
  async #learnAt(
    s: Stream,
    index: number,
    deadline: number,
  ): Promise<{ keyId: string; formedAtMs: number } | Etsi004Status> {
    const known = s.learned.get(index);
    if (known) {
      if (this.#now() >= known.formedAtMs + s.qos.ttlS * 1000) return STATUS.INSUFFICIENT_KEY;
      return known;
    }
    if (s.leaderKme === this.#core.id) {
      const f = await this.#formAt(s, index, deadline);
      if (typeof f === 'number') return f;
      this.machine.followerAsked(s, index);
      this.machine.learn(s, index, f.keyId, f.formedAtMs);
      return f;
    }
    // The leader waits for key a little less than the rest of the Timeout, so its answer (2) comes back
    // in time; no answer by the deadline is the KMs failing to exchange in time (6, clause 6.2 case 2).
    const left = Math.max(0, deadline - this.#now());
    const body: PeerMessageWire = {
      op: 'form',
      key_stream_id: s.ksid,
      index,
      wait_ms: Math.floor(left - Math.min(100, left / 5)),
    };
    const ask = this.#send!(s.leaderKme, body).then((r) => {
      if (r.status !== STATUS.SUCCESS || typeof r.key_id !== 'string') return r.status as Etsi004Status;
      // Remembered even when this call already gave up: the copy is fetched later or erased at TTL.
      const formedAtMs = this.#now() - (typeof r.age_ms === 'number' ? r.age_ms : 0);
      this.machine.learn(s, index, r.key_id, formedAtMs);
      return { keyId: r.key_id, formedAtMs };
    });
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<Etsi004Status>((r) => {
      timer = setTimeout(() => r(STATUS.TIMEOUT_ERROR), Math.max(0, deadline - this.#now()));
    });
    try {
      return await Promise.race([ask, limit]);
    } catch (e) {
      if (isQkdnetError(e, 'KMS_PEER_UNAVAILABLE')) return STATUS.TIMEOUT_ERROR; // clause 6.2 case 2
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** CLOSE (clause 6.1) by local SAE `caller`. */
  async close(caller: string, ksid: string): Promise<{ status: number }> {
    const r = this.machine.close(caller, ksid);
    if (r.status !== STATUS.SUCCESS || !r.stream) return { status: r.status };
    const remote = this.#remoteKme(r.stream);
    if (r.erase) await this.#erase(r.erase);
    if (remote !== undefined)
      await this.#call(remote, r.stream.qos.timeoutMs, { op: 'close', key_stream_id: r.stream.ksid }).catch(
        (e: Error) => this.#log?.warn({ peer: remote, err: e.message }, 'etsi004: close not announced'),
      );
    return { status: STATUS.SUCCESS };
  }

  /** A KME-to-KME message from peer KME `fromKme`. */
  async fromPeer(fromKme: string, m: PeerMessageWire): Promise<PeerAnswerWire> {
    const now = this.#now();
    if (m.op === 'open') {
      if (!this.#core.isLocal(m.peer_sae) || this.#core.homeOf(m.sae) !== fromKme)
        return { status: STATUS.NO_QKD_CONNECTION };
      const qos: Qos = fullQosFromWire(m.qos);
      const r = this.machine.remoteOpen(
        fromKme,
        { ksid: m.key_stream_id, remoteSae: m.sae, localSae: m.peer_sae, qos },
        now,
      );
      return { status: r.status, connected: r.connected, qos: qosToWire(r.qos) };
    }
    const s = this.machine.stream(m.key_stream_id);
    if (m.op === 'close') {
      const erase = this.machine.remoteClose(fromKme, m.key_stream_id);
      if (erase) await this.#erase(erase);
      return { status: STATUS.SUCCESS };
    }
    if (m.op === 'erase') {
      if (this.#core.homeOf(m.leader_sae) !== fromKme || !this.#core.isLocal(m.follower_sae))
        return { status: STATUS.NO_QKD_CONNECTION };
      const erased = await this.#eraseLocal(m.follower_sae, m.leader_sae, m.key_ids);
      return { status: STATUS.SUCCESS, erased };
    }
    // form: only the follower's KME of a stream this KME leads, once that end has opened.
    if (!s || s.leaderKme !== this.#core.id || s.followerKme !== fromKme || !s.remoteConnected)
      return { status: STATUS.NO_QKD_CONNECTION };
    const f = await this.#formAt(s, m.index, now + Math.min(m.wait_ms ?? s.qos.timeoutMs, s.qos.timeoutMs));
    if (typeof f === 'number') return { status: f };
    this.machine.followerAsked(s, m.index);
    return {
      status: STATUS.SUCCESS,
      key_id: f.keyId,
      age_ms: Math.max(0, Math.round(this.#now() - f.formedAtMs)),
    };
  }

  /** Erases follower copies: at this KME, or by telling the follower's KME. */
  async #erase(n: EraseNotice): Promise<void> {
    if (n.kme === this.#core.id) {
      await this.#eraseLocal(n.followerSae, n.leaderSae, n.keyIds);
      return;
    }
    const body: PeerMessageWire = {
      op: 'erase',
      key_stream_id: n.ksid,
      leader_sae: n.leaderSae,
      follower_sae: n.followerSae,
      key_ids: n.keyIds,
    };
    await this.#call(n.kme, 10_000, body).catch((e: Error) =>
      this.#log?.warn({ peer: n.kme, keys: n.keyIds.length, err: e.message }, 'etsi004: erase not delivered'),
    );
  }

  /** Takes each key reserved for `follower` and zeroes it (one by one: some may be gone already). */
  async #eraseLocal(follower: string, leader: string, keyIds: readonly string[]): Promise<number> {
    let n = 0;
    for (const id of keyIds) {
      try {
        const keys = await this.#core.decKeys(follower, leader, [id]);
        for (const k of keys) k.key.fill(0);
        n += keys.length;
      } catch (e) {
        if (!isQkdnetError(e, 'KMS_KEY_NOT_FOUND') && !isQkdnetError(e, 'KMS_UNAUTHORIZED')) throw e;
      }
    }
    return n;
  }

  /** TTL expiry (Table 2): erases unused chunks at both ends; returns how many copies were erased here. */
  async sweep(): Promise<number> {
    const { erased, notices } = this.machine.sweep(this.#now());
    let here = erased;
    for (const n of notices) {
      if (n.kme === this.#core.id) here += await this.#eraseLocal(n.followerSae, n.leaderSae, n.keyIds);
      else await this.#erase(n);
    }
    return here;
  }

  /** Stops the TTL sweeper. */
  stop(): void {
    clearInterval(this.#sweeper);
  }
}

function timedOut(e: unknown): boolean {
  return (e as { timeout?: unknown } | null)?.timeout === true;
}
