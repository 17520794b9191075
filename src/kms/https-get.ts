/**
 * One kept-alive mutual-TLS connection for small GET requests, written and read as HTTP/1.1 by hand: the
 * SAE client's GET forms (`enc_keys`, `dec_keys`, status; ./client.ts) — the calls the IPsec PPK agents
 * make inside the IKE window. node:https's request and response objects (ClientRequest, IncomingMessage,
 * their streams and the agent's socket hand-over) cost ≈ 0.3 ms per request on this 2-core machine
 * (one process, the same server: 0.68 → 0.40 ms after 20 ms idle, 0.38 → 0.22 ms back to back), more
 * than the TLS records themselves. Same TLS profile and server checks as `createMtlsAgent`
 * (./https-json.ts: CA chain, host name, and the expected KME's role, SAN, pin, CRL); Nagle off. One
 * request at a time: the caller sends through its https.Agent while this connection is `busy`. Only
 * answers with a Content-Length are read (a KME's JSON always has one); anything else ends the connection
 * and fails the request.
 */
import { isIP, type Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { KME_TLS, type JsonAnswer, type MtlsIdentity } from './https-json.ts';
import { serverCheck, type KmeExpectation } from './identity.ts';

/** Largest answer read (a KME's answer of max_key_per_request keys is far below). */
const MAX_ANSWER_BYTES = 4 << 20;

interface Pending {
  readonly resolve: (a: JsonAnswer) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
  chunks: Buffer[];
  bytes: number;
}

/** Error of a failed request; `requestSent` false when the server cannot have seen it (as requestJson's). */
type SendError = Error & { requestSent?: boolean };

function sendError(message: string, requestSent: boolean): SendError {
  return Object.assign(new Error(message), { requestSent });
}

/** A kept-alive connection to one server (`https://host:port`), for GETs. */
export class KeptGetConnection {
  readonly #host: string;
  readonly #port: number;
  readonly #id: MtlsIdentity;
  readonly #expect: KmeExpectation | undefined;
  #socket: TLSSocket | undefined;
  #pending: Pending | undefined;
  #busy = false;
  #closed = false;

  constructor(origin: string, id: MtlsIdentity, expect?: KmeExpectation) {
    const u = new URL(origin);
    if (u.protocol !== 'https:') throw new RangeError(`not an https origin: ${origin}`);
    this.#host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    this.#port = u.port === '' ? 443 : Number(u.port);
    this.#id = id;
    this.#expect = expect;
  }

  /** True while a request is under way (send through another path meanwhile). */
  get busy(): boolean {
    return this.#busy;
  }

  /** True while the connection is open (a GET reuses it). */
  get open(): boolean {
    return this.#socket !== undefined && !this.#socket.destroyed;
  }

  /** `GET path` (absolute path with query); resolves with status and JSON body like `requestJson`. */
  async get(path: string, timeoutMs = 10_000, accept = 'application/json'): Promise<JsonAnswer> {
    if (!/^\/[\x21-\x7e]*$/.test(path) || !/^[\x21-\x7e ]+$/.test(accept))
      throw new RangeError('bad request path or media type');
    if (this.#busy) throw new Error('KeptGetConnection: one request at a time');
    if (this.#closed) throw sendError('connection closed', false);
    this.#busy = true;
    try {
      const s = this.#socket && !this.#socket.destroyed ? this.#socket : await this.#connect(timeoutMs);
      return await new Promise<JsonAnswer>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.#fail(sendError(`no answer from ${this.#host}:${this.#port} within ${timeoutMs} ms`, true));
        }, timeoutMs);
        this.#pending = { resolve, reject, timer, chunks: [], bytes: 0 };
        const host = isIP(this.#host) === 6 ? `[${this.#host}]` : this.#host;
        s.write(`GET ${path} HTTP/1.1\r\nhost: ${host}:${this.#port}\r\naccept: ${accept}\r\n\r\n`);
      });
    } finally {
      this.#busy = false;
    }
  }

  /** Closes the connection; a request under way fails. */
  close(): void {
    this.#closed = true;
    this.#fail(sendError('connection closed', true));
  }

  #connect(timeoutMs: number): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({
        host: this.#host,
        port: this.#port,
        cert: this.#id.cert,
        key: this.#id.key,
        ca: this.#id.ca,
        ...KME_TLS,
        ...(isIP(this.#host) ? {} : { servername: this.#host }),
        ...(this.#expect ? { checkServerIdentity: serverCheck(this.#expect) } : {}),
      });
      (s as Socket).setNoDelay(true);
      const timer = setTimeout(
        () => s.destroy(new Error(`no TLS connection to ${this.#host}:${this.#port} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const failed = (e: Error) => {
        clearTimeout(timer);
        reject(sendError(e.message, false));
      };
      s.once('error', failed);
      s.once('secureConnect', () => {
        clearTimeout(timer);
        s.off('error', failed);
        s.on('error', () => undefined); // 'close' follows and fails what is pending
        s.on('data', (d: Buffer) => this.#onData(s, d));
        s.on('close', () => {
          if (this.#socket === s) this.#fail(sendError('connection closed before the answer', true));
        });
        this.#socket = s;
        resolve(s);
      });
    });
  }

  #onData(s: TLSSocket, d: Buffer): void {
    if (s !== this.#socket) return;
    const p = this.#pending;
    if (!p) return this.#fail(sendError('answer nobody asked for', true)); // a protocol violation
    p.chunks.push(d);
    p.bytes += d.length;
    if (p.bytes > MAX_ANSWER_BYTES) return this.#fail(sendError('answer too large', true));
    const all = p.chunks.length === 1 ? p.chunks[0]! : Buffer.concat(p.chunks);
    p.chunks = [all];
    const end = all.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = all.subarray(0, end).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.1 (\d{3}) /.exec(`${head[0]} `);
    let length: number | undefined;
    let close = false;
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length' && /^\d+$/.test(value)) length = Number(value);
      else if (name === 'transfer-encoding') length = undefined;
      else if (name === 'connection' && value.toLowerCase() === 'close') close = true;
    }
    if (!status || length === undefined || head.some((l) => /^transfer-encoding:/i.test(l)))
      return this.#fail(sendError('answer without a status line or Content-Length', true));
    const have = all.length - end - 4;
    if (have < length) return;
    if (have > length) return this.#fail(sendError('bytes after the answer', true));
    const text = all.subarray(end + 4).toString('utf8');
    let body: unknown;
    try {
      body = text.length ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    clearTimeout(p.timer);
    this.#pending = undefined;
    if (close) s.end();
    p.resolve({ status: Number(status[1]), body });
  }

  /** Fails the request under way (if any) and drops the connection. */
  #fail(e: SendError): void {
    const p = this.#pending;
    this.#pending = undefined;
    const s = this.#socket;
    this.#socket = undefined;
    s?.destroy();
    if (p) {
      clearTimeout(p.timer);
      p.reject(e);
    }
  }
}
