/**
 * JSON over HTTPS with mutual TLS 1.3 (node:https, keep-alive agent): the one transport used by the SAE
 * client (./client.ts) and by KME-to-KME reservations (./peer.ts). The server's certificate must chain
 * to the given CA and match the host name (Node's default checks) and, when the caller says which KME it
 * expects, carry the kme role, name that KME as a DNS subjectAltName, match the SPKI pin and not be
 * revoked (./identity.ts `serverCheck`); the client presents its own certificate.
 */
import https from 'node:https';
import { Socket } from 'node:net';
import { serverCheck, type KmeExpectation } from './identity.ts';

/**
 * The TLS profile of every KME connection, server and client: TLS 1.3 only (RFC 8446 — AEAD suites only,
 * no renegotiation, no CBC or SHA-1 suites), and of the 1.3 suites the three AEADs with full-length tags
 * (TLS_AES_128_CCM_8_SHA256's 64-bit tag is left out).
 */
export const KME_TLS = {
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  ciphers: 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256',
} as const;

/** PEM material of one TLS identity plus the CA that issued the other side. */
export interface MtlsIdentity {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly ca: string | Buffer;
}

/**
 * An https.Agent whose connections send every write at once (TCP_NODELAY, Nagle off). Node 20 sets it on
 * the sockets an HTTP(S) server accepts but not on those an https.Agent opens: `tls.connect` drops the
 * agent's `noDelay` option (strace showed no TCP_NODELAY on the client side). One request is one small TLS
 * record, so nothing may sit in the kernel waiting for the ACK of the one before.
 */
class NoDelayAgent extends https.Agent {
  override createConnection(...args: Parameters<https.Agent['createConnection']>) {
    const socket = super.createConnection(...args);
    if (socket instanceof Socket) socket.setNoDelay(true);
    return socket;
  }
}

/**
 * A keep-alive HTTPS agent presenting `id` as its client certificate, Nagle off on its connections. With
 * `expect`, the server must prove to be that KME (role, SAN, pin, CRL); otherwise only the CA chain and
 * host name are checked.
 */
export function createMtlsAgent(id: MtlsIdentity, maxSockets = 16, expect?: KmeExpectation): https.Agent {
  return new NoDelayAgent({
    cert: id.cert,
    key: id.key,
    ca: id.ca,
    keepAlive: true,
    maxSockets,
    ...KME_TLS,
    ...(expect ? { checkServerIdentity: serverCheck(expect) } : {}),
  });
}

/** An HTTP answer with its parsed JSON body (`undefined` when the body is empty or not JSON). */
export interface JsonAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * Sends one request; resolves with status and JSON body, rejects on transport failure or timeout. The
 * rejection's `requestSent` says whether the TLS connection was up when it failed: false means the server
 * never saw the request (refused, unreachable, handshake failed), so repeating it elsewhere is harmless.
 */
export function requestJson(
  agent: https.Agent,
  url: string,
  method: 'GET' | 'POST',
  body?: unknown,
  timeoutMs = 10_000,
  /** Media type asked for (default application/json). */
  accept = 'application/json',
): Promise<JsonAnswer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = https.request(
      url,
      {
        method,
        agent,
        headers: {
          accept,
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text.length ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`no answer from ${new URL(url).host} within ${timeoutMs} ms`)),
    );
    let connected = false;
    req.on('socket', (sock) => {
      const tls = sock as typeof sock & { connecting?: boolean; encrypted?: boolean; authorized?: boolean };
      if (!tls.connecting && tls.encrypted) connected = true;
      else sock.once('secureConnect', () => (connected = true));
    });
    req.on('error', (e: Error & { requestSent?: boolean }) => {
      e.requestSent = connected;
      reject(e);
    });
    req.end(payload);
  });
}
