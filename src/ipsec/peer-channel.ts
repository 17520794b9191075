// @edge: the agents' authenticated TCP channel
/**
 * The channel on which the UE's agent (master SAE) tells the N3IWF's agent (slave SAE) which `key_ID` to
 * fetch — ETSI GS QKD 014 leaves this channel to the SAEs (§5: "the key_IDs are passed by the master SAE
 * to the slave SAE by means outside the scope of this specification"). Messages are JSON lines
 * authenticated with HMAC-SHA-256 (RFC 2104) under a 32-byte channel key both agents are provisioned
 * with. The MAC covers direction, sequence number, send time and body, so a reply cannot be replayed as a
 * request; the server refuses sequence numbers it has seen and messages older than `maxSkewMs`.
 * Key_IDs are not secret (ETSI 014 sends them in the clear inside TLS); key material never travels here.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { QkdnetError } from '../common/index.ts';

/** One authenticated message on the wire. */
export interface SealedMessage {
  readonly dir: 'req' | 'resp';
  readonly seq: number;
  readonly sentMs: number;
  readonly body: Record<string, unknown>;
  readonly mac: string;
}

function macOf(key: Uint8Array, m: Omit<SealedMessage, 'mac'>): Buffer {
  return createHmac('sha256', key)
    .update(JSON.stringify([m.dir, m.seq, m.sentMs, m.body]))
    .digest();
}

/** Seals a body with the channel key. */
export function seal(
  key: Uint8Array,
  dir: SealedMessage['dir'],
  seq: number,
  sentMs: number,
  body: Record<string, unknown>,
): SealedMessage {
  const m = { dir, seq, sentMs, body };
  return { ...m, mac: macOf(key, m).toString('hex') };
}

/** Checks a message's MAC and direction; returns the body or `undefined` when it is not authentic. */
export function openSealed(
  key: Uint8Array,
  dir: SealedMessage['dir'],
  raw: unknown,
): SealedMessage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Partial<SealedMessage>;
  if (m.dir !== dir || !Number.isSafeInteger(m.seq) || typeof m.sentMs !== 'number') return undefined;
  if (
    typeof m.body !== 'object' ||
    m.body === null ||
    typeof m.mac !== 'string' ||
    !/^[0-9a-f]{64}$/.test(m.mac)
  )
    return undefined;
  const expect = macOf(key, { dir, seq: m.seq!, sentMs: m.sentMs, body: m.body });
  return timingSafeEqual(expect, Buffer.from(m.mac, 'hex')) ? (m as SealedMessage) : undefined;
}

/** Handles one authenticated request body and returns the reply body. */
export type ChannelHandler = (body: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** A listening channel server. */
export interface ChannelServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves authenticated requests on `host:port` (port 0 picks one). Unauthentic lines close the socket. */
export async function serveChannel(
  key: Uint8Array,
  handler: ChannelHandler,
  opts: { host?: string; port?: number; maxSkewMs?: number; clock?: () => number } = {},
): Promise<ChannelServer> {
  const seen = new Set<number>();
  const clock = opts.clock ?? Date.now;
  const maxSkewMs = opts.maxSkewMs ?? 30_000;
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    s.setNoDelay(true); // one small JSON line per message: never held back waiting for an ACK (Nagle)
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    let buf = '';
    let chain = Promise.resolve();
    s.on('data', (d) => {
      buf += d.toString('utf8');
      if (buf.length > 65_536) return void s.destroy();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        chain = chain.then(() => answer(line, s));
      }
    });
  });
  const answer = async (line: string, s: Socket) => {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return void s.destroy();
    }
    const m = openSealed(key, 'req', raw);
    if (!m || seen.has(m.seq) || Math.abs(clock() - m.sentMs) > maxSkewMs) return void s.destroy();
    seen.add(m.seq);
    let body: Record<string, unknown>;
    try {
      body = await handler(m.body);
    } catch (e) {
      body = { ok: false, reason: 'error', message: (e as Error).message };
    }
    if (!s.destroyed) s.write(`${JSON.stringify(seal(key, 'resp', m.seq, clock(), body))}\n`);
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A client of the channel: one TCP connection, requests answered in order. */
export class ChannelClient {
  readonly #key: Uint8Array;
  readonly #host: string;
  readonly #port: number;
  #seq: number;
  #socket: Socket | undefined;
  #buf = '';
  #waiting: { seq: number; resolve(b: Record<string, unknown>): void; reject(e: Error): void }[] = [];

  /** `firstSeq` should differ across restarts (the server refuses repeated sequence numbers). */
  constructor(key: Uint8Array, host: string, port: number, firstSeq = Date.now() * 1000) {
    this.#key = key;
    this.#host = host;
    this.#port = port;
    this.#seq = firstSeq;
  }

  /**
   * Sends one authenticated request and returns the authenticated reply body. On an open connection the
   * request is written before this returns, so work the caller starts next (loading its own charon)
   * does not delay the peer's.
   */
  request(body: Record<string, unknown>, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const open = this.#socket && !this.#socket.destroyed ? this.#socket : undefined;
    if (open) return this.#send(open, body, timeoutMs);
    return this.#connect().then((s) => this.#send(s, body, timeoutMs));
  }

  #send(s: Socket, body: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#drop(new Error(`no authenticated reply from the peer agent within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.push({
        seq,
        resolve: (b) => (clearTimeout(timer), resolve(b)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      s.write(`${JSON.stringify(seal(this.#key, 'req', seq, Date.now(), body))}\n`);
    });
  }

  /** Closes the connection. */
  close(): void {
    this.#drop(new Error('channel closed'));
  }

  async #connect(): Promise<Socket> {
    if (this.#socket && !this.#socket.destroyed) return this.#socket;
    const s = connect({ port: this.#port, host: this.#host, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', (e) =>
        reject(
          new QkdnetError(
            'IPSEC_UNAVAILABLE',
            `Cannot reach the peer agent at ${this.#host}:${this.#port}: ${e.message}`,
          ),
        ),
      );
    });
    s.on('data', (d) => this.#onData(d));
    s.on('close', () => this.#drop(new Error('peer agent closed the channel (authentication refused?)')));
    s.on('error', () => undefined);
    this.#socket = s;
    return s;
  }

  #onData(d: Buffer): void {
    this.#buf += d.toString('utf8');
    let nl: number;
    while ((nl = this.#buf.indexOf('\n')) >= 0) {
      const line = this.#buf.slice(0, nl);
      this.#buf = this.#buf.slice(nl + 1);
      const head = this.#waiting[0];
      let m: SealedMessage | undefined;
      try {
        m = openSealed(this.#key, 'resp', JSON.parse(line));
      } catch {
        m = undefined;
      }
      if (!head || !m || m.seq !== head.seq)
        return this.#drop(new Error('unauthentic reply from the peer agent'));
      this.#waiting.shift();
      head.resolve(m.body);
    }
  }

  #drop(e: Error): void {
    const s = this.#socket;
    this.#socket = undefined;
    this.#buf = '';
    for (const w of this.#waiting.splice(0)) w.reject(new QkdnetError('IPSEC_UNAVAILABLE', e.message));
    s?.destroy();
  }
}
