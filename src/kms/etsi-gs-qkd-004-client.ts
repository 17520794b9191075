/**
 * `Etsi004Client`: a TypeScript application (SAE) client of ETSI GS QKD 004 V2.1.1 over qkdnet's HTTPS +
 * JSON binding with mutual TLS (./etsi-gs-qkd-004-routes.ts). `openConnect` (OPEN_CONNECT), `getKey`
 * (GET_KEY) and `close` (CLOSE) of clause 6.1 return the spec's status (Table 2) with their outputs; a
 * transport refusal (400, 401, 404, 413 — a malformed or unauthorised request) becomes a QkdnetError with
 * the KME's message. Key streams live in one KME process, so unlike the 014 client there is no fail-over
 * between replicas.
 */
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import { QkdnetError } from '../common/index.ts';
import { createMtlsAgent, requestJson, type MtlsIdentity } from './https-json.ts';
import type { KmePinning } from './client.ts';
import type { Qos, QosRequest } from './etsi-gs-qkd-004.ts';
import { fullQosFromWire, type QosRequestWire, type QosWire } from './etsi-gs-qkd-004-schema.ts';

/** Connection options of the 004 client. */
export interface Etsi004ClientOptions extends MtlsIdentity, KmePinning {
  readonly url: string;
  /** HTTP timeout of one call (keep it above the stream's QoS.Timeout). Default 70 s. */
  readonly timeoutMs?: number;
}

/** An OPEN_CONNECT result. */
export interface OpenConnectResult {
  readonly status: number;
  readonly keyStreamId?: string;
  readonly qos?: Qos;
}

/** A GET_KEY result: on status 0 the chunk and its index; on status 8 the metadata size needed. */
export interface GetKeyResult {
  readonly status: number;
  readonly index?: number;
  readonly key?: Uint8Array;
  readonly metadataSize?: number;
  readonly metadata?: { readonly age: number; readonly hops: number };
}

/** An SAE's ETSI GS QKD 004 client. */
export class Etsi004Client {
  readonly url: string;
  readonly #agent: https.Agent;
  readonly #timeoutMs: number;

  constructor(opts: Etsi004ClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.#agent = createMtlsAgent(opts, 8, {
      role: 'if-present',
      ...(opts.kmeId !== undefined ? { kmeId: opts.kmeId } : {}),
      ...(opts.pinSpki ? { pin: { spkiSha256: opts.pinSpki } } : {}),
    });
    this.#timeoutMs = opts.timeoutMs ?? 70_000;
  }

  /** A client from PEM files, pinned as `pin` says. */
  static fromFiles(
    url: string,
    files: { cert: string; key: string; ca: string },
    pin: KmePinning = {},
  ): Etsi004Client {
    return new Etsi004Client({
      url,
      cert: readFileSync(files.cert),
      key: readFileSync(files.key),
      ca: readFileSync(files.ca),
      ...pin,
    });
  }

  async #post(route: string, body: unknown): Promise<Record<string, unknown>> {
    const a = await requestJson(
      this.#agent,
      `${this.url}/api/v1/etsi004/${route}`,
      'POST',
      body,
      this.#timeoutMs,
    );
    if (a.status === 200) return a.body as Record<string, unknown>;
    const msg = (a.body as { message?: unknown } | undefined)?.message;
    throw new QkdnetError(
      a.status === 401 ? 'KMS_UNAUTHORIZED' : a.status === 503 ? 'KMS_PEER_UNAVAILABLE' : 'KMS_BAD_REQUEST',
      `KME answered ${a.status} to ${route}${typeof msg === 'string' ? `: ${msg}` : ''}`,
    );
  }

  /** OPEN_CONNECT(source, destination, QoS, Key_stream_ID) — clause 6.1. */
  async openConnect(
    source: string,
    destination: string,
    o: { qos?: QosRequest; keyStreamId?: string } = {},
  ): Promise<OpenConnectResult> {
    const b = await this.#post('open-connect', {
      source,
      destination,
      ...(o.qos ? { qos: qosRequestToWire(o.qos) } : {}),
      ...(o.keyStreamId ? { key_stream_id: o.keyStreamId } : {}),
    });
    return {
      status: b.status as number,
      ...(typeof b.key_stream_id === 'string' ? { keyStreamId: b.key_stream_id } : {}),
      ...(b.qos ? { qos: fullQosFromWire(b.qos as QosWire) } : {}),
    };
  }

  /** GET_KEY(Key_stream_ID, index, Metadata) — clause 6.1; `metadataSize` 0/absent: no metadata. */
  async getKey(
    keyStreamId: string,
    o: { index?: number; metadataSize?: number } = {},
  ): Promise<GetKeyResult> {
    const b = await this.#post('get-key', {
      key_stream_id: keyStreamId,
      ...(o.index !== undefined ? { index: o.index } : {}),
      ...(o.metadataSize !== undefined ? { metadata: { size: o.metadataSize } } : {}),
    });
    const md = b.metadata as { size: number; buffer?: { age: number; hops: number } } | undefined;
    return {
      status: b.status as number,
      ...(typeof b.index === 'number' ? { index: b.index } : {}),
      ...(typeof b.key_buffer === 'string'
        ? { key: new Uint8Array(Buffer.from(b.key_buffer, 'base64')) }
        : {}),
      ...(md ? { metadataSize: md.size } : {}),
      ...(md?.buffer ? { metadata: md.buffer } : {}),
    };
  }

  /** CLOSE(Key_stream_ID) — clause 6.1. */
  async close(keyStreamId: string): Promise<{ status: number }> {
    const b = await this.#post('close', { key_stream_id: keyStreamId });
    return { status: b.status as number };
  }

  /** Closes the connection pool. */
  destroy(): void {
    this.#agent.destroy();
  }
}

/** QoS request to the wire (only the fields given). */
export function qosRequestToWire(q: QosRequest): QosRequestWire {
  const w: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined) w[k] = v;
  };
  set('key_chunk_size', q.keyChunkSize);
  set('max_bps', q.maxBps);
  set('min_bps', q.minBps);
  set('jitter', q.jitter);
  set('priority', q.priority);
  set('timeout', q.timeoutMs);
  set('ttl', q.ttlS);
  set('metadata_mimetype', q.metadataMimetype);
  return w as QosRequestWire;
}
