/**
 * Access control over real sockets: a loopback server (no credentials) refuses cross-origin and foreign-Host
 * requests and controls without the session's anti-CSRF token; a TLS server on a non-loopback address
 * (this machine's own interface address, or 0.0.0.0 reached via 127.0.0.1 when it has none) needs a token
 * login or a client certificate, keeps viewers away from the controls, serves /metrics to its bearer
 * token, and records every control in the audit trail.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import {
  createPki,
  issueCertificate,
  revocationCheck,
  revokeCertificate,
  writeCrl,
  type CrlWatch,
} from '../kms/index.ts';
import { buildServer } from './app.ts';
import { AuditLog } from './audit.ts';
import { dashboardCrl, dashboardTls } from './dashboard-tls.ts';
import { hostsFor } from './hosts.ts';
import { LiveHub, type LiveControls } from './hub.ts';
import type { AuditRecord } from './types.ts';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Req {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
}

/** One request over a real socket to `host:port` (the Host header may be overridden). */
function call(host: string, port: number, r: Req): Promise<Answer> {
  const make = r.tls ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = make(
      {
        host,
        port,
        method: r.method ?? 'GET',
        path: r.path,
        headers: r.headers ?? {},
        ...(r.tls ? { ...r.tls, servername: undefined, checkServerIdentity: () => undefined } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

function network() {
  const calls: string[] = [];
  const controls: LiveControls = {
    failLink: (id) => {
      calls.push(`fail ${id}`);
      hub.updateLink(id, { state: 'down' });
    },
    restoreLink: (id) => calls.push(`restore ${id}`),
    compromiseNode: (id) => calls.push(`compromise ${id}`),
    restoreNode: (id) => calls.push(`restore-node ${id}`),
    injectAttack: (id, kind) => calls.push(`attack ${id} ${kind}`),
    clearAttack: (id) => calls.push(`clear ${id}`),
    setSpeed: (s) => calls.push(`speed ${s}`),
    close: async () => undefined,
  };
  const node = (id: string) => ({
    id,
    name: id,
    lat: 0,
    lon: 0,
    kind: 'trusted-node',
    compromised: false,
    kmeUrl: null,
  });
  const hub: LiveHub = new LiveHub(
    {
      scenario: { name: 't', title: 'T' },
      nodes: [node('a'), node('b')],
      links: [
        {
          id: 'a-b',
          from: 'a',
          to: 'b',
          lengthKm: 1,
          state: 'up',
          attack: null,
          poolBits: 1,
          capacityBits: 10,
          keyRateBps: 1,
          rateModel: 'finite',
          qber: 0.01,
          generatedBits: 0,
          relayedBits: 0,
          kmeBits: 0,
        },
      ],
      apps: [],
      attackKinds: ['intercept-resend'],
      engines: {},
      speed: 1,
    },
    controls,
  );
  return { hub, calls };
}

const cookieOf = (a: Answer) => String(a.headers['set-cookie'] ?? '').split(';')[0]!;

test('loopback: cross-origin simple POSTs, foreign Hosts and controls without the anti-CSRF token are refused', async () => {
  const { hub, calls } = network();
  const app = buildServer(hub, { webRoot: '/nonexistent' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const own = `http://127.0.0.1:${port}`;
  const go = (r: Req) => call('127.0.0.1', port, r);
  try {
    // The three "simple" requests a foreign page can send without a preflight.
    for (const [type, body] of [
      ['text/plain', 'x'],
      ['application/x-www-form-urlencoded', 'kind=intercept-resend'],
      [undefined, undefined],
    ] as const) {
      const res = await go({
        method: 'POST',
        path: '/api/links/a-b/fail',
        headers: { origin: 'http://evil.example', ...(type ? { 'content-type': type } : {}) },
        ...(body ? { body } : {}),
      });
      assert.equal(res.status, 403, `${type}: ${res.body}`);
      assert.equal(JSON.parse(res.body).code, 'DASHBOARD_FORBIDDEN');
      assert.equal(res.headers['access-control-allow-origin'], undefined);
    }
    // A foreign Referer with no Origin, and no Origin at all, are refused the same way.
    for (const headers of [{ referer: 'http://evil.example/page' }, {}]) {
      const res = await go({ method: 'POST', path: '/api/links/a-b/fail', headers });
      assert.equal(res.status, 403);
    }
    assert.deepEqual(calls, []);
    assert.equal(hub.state().links[0]!.state, 'up');

    // DNS rebinding: a foreign name in Host is refused on every route, reads and the page included.
    for (const path of ['/api/state', '/', '/metrics', '/api/events']) {
      const res = await go({ path, headers: { host: `evil.example:${port}` } });
      assert.equal(res.status, 421, path);
      assert.equal(JSON.parse(res.body).code, 'DASHBOARD_MISDIRECTED');
    }
    assert.equal((await go({ path: '/api/state', headers: { host: `127.0.0.1:${port + 1}` } })).status, 421);
    assert.equal((await go({ path: '/api/state', headers: { host: `localhost:${port}` } })).status, 200);

    // A preflight gets no CORS grant.
    const pre = await go({
      method: 'OPTIONS',
      path: '/api/links/a-b/fail',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.headers['access-control-allow-origin'], undefined);

    // Same origin but no or a wrong anti-CSRF token: refused.
    const session = await go({ path: '/api/session' });
    const cookie = cookieOf(session);
    const { csrf } = JSON.parse(session.body) as { csrf: string };
    assert.match(String(session.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
    for (const extra of [{}, { 'x-csrf-token': 'wrong' }, { 'x-csrf-token': csrf.slice(1) }]) {
      const res = await go({
        method: 'POST',
        path: '/api/links/a-b/fail',
        headers: { origin: own, cookie, ...extra },
      });
      assert.equal(res.status, 403);
    }
    assert.equal(
      (
        await go({
          method: 'POST',
          path: '/api/links/a-b/fail',
          headers: { origin: own, 'x-csrf-token': csrf },
        })
      ).status,
      403,
    );
    assert.deepEqual(calls, []);

    // The page's own request: accepted, and recorded.
    const ok = await go({
      method: 'POST',
      path: '/api/links/a-b/fail',
      headers: { origin: own, cookie, 'x-csrf-token': csrf },
    });
    assert.equal(ok.status, 202);
    assert.deepEqual(calls, ['fail a-b']);
    const audit = JSON.parse((await go({ path: '/api/audit' })).body) as { records: AuditRecord[] };
    const last = audit.records.at(-1)!;
    assert.deepEqual(
      {
        actor: last.actor,
        via: last.via,
        action: last.action,
        target: last.target,
        outcome: last.outcome,
        from: last.from,
      },
      {
        actor: 'local',
        via: 'loopback',
        action: 'link-fail',
        target: 'a-b',
        outcome: 'accepted',
        from: '127.0.0.1',
      },
    );
    assert.ok(audit.records.some((r) => r.outcome === 'refused' && r.reason === 'DASHBOARD_FORBIDDEN'));
  } finally {
    await app.close();
  }
});

/** An address of this machine other than loopback, or null. */
function interfaceAddress(): string | null {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return null;
}

const dir = mkdtempSync(join(tmpdir(), 'qkdnet-access-'));
const pki = join(dir, 'pki');
const bindHost = interfaceAddress() ?? '0.0.0.0';
const connectHost = bindHost === '0.0.0.0' ? '127.0.0.1' : bindHost;
const TOKENS = {
  operator: 'op-token-0123456789abcdef',
  viewer: 'view-token-0123456789abcd',
  metrics: 'prom-token-0123456789abcd',
};
let app: FastifyInstance;
let port = 0;
let net: ReturnType<typeof network>;
let ca: Buffer;
let crl: CrlWatch | undefined;
const audit = new AuditLog();
const pem = (name: string) => ({
  cert: readFileSync(join(pki, `${name}.pem`)),
  key: readFileSync(join(pki, `${name}.key`)),
});

before(async () => {
  await createPki(pki);
  await Promise.all([
    issueCertificate(pki, 'alice', 'operator'),
    issueCertificate(pki, 'bob', 'viewer'),
    issueCertificate(pki, 'kme-x', 'kme'),
    issueCertificate(pki, 'carol', 'operator'),
  ]);
  ca = readFileSync(join(pki, 'ca.pem'));
  net = network();
  const https = await dashboardTls({ pkiDir: pki, hosts: [connectHost], clientCertificates: true });
  crl = await dashboardCrl({ pkiDir: pki, log: () => {} });
  app = buildServer(net.hub, {
    webRoot: '/nonexistent',
    audit,
    https,
    access: {
      hosts: hostsFor(bindHost),
      secure: true,
      requireAuth: true,
      clientCertificates: true,
      revoked: revocationCheck(crl),
      tokens: [
        { name: 'ops', role: 'operator', token: TOKENS.operator },
        { name: 'viewer-token', role: 'viewer', token: TOKENS.viewer },
        { name: 'prometheus', role: 'metrics', token: TOKENS.metrics },
      ],
    },
  });
  await app.listen({ host: bindHost, port: 0 });
  port = (app.server.address() as { port: number }).port;
});

after(async () => {
  crl?.stop();
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

const origin = () => `https://${connectHost}:${port}`;
const go = (r: Req) => call(connectHost, port, { ...r, tls: { ca, ...r.tls } });

async function login(token: string): Promise<{ cookie: string; csrf: string; res: Answer }> {
  const res = await go({
    method: 'POST',
    path: '/api/login',
    headers: { origin: origin(), 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  return {
    cookie: cookieOf(res),
    csrf: res.status === 200 ? (JSON.parse(res.body) as { csrf: string }).csrf : '',
    res,
  };
}

test(`off loopback (${bindHost}): HTTPS, and no reads or controls without authentication`, async () => {
  const plain = await call(connectHost, port, { path: '/api/state' }).catch((e: Error) => e);
  assert.ok(plain instanceof Error || plain.status === 400, 'plain HTTP is not served');
  assert.equal((await go({ path: '/api/state' })).status, 401);
  assert.equal((await go({ path: '/api/events' })).status, 401);
  assert.equal((await go({ path: '/metrics' })).status, 401);
  assert.equal((await go({ path: '/healthz' })).status, 200);
  const session = JSON.parse((await go({ path: '/api/session' })).body);
  assert.deepEqual(session, { authenticated: false, methods: ['token', 'certificate'] });
  const wrong = await login('not-the-token-at-all');
  assert.equal(wrong.res.status, 403);
  assert.equal(wrong.cookie, '');
  const bearer = await go({ path: '/api/state', headers: { authorization: 'Bearer nope-nope-nope-nope' } });
  assert.equal(bearer.status, 403);
  const ctl = await go({ method: 'POST', path: '/api/links/a-b/fail', headers: { origin: origin() } });
  assert.equal(ctl.status, 403);
  assert.deepEqual(net.calls, []);
});

test('an operator logs in with the token: Secure HttpOnly SameSite=Strict cookie, controls with the anti-CSRF token', async () => {
  const { cookie, csrf, res } = await login(TOKENS.operator);
  assert.equal(res.status, 200);
  assert.match(String(res.headers['set-cookie']), /HttpOnly; SameSite=Strict; Max-Age=\d+; Secure/);
  assert.equal(JSON.parse(res.body).role, 'operator');
  assert.equal((await go({ path: '/api/state', headers: { cookie } })).status, 200);
  const noCsrf = await go({
    method: 'POST',
    path: '/api/speed',
    headers: { origin: origin(), cookie, 'content-type': 'application/json' },
    body: '{"speed":2}',
  });
  assert.equal(noCsrf.status, 403);
  const foreign = await go({
    method: 'POST',
    path: '/api/speed',
    headers: {
      origin: 'https://evil.example',
      cookie,
      'x-csrf-token': csrf,
      'content-type': 'application/json',
    },
    body: '{"speed":2}',
  });
  assert.equal(foreign.status, 403);
  const ok = await go({
    method: 'POST',
    path: '/api/speed',
    headers: { origin: origin(), cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
    body: '{"speed":2}',
  });
  assert.equal(ok.status, 202, ok.body);
  assert.deepEqual(net.calls, ['speed 2']);
  const rec = [...audit.list()].reverse().find((r) => r.action === 'speed' && r.outcome === 'accepted')!;
  assert.deepEqual(
    { actor: rec.actor, role: rec.role, via: rec.via, detail: rec.detail, from: rec.from },
    { actor: 'ops', role: 'operator', via: 'token', detail: '2', from: connectHost },
  );
});

test('a viewer reads but cannot control, by token or by certificate; the refusal is audited', async () => {
  const { cookie, csrf } = await login(TOKENS.viewer);
  assert.equal((await go({ path: '/api/state', headers: { cookie } })).status, 200);
  const res = await go({
    method: 'POST',
    path: '/api/links/a-b/fail',
    headers: { origin: origin(), cookie, 'x-csrf-token': csrf },
  });
  assert.equal(res.status, 403);
  const viaBearer = await go({
    method: 'POST',
    path: '/api/links/a-b/fail',
    headers: { origin: origin(), authorization: `Bearer ${TOKENS.viewer}` },
  });
  assert.equal(viaBearer.status, 403);
  const bob = pem('bob');
  const s = await go({ path: '/api/session', tls: { ca, ...bob } });
  const bobSession = JSON.parse(s.body) as { role: string; csrf: string };
  assert.equal(bobSession.role, 'viewer');
  const byCert = await go({
    method: 'POST',
    path: '/api/links/a-b/fail',
    headers: { origin: origin(), cookie: cookieOf(s), 'x-csrf-token': bobSession.csrf },
    tls: { ca, ...bob },
  });
  assert.equal(byCert.status, 403);
  assert.deepEqual(
    net.calls.filter((c) => c.startsWith('fail')),
    [],
  );
  const refused = audit.list().filter((r) => r.action === 'link-fail' && r.outcome === 'refused');
  assert.ok(refused.some((r) => r.actor === 'bob' && r.via === 'certificate' && r.role === 'viewer'));
});

test('an operator certificate (qkdnet pki issue --kind operator) controls; a KME certificate is nobody', async () => {
  const alice = pem('alice');
  const s = await go({ path: '/api/session', tls: { ca, ...alice } });
  const session = JSON.parse(s.body) as { name: string; role: string; csrf: string };
  assert.deepEqual([session.name, session.role], ['alice', 'operator']);
  const res = await go({
    method: 'POST',
    path: '/api/links/a-b/attack',
    headers: {
      origin: origin(),
      cookie: cookieOf(s),
      'x-csrf-token': session.csrf,
      'content-type': 'application/json',
    },
    body: '{"kind":"intercept-resend"}',
    tls: { ca, ...alice },
  });
  assert.equal(res.status, 202, res.body);
  const rec = audit.list().at(-1)!;
  assert.deepEqual(
    [rec.actor, rec.via, rec.action, rec.target, rec.detail],
    ['alice', 'certificate', 'attack-inject', 'a-b', 'intercept-resend'],
  );
  const kme = await go({ path: '/api/state', tls: { ca, ...pem('kme-x') } });
  assert.equal(kme.status, 401);
});

test('/metrics answers its own bearer token, which opens nothing else', async () => {
  const m = await go({ path: '/metrics', headers: { authorization: `Bearer ${TOKENS.metrics}` } });
  assert.equal(m.status, 200);
  assert.match(m.body, /qkdnet_link_up/);
  assert.equal(
    (await go({ path: '/api/state', headers: { authorization: `Bearer ${TOKENS.metrics}` } })).status,
    403,
  );
  assert.equal((await login(TOKENS.metrics)).res.status, 403);
});

test('client certificates are checked against the CRL: a revoked one and any under a lapsed CRL log no one in', async () => {
  const session = async (who: string) =>
    JSON.parse((await go({ path: '/api/session', tls: { ca, ...pem(who) } })).body) as { role?: string };
  assert.equal((await session('carol')).role, 'operator');
  await revokeCertificate(pki, 'carol');
  assert.equal(crl!.reload(), true);
  assert.equal((await go({ path: '/api/state', tls: { ca, ...pem('carol') } })).status, 401, 'revoked carol');
  assert.equal((await session('alice')).role, 'operator', 'alice is not revoked');
  // The CRL lapses (nextUpdate passed): policy refuse — no certificate logs in; tokens still do.
  await writeCrl(pki, {
    lastUpdate: new Date(Date.now() - 7_200_000),
    nextUpdate: new Date(Date.now() - 3_600_000),
  });
  assert.equal(crl!.reload(), true);
  assert.equal((await go({ path: '/api/state', tls: { ca, ...pem('alice') } })).status, 401, 'lapsed CRL');
  const l = await login(TOKENS.operator);
  assert.equal(l.res.status, 200, 'a token login still works under a lapsed CRL');
  await writeCrl(pki);
  assert.equal(crl!.reload(), true);
  assert.equal((await session('alice')).role, 'operator', 'a fresh CRL restores certificate logins');
});
