import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { buildServer } from './app.ts';
import { hostsFor } from './hosts.ts';
import { pageSession } from './page-session.fixture.ts';
import { LiveHub, type LiveControls } from './hub.ts';

function fixture() {
  const calls: string[] = [];
  const controls: LiveControls = {
    failLink: (id) => {
      calls.push(`fail ${id}`);
      hub.updateLink(id, { state: 'down', keyRateBps: 0 });
    },
    restoreLink: (id) => calls.push(`restore ${id}`),
    restoreNode: (id) => {
      calls.push(`restore-node ${id}`);
      hub.setCompromised(id, false);
    },
    compromiseNode: (id) => {
      calls.push(`compromise ${id}`);
      hub.markCompromised(id);
    },
    injectAttack: (id, kind) => {
      calls.push(`attack ${id} ${kind}`);
      hub.updateLink(id, { attack: kind });
    },
    clearAttack: (id) => calls.push(`clear ${id}`),
    setSpeed: (s) => calls.push(`speed ${s}`),
    close: async () => void calls.push('close'),
  };
  const link = {
    lengthKm: 10,
    state: 'up' as const,
    attack: null,
    poolBits: 9000,
    capacityBits: 10000,
    kmeBits: 0,
  };
  const hub: LiveHub = new LiveHub(
    {
      scenario: { name: 'tiny', title: 'Tiny' },
      nodes: ['a', 'b', 'c'].map((id) => ({
        id,
        name: id.toUpperCase(),
        lat: 0,
        lon: 0,
        kind: 'trusted-node',
        compromised: false,
        kmeUrl: null,
      })),
      links: [
        {
          id: 'a-b',
          from: 'a',
          to: 'b',
          ...link,
          keyRateBps: 1000,
          rateModel: 'finite',
          qber: 0.02,
          generatedBits: 0,
          relayedBits: 0,
        },
        {
          id: 'b-c',
          from: 'b',
          to: 'c',
          ...link,
          keyRateBps: 800,
          rateModel: 'finite',
          qber: 0.03,
          generatedBits: 0,
          relayedBits: 0,
        },
      ],
      apps: [],
      attackKinds: ['intercept-resend', 'blinding'],
      engines: { test: 'fixture' },
      speed: 1,
    },
    controls,
  );
  return { hub, calls };
}

test('GET /api/state returns every node and link with a derived health', async () => {
  const { hub } = fixture();
  const app = buildServer(hub, { webRoot: '/nonexistent' });
  const res = await app.inject({ method: 'GET', url: '/api/state' });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.deepEqual(
    body.nodes.map((n: { id: string }) => n.id),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(
    body.links.map((l: { health: string }) => l.health),
    ['ok', 'ok'],
  );
  assert.deepEqual(body.attackKinds, ['intercept-resend', 'blinding']);
  await app.close();
});

test('controls reach the network and answer 202 with the new link state', async () => {
  const { hub, calls } = fixture();
  const app = buildServer(hub, { webRoot: '/nonexistent' });
  const ctl = await pageSession(app);
  let res = await ctl({
    method: 'POST',
    url: '/api/links/a-b/attack',
    payload: { kind: 'intercept-resend' },
  });
  assert.equal(res.statusCode, 202);
  assert.equal(res.json().link.health, 'alarm');
  res = await ctl({ method: 'POST', url: '/api/links/b-c/fail' });
  assert.equal(res.json().link.state, 'down');
  assert.equal(res.json().link.health, 'down');
  await ctl({ method: 'POST', url: '/api/links/b-c/restore' });
  await ctl({ method: 'DELETE', url: '/api/links/a-b/attack' });
  res = await ctl({ method: 'POST', url: '/api/nodes/b/compromise' });
  assert.equal(res.json().node.compromised, true);
  res = await ctl({ method: 'POST', url: '/api/nodes/b/restore' });
  assert.equal(res.json().node.compromised, false);
  await ctl({ method: 'POST', url: '/api/speed', payload: { speed: 5 } });
  assert.deepEqual(calls, [
    'attack a-b intercept-resend',
    'fail b-c',
    'restore b-c',
    'clear a-b',
    'compromise b',
    'restore-node b',
    'speed 5',
  ]);
  // Every control is in the audit trail, in order, with its target and detail.
  const audit = (await app.inject({ method: 'GET', url: '/api/audit' })).json() as {
    records: { action: string; target: string | null; detail: string | null; outcome: string }[];
  };
  assert.deepEqual(
    audit.records.map((r) => [r.action, r.target, r.detail, r.outcome]),
    [
      ['attack-inject', 'a-b', 'intercept-resend', 'accepted'],
      ['link-fail', 'b-c', null, 'accepted'],
      ['link-restore', 'b-c', null, 'accepted'],
      ['attack-stop', 'a-b', null, 'accepted'],
      ['node-compromise', 'b', null, 'accepted'],
      ['node-restore', 'b', null, 'accepted'],
      ['speed', null, '5', 'accepted'],
    ],
  );
  await app.close();
});

test('bad input is one catalogued error: unknown link 404, unknown attack or bad body 400', async () => {
  const { hub, calls } = fixture();
  const app = buildServer(hub, { webRoot: '/nonexistent' });
  const ctl = await pageSession(app);
  let res = await ctl({ method: 'POST', url: '/api/links/x-y/fail' });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().code, 'DASHBOARD_UNKNOWN_TARGET');
  res = await ctl({ method: 'POST', url: '/api/links/a-b/attack', payload: { kind: 'teleport' } });
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().code, 'DASHBOARD_BAD_CONTROL');
  assert.match(res.json().message, /intercept-resend/);
  res = await ctl({ method: 'POST', url: '/api/speed', payload: { speed: -1 } });
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().code, 'DASHBOARD_BAD_CONTROL');
  res = await ctl({ method: 'POST', url: '/api/nodes/zz/compromise' });
  assert.equal(res.statusCode, 404);
  assert.deepEqual(calls, []);
  await app.close();
});

test('history keeps the newest samples per link and honours ?points', async () => {
  const { hub } = fixture();
  const app = buildServer(hub, { webRoot: '/nonexistent' });
  for (let i = 0; i < 5; i++)
    hub.recordSample('a-b', { timeS: i, qber: 0.02, keyRateBps: 1000 + i, poolBits: 100 * i });
  const res = await app.inject({ method: 'GET', url: '/api/links/a-b/history?points=2' });
  assert.deepEqual(
    res.json().samples.map((s: { timeS: number }) => s.timeS),
    [3, 4],
  );
  const all = await app.inject({ method: 'GET', url: '/api/history' });
  assert.equal(all.json().links['a-b'].length, 5);
  assert.equal(all.json().links['b-c'].length, 0);
  await app.close();
});

test('/metrics exposes qkdnet_* gauges and counts alerts by kind', async () => {
  const { hub } = fixture();
  const app = buildServer(hub, { webRoot: '/nonexistent' });
  hub.addAlert({
    id: 'al-1',
    timeNs: 0,
    severity: 'critical',
    linkId: 'a-b',
    kind: 'qber-cusum',
    evidence: { statistic: 'cusum', value: 9, threshold: 5 },
    action: 'quarantine-link',
    message: 'QBER rose',
  });
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /text\/plain/);
  assert.match(res.body, /^qkdnet_link_pool_bits\{link="a-b"\} 9000$/m);
  assert.match(res.body, /^qkdnet_link_qber\{link="b-c"\} 0\.03$/m);
  assert.match(res.body, /^qkdnet_link_health\{link="a-b"\} 2$/m);
  assert.match(res.body, /^qkdnet_alerts_total\{kind="qber-cusum",severity="critical"\} 1$/m);
  for (const line of res.body.split('\n'))
    if (line.startsWith('# TYPE')) assert.match(line, /^# TYPE qkdnet_/);
  await app.close();
});

/** Collects text from `stream` until `pattern` matches (without ending the stream). */
function sseReader(stream: Readable): (pattern: RegExp) => Promise<string> {
  let text = '';
  let waiter: (() => void) | undefined;
  stream.on('data', (chunk) => {
    text += String(chunk);
    waiter?.();
  });
  return (pattern) =>
    new Promise((resolve) => {
      const check = (): void => {
        if (pattern.test(text)) {
          waiter = undefined;
          resolve(text);
        }
      };
      waiter = check;
      check();
    });
}

test('SSE sends the state first, then each event as it happens', async () => {
  const { hub } = fixture();
  const app = buildServer(hub, { webRoot: '/nonexistent', stateIntervalMs: 60_000 });
  const res = await app.inject({ method: 'GET', url: '/api/events', payloadAsStream: true });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^text\/event-stream/);
  const stream = res.stream();
  const readUntil = sseReader(stream);
  const first = await readUntil(/\n\n/);
  assert.match(first, /^event: state\ndata: \{"scenario":\{"name":"tiny"/);
  const pending = readUntil(/event: link-state\n/);
  hub.updateLink('a-b', { state: 'down' });
  const next = await pending;
  const data = JSON.parse(/event: link-state\ndata: (.*)\n/.exec(next)![1]!);
  assert.deepEqual(data, { type: 'link-state', timeS: 0, linkId: 'a-b', state: 'down' });
  stream.destroy();
  await app.close();
});

test('static files are served from the web root and paths cannot escape it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'qkdnet-web-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>qkdnet</title>');
  writeFileSync(join(root, 'assets', 'app.js'), 'console.log(1)');
  const { hub } = fixture();
  const app = buildServer(hub, { webRoot: root });
  let res = await app.inject({ method: 'GET', url: '/' });
  assert.equal(res.statusCode, 200);
  assert.match(res.body, /<title>qkdnet/);
  res = await app.inject({ method: 'GET', url: '/assets/app.js' });
  assert.match(res.headers['content-type'] as string, /javascript/);
  assert.match(res.headers['cache-control'] as string, /immutable/);
  for (const url of [
    '/../package.json',
    '/%2e%2e/package.json',
    '/assets/..%2f..%2fpackage.json',
    '/nope.js',
  ])
    assert.equal((await app.inject({ method: 'GET', url })).statusCode, 404, url);
  await app.close();
  const bare = buildServer(hub, { webRoot: join(root, 'missing') });
  res = await bare.inject({ method: 'GET', url: '/' });
  assert.equal(res.statusCode, 503);
  assert.match(res.body, /npm run build:web/);
  await bare.close();
});

test('behind a trusted proxy the audit trail names the forwarded client; failed logins are throttled', async () => {
  const { hub } = fixture();
  const app = buildServer(hub, {
    webRoot: '/nonexistent',
    trustProxy: '127.0.0.1',
    access: {
      hosts: hostsFor('127.0.0.1', ['qkd.example.org']),
      origins: ['https://qkd.example.org'],
      secure: false,
      requireAuth: true,
      tokens: [{ name: 'alice', role: 'operator', token: 'alice-token-0123456789' }],
    },
  });
  const proxied = {
    host: 'qkd.example.org',
    origin: 'https://qkd.example.org',
    'x-forwarded-for': '198.51.100.9',
  };
  const logIn = (token: string, from = '198.51.100.9') =>
    app.inject({
      method: 'POST',
      url: '/api/login',
      headers: { ...proxied, 'x-forwarded-for': from },
      payload: { token },
    });
  const login = await logIn('alice-token-0123456789');
  assert.equal(login.statusCode, 200);
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  const res = await app.inject({
    method: 'POST',
    url: '/api/links/a-b/fail',
    headers: { ...proxied, cookie, 'x-csrf-token': login.json().csrf },
  });
  assert.equal(res.statusCode, 202);
  const audit = (
    await app.inject({ method: 'GET', url: '/api/audit', headers: { ...proxied, cookie } })
  ).json();
  assert.deepEqual(
    audit.records.map((r: { action: string; actor: string; from: string }) => [r.action, r.actor, r.from]),
    [
      ['login', 'alice', '198.51.100.9'],
      ['link-fail', 'alice', '198.51.100.9'],
    ],
  );
  const statuses: number[] = [];
  for (let i = 0; i < 11; i++)
    statuses.push((await logIn(`guess-${i}-0123456789abc`, '203.0.113.5')).statusCode);
  assert.deepEqual(statuses, [...Array<number>(10).fill(403), 429]);
  // Another address is not held back by the first one's failures.
  assert.equal((await logIn('alice-token-0123456789')).statusCode, 200);
  await app.close();
});
