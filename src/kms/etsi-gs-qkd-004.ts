/**
 * ETSI GS QKD 004 V2.1.1 (2020-08) "Quantum Key Distribution (QKD); Application Interface" as a sans-IO
 * state machine of one key manager (KM). Clause 6.1 defines three calls: OPEN_CONNECT(source,
 * destination, QoS, Key_stream_ID) reserves a key stream (KSID) between two applications and fixes its
 * QoS; GET_KEY(Key_stream_ID, index, Metadata) returns one chunk of QoS.Key_chunk_size bytes, the same
 * chunk at the same index at both ends; CLOSE(Key_stream_ID) ends one side's association. Table 2 gives
 * the QoS fields (key_chunk_size bytes, max_bps / min_bps / jitter bit/s, priority, timeout ms, TTL s,
 * metadata mimetype) and the status codes (Table 2 "status", 0–8) that every call returns.
 *
 * This machine holds the streams a KME serves, their QoS, which ends are connected, each end's next
 * index and rate budget, and — at the stream's leader — the chunks formed so far. It does no I/O: the
 * adapter (./etsi-gs-qkd-004-service.ts) forms chunks from the link pool through the KME core (an ETSI
 * 014 key of the chunk's size for the leader's SAE, reserved for the other end's SAE), tells the other KME
 * about opens and closes over the KME-to-KME channel, and feeds the clock in. Who leads is fixed without
 * messages: the KME whose id sorts first (the rule ./supply.ts uses for chunk ownership), so two ends that
 * open a predefined KSID at once (clause 6.2 case 3) never both form chunk 0.
 *
 * Choices the spec leaves open, written down (docs/standards.md marks them): a GET_KEY on a KSID the
 * caller has not opened answers 4 (no QKD connection for that caller); a chunk at an index already
 * delivered to this end, expired, or more than INDEX_WINDOW ahead answers 2 (that key is not available);
 * a GET_KEY the agreed Max_bps would delay beyond QoS.Timeout answers 6 at once; Jitter and Priority are
 * stored and returned, not enforced (Table 2 calls Priority a hint).
 */

/** Table 2 "status" values (the spec adds that more may be defined later). */
export const STATUS = {
  SUCCESS: 0,
  PEER_NOT_CONNECTED: 1,
  INSUFFICIENT_KEY: 2,
  PEER_APP_NOT_CONNECTED: 3,
  NO_QKD_CONNECTION: 4,
  KSID_IN_USE: 5,
  TIMEOUT_ERROR: 6,
  QOS_NOT_MET: 7,
  METADATA_TOO_SMALL: 8,
} as const;
export type Etsi004Status = (typeof STATUS)[keyof typeof STATUS];

/** Largest uint32 (Table 2 types every QoS field, index and status as uint32). */
export const UINT32_MAX = 4294967295;
/** Indices a GET_KEY may run ahead of its end's next index (chunks are formed on demand). */
export const INDEX_WINDOW = 1024;
/** The one metadata type every KM must support and never reject (Table 2, Metadata_mimetype). */
export const JSON_MIMETYPE = 'application/json';

/** QoS of a stream (Table 2), units in the names. */
export interface Qos {
  readonly keyChunkSize: number;
  readonly maxBps: number;
  readonly minBps: number;
  readonly jitter: number;
  readonly priority: number;
  readonly timeoutMs: number;
  readonly ttlS: number;
  readonly metadataMimetype: string;
}

/** QoS as asked: a field left null or absent is the KM's to choose (clause 6.1 note). */
export type QosRequest = { readonly [K in keyof Qos]?: Qos[K] | null | undefined };

/** What this KM can give; requests beyond it are answered with status 7 and a counter-proposal. */
export interface KmCapabilities {
  readonly minChunkBytes: number;
  readonly maxChunkBytes: number;
  readonly defaultChunkBytes: number;
  /** The KM's best rate per stream end (bit/s): the default Max_bps and the ceiling of Min_bps. */
  readonly maxBps: number;
  readonly defaultTimeoutMs: number;
  readonly maxTimeoutMs: number;
  readonly defaultTtlS: number;
  readonly maxTtlS: number;
}

/** Defaults of the KM (QUBIP's emulator also times calls out after 5 s by default). */
export const DEFAULT_CAPABILITIES: KmCapabilities = {
  minChunkBytes: 1,
  maxChunkBytes: 8192,
  defaultChunkBytes: 32,
  maxBps: 100_000_000,
  defaultTimeoutMs: 5000,
  maxTimeoutMs: 60_000,
  defaultTtlS: 3600,
  maxTtlS: 86_400,
};

/**
 * The QoS this KM gives for `req` (clause 6.1: "on return, QoS holds the closest QoS the KM can give"):
 * null fields chosen, impossible ones clamped. `unmet` names the fields that had to change (→ status 7).
 */
export function negotiateQos(req: QosRequest, caps: KmCapabilities): { qos: Qos; unmet: string[] } {
  const unmet: string[] = [];
  const clamp = (name: string, v: number | null | undefined, dflt: number, lo: number, hi: number) => {
    if (v === null || v === undefined) return dflt;
    if (v < lo || v > hi) {
      unmet.push(name);
      return Math.min(hi, Math.max(lo, v));
    }
    return v;
  };
  const keyChunkSize = clamp(
    'key_chunk_size',
    req.keyChunkSize === 0 ? null : req.keyChunkSize,
    caps.defaultChunkBytes,
    caps.minChunkBytes,
    caps.maxChunkBytes,
  );
  const maxBps = clamp('max_bps', req.maxBps === 0 ? null : req.maxBps, caps.maxBps, 1, caps.maxBps);
  const minBps = clamp('min_bps', req.minBps, 0, 0, maxBps);
  const timeoutMs = clamp(
    'timeout',
    req.timeoutMs === 0 ? null : req.timeoutMs,
    caps.defaultTimeoutMs,
    1,
    caps.maxTimeoutMs,
  );
  const ttlS = clamp('TTL', req.ttlS === 0 ? null : req.ttlS, caps.defaultTtlS, 1, caps.maxTtlS);
  let metadataMimetype = req.metadataMimetype ?? JSON_MIMETYPE;
  if (metadataMimetype === '') metadataMimetype = JSON_MIMETYPE; // a first byte of 0: no metadata
  if (metadataMimetype.toLowerCase() !== JSON_MIMETYPE) {
    unmet.push('metadata_mimetype'); // the KM answers with its preferred type (Table 2)
    metadataMimetype = JSON_MIMETYPE;
  }
  const qos: Qos = {
    keyChunkSize,
    maxBps,
    minBps,
    jitter: req.jitter ?? 0,
    priority: req.priority ?? 0,
    timeoutMs,
    ttlS,
    metadataMimetype: JSON_MIMETYPE,
  };
  return { qos, unmet };
}

/** One end of a stream at this KME. */
interface End {
  readonly sae: string;
  connected: boolean;
  closed: boolean;
  /** Next index when GET_KEY names none. */
  cursor: number;
  readonly delivered: Set<number>;
  /** Indices in flight (one GET_KEY each). */
  readonly pending: Set<number>;
  /** Earliest time the next chunk may leave under Max_bps. */
  nextAtMs: number;
}

/** A chunk the leader formed: its key ID (the 014 key reserved for the other end), bytes until used. */
export interface FormedChunk {
  readonly keyId: string;
  readonly formedAtMs: number;
  /** The leader end's copy; null once delivered or erased. */
  bytes: Uint8Array | null;
  /** The other end asked for its key ID (it fetches the copy reserved for it at once). */
  followerAsked: boolean;
}

/** A stream known to this KME. */
export interface Stream {
  readonly ksid: string;
  /** The two SAEs, leader's first. */
  readonly leaderSae: string;
  readonly followerSae: string;
  /** KME of each SAE. */
  readonly leaderKme: string;
  readonly followerKme: string;
  qos: Qos;
  /** Ends served by this KME (one, or two when both SAEs are local). */
  readonly ends: Map<string, End>;
  /** Whether the end at the other KME has opened (remote ends only). */
  remoteConnected: boolean;
  remoteClosed: boolean;
  /** Leader only: formed chunks by index. */
  readonly chunks: Map<number, FormedChunk>;
  /** Follower only: key IDs of chunks the leader formed, learned and not yet fetched from the store. */
  readonly learned: Map<number, { readonly keyId: string; readonly formedAtMs: number }>;
  lastUseMs: number;
}

/** Where the other SAE of an OPEN_CONNECT lives, as the KME's configuration says. */
export type SaeHome = { readonly kind: 'local' } | { readonly kind: 'remote'; readonly kme: string };

/** An OPEN_CONNECT as the adapter passes it in (caller from its certificate). */
export interface OpenRequest {
  readonly caller: string;
  readonly source: string;
  readonly destination: string;
  readonly ksid?: string | undefined;
  readonly qos: QosRequest;
}

/** Outcome of `open`: refused with a status, or registered (the adapter then tells the other KME). */
export type OpenOutcome =
  | { readonly ok: false; readonly status: Etsi004Status; readonly qos?: Qos; readonly ksid?: string }
  | { readonly ok: true; readonly stream: Stream; readonly created: boolean; readonly unmet: string[] };

/** What a GET_KEY may do now: refused with a status, or deliver `index` after `waitMs`. */
export type GetDecision =
  | { readonly ok: false; readonly status: Etsi004Status }
  | { readonly ok: true; readonly stream: Stream; readonly index: number; readonly waitMs: number };

/** Key IDs the other end's KME must erase (unused copies reserved for its SAE). */
export interface EraseNotice {
  readonly kme: string;
  readonly ksid: string;
  readonly followerSae: string;
  readonly leaderSae: string;
  readonly keyIds: string[];
}

/** Parses an SAE reference: a bare SAE ID or the URI `urn:qkdnet:sae:<id>` (Table 2: URIs mandatory). */
export function saeOfUri(s: string): string {
  return s.startsWith('urn:qkdnet:sae:') ? s.slice('urn:qkdnet:sae:'.length) : s;
}

/** The 004 streams of one KME. */
export class Etsi004Machine {
  readonly #streams = new Map<string, Stream>();

  readonly selfKme: string;
  readonly caps: KmCapabilities;
  readonly newKsid: () => string;

  /** `newKsid` makes KSIDs (UUID v4, Table 2): node:crypto's randomUUID in a KME. */
  constructor(selfKme: string, caps: KmCapabilities, newKsid: () => string) {
    this.selfKme = selfKme;
    this.caps = caps;
    this.newKsid = newKsid;
  }

  /** The stream `ksid` (undefined when unknown here). */
  stream(ksid: string): Stream | undefined {
    return this.#streams.get(ksid.toLowerCase());
  }

  /** Number of streams held. */
  get size(): number {
    return this.#streams.size;
  }

  #register(
    ksid: string,
    a: string,
    b: string,
    home: SaeHome,
    local: readonly string[],
    qos: Qos,
    nowMs: number,
  ): Stream {
    const otherKme = home.kind === 'local' ? this.selfKme : home.kme;
    // Leader: the KME whose id sorts first; both local → the SAE whose id sorts first.
    const aFirst = home.kind === 'local' ? a < b : this.selfKme < otherKme;
    const s: Stream = {
      ksid,
      leaderSae: aFirst ? a : b,
      followerSae: aFirst ? b : a,
      leaderKme: aFirst ? this.selfKme : otherKme,
      followerKme: aFirst ? otherKme : this.selfKme,
      qos,
      ends: new Map(local.map((sae) => [sae, newEnd(sae)])),
      remoteConnected: false,
      remoteClosed: false,
      chunks: new Map(),
      learned: new Map(),
      lastUseMs: nowMs,
    };
    this.#streams.set(ksid, s);
    return s;
  }

  /**
   * OPEN_CONNECT by local SAE `r.caller` (clause 6.1, 6.2 cases 1, 3, 5). A null KSID creates one; a
   * known KSID joins its stream with the stored QoS; a KSID of other applications, or one this caller
   * already holds, is status 5; a caller named in neither source nor destination, or a peer without a
   * QKD connection, status 4; a QoS this KM cannot meet, status 7 with the counter-proposal.
   */
  open(r: OpenRequest, home: SaeHome | undefined, nowMs: number): OpenOutcome {
    const src = saeOfUri(r.source);
    const dst = saeOfUri(r.destination);
    const other = src === r.caller ? dst : dst === r.caller ? src : undefined;
    if (other === undefined || other === r.caller || home === undefined)
      return { ok: false, status: STATUS.NO_QKD_CONNECTION };
    const ksid = r.ksid?.toLowerCase();
    const known = ksid === undefined ? undefined : this.#streams.get(ksid);
    if (known) {
      const mine = [known.leaderSae, known.followerSae];
      const end = known.ends.get(r.caller);
      if (!mine.includes(other) || !end || end.connected || end.closed)
        return { ok: false, status: STATUS.KSID_IN_USE, ksid: known.ksid };
      end.connected = true;
      known.lastUseMs = nowMs;
      return { ok: true, stream: known, created: false, unmet: [] };
    }
    const { qos, unmet } = negotiateQos(r.qos, this.caps);
    if (unmet.length > 0) return { ok: false, status: STATUS.QOS_NOT_MET, qos };
    const id = ksid ?? this.newKsid().toLowerCase();
    const local = home.kind === 'local' ? [r.caller, other] : [r.caller];
    const s = this.#register(id, r.caller, other, home, local, qos, nowMs);
    s.ends.get(r.caller)!.connected = true;
    return { ok: true, stream: s, created: true, unmet };
  }

  /** Undoes an `open` the other KME refused (or could not be told of). */
  abortOpen(s: Stream, caller: string, created: boolean): void {
    if (created) this.#drop(s);
    else {
      const end = s.ends.get(caller);
      if (end) end.connected = false;
    }
  }

  /**
   * The other KME announces that its SAE `remoteSae` opened stream `ksid` toward local SAE `localSae`
   * (clause 6.2 case 5: the KSID and QoS are made known to the far key server). Returns status 5 when the
   * KSID names other applications here, else whether the local end is connected and the stored QoS.
   */
  remoteOpen(
    fromKme: string,
    a: { ksid: string; remoteSae: string; localSae: string; qos: Qos },
    nowMs: number,
  ): { status: Etsi004Status; connected: boolean; qos: Qos } {
    const ksid = a.ksid.toLowerCase();
    let s = this.#streams.get(ksid);
    if (!s)
      s = this.#register(
        ksid,
        a.localSae,
        a.remoteSae,
        { kind: 'remote', kme: fromKme },
        [a.localSae],
        a.qos,
        nowMs,
      );
    const pair = [s.leaderSae, s.followerSae];
    const remoteKme = s.leaderKme === this.selfKme ? s.followerKme : s.leaderKme;
    if (
      remoteKme !== fromKme ||
      !pair.includes(a.remoteSae) ||
      !s.ends.has(a.localSae) ||
      s.remoteConnected ||
      s.remoteClosed
    )
      return { status: STATUS.KSID_IN_USE, connected: false, qos: s.qos };
    s.remoteConnected = true;
    s.lastUseMs = nowMs;
    return { status: STATUS.SUCCESS, connected: s.ends.get(a.localSae)!.connected, qos: s.qos };
  }

  /** Whether the end opposite `caller` has opened (local end or the other KME's). */
  peerConnected(s: Stream, caller: string): boolean {
    for (const [sae, e] of s.ends) if (sae !== caller) return e.connected;
    return s.remoteConnected;
  }

  /**
   * GET_KEY by `caller` on `ksid` (clause 6.1): picks the index (the end's next one when none is given),
   * checks the peer is connected (else 3), that the chunk can still be had (else 2) and when Max_bps lets
   * it leave (`waitMs`; beyond QoS.Timeout → 6). The index stays reserved until `finishGet`.
   */
  beginGet(caller: string, ksid: string, index: number | undefined, nowMs: number): GetDecision {
    const s = this.#streams.get(ksid.toLowerCase());
    const end = s?.ends.get(caller);
    if (!s || !end || !end.connected || end.closed) return { ok: false, status: STATUS.NO_QKD_CONNECTION };
    s.lastUseMs = nowMs;
    if (!this.peerConnected(s, caller)) return { ok: false, status: STATUS.PEER_APP_NOT_CONNECTED };
    let i = index;
    if (i === undefined) {
      i = end.cursor;
      while (end.delivered.has(i) || end.pending.has(i)) i++;
    }
    if (
      i > UINT32_MAX ||
      i < end.cursor ||
      end.delivered.has(i) ||
      end.pending.has(i) ||
      i >= end.cursor + INDEX_WINDOW ||
      this.#expired(s, i, nowMs)
    )
      return { ok: false, status: STATUS.INSUFFICIENT_KEY };
    const waitMs = Math.max(0, end.nextAtMs - nowMs);
    if (waitMs > s.qos.timeoutMs) return { ok: false, status: STATUS.TIMEOUT_ERROR };
    end.pending.add(i);
    return { ok: true, stream: s, index: i, waitMs };
  }

  /** Ends a GET_KEY: a delivered index is spent (and the rate budget charged), otherwise released. */
  finishGet(s: Stream, caller: string, index: number, delivered: boolean, nowMs: number): void {
    const end = s.ends.get(caller);
    if (!end) return;
    end.pending.delete(index);
    if (!delivered) return;
    end.delivered.add(index);
    while (end.delivered.has(end.cursor)) end.delivered.delete(end.cursor++);
    // Max_bps: the next chunk of this end may leave one chunk-time later (Table 2, QoS.Max_bps).
    end.nextAtMs = Math.max(end.nextAtMs, nowMs) + (s.qos.keyChunkSize * 8 * 1000) / s.qos.maxBps;
  }

  #expired(s: Stream, index: number, nowMs: number): boolean {
    const c = s.chunks.get(index);
    return c !== undefined && nowMs >= c.formedAtMs + s.qos.ttlS * 1000;
  }

  /** Leader: the chunk formed at `index`, if any (and not expired). */
  chunk(s: Stream, index: number, nowMs: number): FormedChunk | undefined {
    return this.#expired(s, index, nowMs) ? undefined : s.chunks.get(index);
  }

  /** Leader: records chunk `index` formed as 014 key `keyId`; `bytes` is the leader end's copy. */
  formed(s: Stream, index: number, keyId: string, bytes: Uint8Array, nowMs: number): FormedChunk {
    const c: FormedChunk = { keyId, formedAtMs: nowMs, bytes, followerAsked: false };
    s.chunks.set(index, c);
    return c;
  }

  /** Leader: hands the leader end's copy of chunk `index` over (delivered once: the machine forgets it). */
  takeLeaderBytes(s: Stream, index: number): Uint8Array | null {
    const c = s.chunks.get(index);
    if (!c?.bytes) return null;
    const b = c.bytes;
    c.bytes = null;
    this.#forgetIfSpent(s, index);
    return b;
  }

  /** Leader: the follower asked for chunk `index`'s key ID (its KME fetches its copy at once). */
  followerAsked(s: Stream, index: number): void {
    const c = s.chunks.get(index);
    if (!c) return;
    c.followerAsked = true;
    this.#forgetIfSpent(s, index);
  }

  /** Follower: the leader formed chunk `index` as key `keyId` (reserved here for the follower's SAE). */
  learn(s: Stream, index: number, keyId: string, formedAtMs: number): void {
    if (this.#streams.get(s.ksid) === s) s.learned.set(index, { keyId, formedAtMs });
  }

  /** Follower: chunk `index` was fetched from the store (delivered or erased). */
  fetched(s: Stream, index: number): void {
    s.learned.delete(index);
  }

  #forgetIfSpent(s: Stream, index: number): void {
    const c = s.chunks.get(index);
    if (c && c.bytes === null && c.followerAsked) s.chunks.delete(index);
  }

  /**
   * CLOSE by `caller` (clause 6.1): no new keys for that end; when both ends have closed the stream goes
   * and its unused chunks are erased (returned as `erase`). Returns status 4 for a KSID the caller holds
   * no open end of.
   */
  close(caller: string, ksid: string): { status: Etsi004Status; stream?: Stream; erase?: EraseNotice } {
    const s = this.#streams.get(ksid.toLowerCase());
    const end = s?.ends.get(caller);
    if (!s || !end || end.closed || !end.connected) return { status: STATUS.NO_QKD_CONNECTION };
    end.closed = true;
    const erase = this.#dropIfDone(s);
    return { status: STATUS.SUCCESS, stream: s, ...(erase ? { erase } : {}) };
  }

  /** The other KME's end closed. */
  remoteClose(fromKme: string, ksid: string): EraseNotice | undefined {
    const s = this.#streams.get(ksid.toLowerCase());
    if (!s || (s.leaderKme !== fromKme && s.followerKme !== fromKme) || fromKme === this.selfKme)
      return undefined;
    s.remoteClosed = true;
    return this.#dropIfDone(s);
  }

  #dropIfDone(s: Stream): EraseNotice | undefined {
    const remote = s.leaderKme !== s.followerKme;
    const localDone = [...s.ends.values()].every((e) => e.closed || !e.connected);
    if (!localDone || (remote && s.remoteConnected && !s.remoteClosed)) return undefined;
    return this.#drop(s);
  }

  /** Forgets `s`, erasing the leader's unused copies; returns the follower copies to erase. */
  #drop(s: Stream): EraseNotice | undefined {
    this.#streams.delete(s.ksid);
    const keyIds: string[] = [];
    for (const c of s.chunks.values()) {
      c.bytes?.fill(0);
      c.bytes = null;
      if (!c.followerAsked) keyIds.push(c.keyId);
    }
    s.chunks.clear();
    for (const l of s.learned.values()) keyIds.push(l.keyId);
    s.learned.clear();
    if (keyIds.length === 0) return undefined;
    return {
      kme: s.followerKme,
      ksid: s.ksid,
      followerSae: s.followerSae,
      leaderSae: s.leaderSae,
      keyIds,
    };
  }

  /**
   * TTL (Table 2, QoS.TTL: keys reserved for a KSID are erased after it, which also cleans up after an
   * application that died): erases every chunk formed more than TTL ago and not used at both ends, and
   * forgets streams unused for TTL. Returns how many leader copies were erased and the follower copies
   * to erase.
   */
  sweep(nowMs: number): { erased: number; notices: EraseNotice[] } {
    let erased = 0;
    const notices: EraseNotice[] = [];
    for (const s of [...this.#streams.values()]) {
      const ttlMs = s.qos.ttlS * 1000;
      const keyIds: string[] = [];
      for (const c of s.chunks.values()) {
        if (nowMs < c.formedAtMs + ttlMs) continue;
        if (c.bytes) {
          c.bytes.fill(0);
          c.bytes = null;
          erased++;
        }
        if (!c.followerAsked) {
          keyIds.push(c.keyId);
          c.followerAsked = true; // erased there now: never handed out
        }
        // Stays as an expired marker (GET_KEY answers 2) until the stream goes.
      }
      for (const [i, l] of s.learned)
        if (nowMs >= l.formedAtMs + ttlMs) {
          keyIds.push(l.keyId);
          s.learned.delete(i);
        }
      if (keyIds.length > 0)
        notices.push({
          kme: s.followerKme,
          ksid: s.ksid,
          followerSae: s.followerSae,
          leaderSae: s.leaderSae,
          keyIds,
        });
      if (nowMs >= s.lastUseMs + ttlMs) {
        const n = this.#drop(s);
        if (n) notices.push(n);
      }
    }
    return { erased, notices };
  }
}

function newEnd(sae: string): End {
  return {
    sae,
    connected: false,
    closed: false,
    cursor: 0,
    delivered: new Set(),
    pending: new Set(),
    nextAtMs: 0,
  };
}

/** The metadata of a chunk (Table 3 examples: `age` ms since the chunk became available, `hops`). */
export function chunkMetadata(formedAtMs: number, nowMs: number, hops: number): string {
  return JSON.stringify({ age: Math.min(UINT32_MAX, Math.max(0, Math.round(nowMs - formedAtMs))), hops });
}
