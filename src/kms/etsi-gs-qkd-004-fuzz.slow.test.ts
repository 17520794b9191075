/**
 * Fuzz of the ETSI GS QKD 004 routes (./etsi-gs-qkd-004-routes.ts) with an oracle, through `inject()`:
 * OPEN_CONNECT, GET_KEY, CLOSE (SAE), the KME-to-KME stream messages (peer KME) and the AIT push
 * profile's key-material (device). Each request starts valid and receives zero or more mutations the
 * binding forbids: a caller of the wrong role, an unknown field, a missing field, a JSON type off (string,
 * float, negative, beyond uint32), a malformed UUID or base64, bad JSON, a wrong content type, a wrong
 * method, an unknown path, a query parameter, an oversize body. Unmutated requests must get 200 (201 for
 * key-material) with a Table 2 status 0–8; mutated ones a 4xx with the Error object — never a 2xx, never a
 * 5xx. 12,000 requests, over 10,000 of them malformed; seeded, the same requests every run. The socket
 * path of the same routes is exercised by ./etsi-gs-qkd-004.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type InjectOptions } from 'fastify';
import { createRng, type Rng } from '../common/index.ts';
import { KmeCore } from './core.ts';
import { Etsi004Service } from './etsi-gs-qkd-004-service.ts';
import { createKmeMetrics } from './metrics.ts';
import { etsi014Plugin, type CallerIdentity } from './plugin.ts';
import { KeyStore } from './store.ts';
import { chunksFor } from './supply.ts';
import { testBlock } from './kme-pair.fixture.ts';

const TOTAL = 12_000;
const BODY_LIMIT = 16_384;
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.nextInt(xs.length)]!;
const uuid = (rng: Rng) => {
  const h = Array.from({ length: 32 }, () => '0123456789abcdef'[rng.nextInt(16)]).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20)}`;
};
const CALLERS: Record<string, CallerIdentity> = {
  'sae-a': { kind: 'sae', id: 'sae-a' },
  'sae-c': { kind: 'sae', id: 'sae-c' },
  'kme-b': { kind: 'kme', id: 'kme-b' },
  qkd: { kind: 'device', id: 'qkd' },
  metrics: { kind: 'metrics', id: 'metrics' },
  nobody: null,
};
const BAD_VALUES: unknown[] = ['1', 1.5, -1, 4294967296, null, true, [], {}, 'x'.repeat(300)];
const BAD_UUIDS = ['', 'nope', '123', '0000-0000', 'g'.repeat(36), '{00000000-0000-4000-8000-000000000000}'];

interface Case {
  caller: string;
  method: string;
  url: string;
  body: Record<string, unknown> | undefined;
  payload?: string;
  headers: Record<string, string>;
  mutations: string[];
  route: 'open' | 'get' | 'close' | 'peer' | 'push';
}

function generate(rng: Rng, ksids: string[]): Case {
  const route = pick(rng, ['open', 'open', 'get', 'get', 'close', 'peer', 'push'] as const);
  const ksid = () => (ksids.length > 0 && rng.nextBool(0.7) ? pick(rng, ksids) : uuid(rng));
  const c: Case = { caller: 'sae-a', method: 'POST', url: '', body: {}, headers: {}, mutations: [], route };
  if (route === 'open') {
    c.url = '/api/v1/etsi004/open-connect';
    c.caller = pick(rng, ['sae-a', 'sae-c']);
    const other = c.caller === 'sae-a' ? 'sae-c' : 'sae-a';
    c.body = { source: c.caller, destination: pick(rng, [other, other, 'sae-b', 'sae-x']) };
    if (rng.nextBool()) c.body.key_stream_id = rng.nextBool(0.8) ? ksid() : null;
    if (rng.nextBool()) {
      const qos: Record<string, unknown> = {};
      for (const f of ['key_chunk_size', 'max_bps', 'min_bps', 'jitter', 'priority', 'timeout', 'ttl'])
        if (rng.nextBool(0.4))
          qos[f] = rng.nextBool(0.1) ? null : rng.nextInt(f === 'timeout' ? 2000 : 100_000);
      if (rng.nextBool(0.2)) qos.metadata_mimetype = pick(rng, ['application/json', 'text/plain', '']);
      c.body.qos = qos;
    }
  } else if (route === 'get') {
    c.url = '/api/v1/etsi004/get-key';
    c.caller = pick(rng, ['sae-a', 'sae-c']);
    c.body = { key_stream_id: ksid() };
    if (rng.nextBool(0.3)) c.body.index = rng.nextBool(0.2) ? null : rng.nextInt(2000);
    if (rng.nextBool(0.3)) c.body.metadata = { size: rng.nextInt(64) };
  } else if (route === 'close') {
    c.url = '/api/v1/etsi004/close';
    c.caller = pick(rng, ['sae-a', 'sae-c']);
    c.body = { key_stream_id: ksid() };
  } else if (route === 'peer') {
    c.url = '/api/v1/kme/kme-b/etsi004';
    c.caller = 'kme-b';
    const op = pick(rng, ['open', 'form', 'close', 'erase'] as const);
    c.body = { op, key_stream_id: ksid() };
    if (op === 'open')
      Object.assign(c.body, {
        sae: pick(rng, ['sae-b', 'sae-d', 'sae-a']),
        peer_sae: pick(rng, ['sae-a', 'sae-c', 'sae-b']),
        qos: {
          key_chunk_size: 32,
          max_bps: 1_000_000,
          min_bps: 0,
          jitter: 0,
          priority: 0,
          timeout: 50,
          ttl: 60,
          metadata_mimetype: 'application/json',
        },
      });
    if (op === 'form') c.body.index = rng.nextInt(100);
    if (op === 'erase')
      Object.assign(c.body, { leader_sae: 'sae-b', follower_sae: 'sae-a', key_ids: [uuid(rng), uuid(rng)] });
  } else {
    c.url = '/api/v1/qkd/etsi004/key-material';
    c.caller = 'qkd';
    const bytes = Buffer.from(Array.from({ length: 1 + rng.nextInt(64) }, () => rng.nextInt(256)));
    c.body = {
      status: rng.nextBool(0.9) ? 0 : 1 + rng.nextInt(8),
      index: rng.nextInt(1_000_000),
      key_buffer: bytes.toString('base64'),
      metadata: { size: 0, buffer: { key_stream_id: uuid(rng) } },
    };
  }
  mutate(rng, c);
  return c;
}

function mutate(rng: Rng, c: Case): void {
  if (!rng.nextBool(0.9)) return;
  const body = c.body!;
  const keys = Object.keys(body);
  const m = pick(rng, [
    'wrong caller',
    'unknown field',
    'missing field',
    'bad value',
    'bad uuid',
    'bad JSON',
    'content type',
    'wrong method',
    'unknown path',
    'query parameter',
    'oversize body',
    'bad base64',
  ] as const);
  c.mutations.push(m);
  if (m === 'wrong caller') {
    const wrong = {
      open: ['kme-b', 'qkd', 'metrics', 'nobody'],
      get: ['kme-b', 'qkd', 'nobody'],
      close: ['qkd', 'metrics', 'nobody'],
      peer: ['sae-a', 'qkd', 'nobody'],
      push: ['sae-a', 'kme-b', 'metrics', 'nobody'],
    }[c.route];
    c.caller = pick(rng, wrong);
  } else if (m === 'unknown field') body[pick(rng, ['extra', 'Key_stream_ID', 'qos2', '__proto_'])] = 1;
  else if (m === 'missing field') {
    const required = {
      open: ['source', 'destination'],
      get: ['key_stream_id'],
      close: ['key_stream_id'],
      peer: ['op', 'key_stream_id'],
      push: ['status', 'index', 'key_buffer'],
    }[c.route];
    delete body[pick(rng, required)];
  } else if (m === 'bad value') {
    const numeric = {
      open: ['source'],
      get: ['index'],
      close: ['key_stream_id'],
      peer: ['op'],
      push: ['status', 'index'],
    }[c.route];
    const f = pick(rng, numeric);
    let v = pick(rng, BAD_VALUES);
    if (c.route === 'open') v = pick(rng, [1, null, true, [], {}, '', 'x'.repeat(300)]);
    if (c.route === 'peer') v = pick(rng, ['opn', 1, null, 'OPEN']);
    if (f === 'index' && c.route === 'get' && v === null) v = -1; // null means "next index" there
    body[f] = v;
  } else if (m === 'bad uuid') {
    if (c.route === 'open') body.key_stream_id = pick(rng, BAD_UUIDS);
    else if (c.route === 'push')
      (body.metadata as { buffer: Record<string, unknown> }).buffer.key_stream_id = pick(rng, BAD_UUIDS);
    else body.key_stream_id = pick(rng, BAD_UUIDS);
  } else if (m === 'bad JSON')
    c.payload = pick(rng, ['{', '{"a":}', 'nul', '[1,2', JSON.stringify(body).slice(0, -1)]);
  else if (m === 'content type')
    c.headers['content-type'] = pick(rng, [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/xml',
    ]);
  else if (m === 'wrong method') c.method = pick(rng, ['GET', 'PUT', 'DELETE', 'PATCH']);
  else if (m === 'unknown path')
    c.url = pick(rng, [
      '/api/v1/etsi004/get_key',
      '/api/v1/etsi004/',
      '/api/v1/etsi004/open-connect/x',
      '/api/v2/etsi004/close',
      '/api/v1/qkd/etsi004/key_material',
    ]);
  else if (m === 'query parameter')
    c.url += pick(rng, ['?index=1', '?a=b', '?key_stream_id=x&key_stream_id=y']);
  else if (m === 'oversize body') c.payload = JSON.stringify({ ...body, pad: 'x'.repeat(BODY_LIMIT + 10) });
  else if (m === 'bad base64') {
    if (c.route === 'push')
      body.key_buffer = pick(rng, ['!!!!', 'AAA', 'AAAA====', 'AAAAA', 'AAB=', '', 'A'.repeat(20_000)]);
    else body.key_stream_id = 'AAAA';
  }
}

test('12,000 oracle-checked requests to the 004 routes through inject() (≥ 10,000 malformed): valid → 200/201 with a Table 2 status, forbidden → 4xx Error object, never 5xx', async () => {
  const store = KeyStore.open({ path: ':memory:' });
  const cfg = {
    id: 'kme-a',
    tls: { cert: 'x', key: 'x', ca: 'x' },
    store: ':memory:',
    saes: [{ id: 'sae-a' }, { id: 'sae-c' }],
    peers: [{ id: 'kme-b', url: 'https://127.0.0.1:1', saes: ['sae-b', 'sae-d'] }],
  };
  const core = new KmeCore(cfg, store, { send: async () => [], lookup: async () => [], close() {} });
  const service = new Etsi004Service({ core, devices: new Map([['qkd', 'kme-b']]) });
  let blocks = 0;
  const refill = () => {
    while (store.level('kme-b').mineBytes < 64 * 1024)
      store.addChunks('kme-b', chunksFor('kme-a', 'kme-b', testBlock(5, `z-${blocks++}`, 65536)));
  };
  const app = Fastify({ logger: false });
  await app.register(etsi014Plugin, {
    core,
    metrics: createKmeMetrics(core),
    identify: () => null,
    bodyLimit: BODY_LIMIT,
    etsi004: service,
    callerOfRequest: (req) => CALLERS[req.headers['x-test-caller'] as string] ?? null,
  });
  const rng = createRng(20261207).stream('fuzz-etsi004');
  const ksids: string[] = [];
  const seen = new Map<string, number>();
  try {
    for (let i = 0; i < TOTAL; i++) {
      refill();
      const c = generate(rng, ksids);
      const res = await app.inject({
        method: c.method,
        url: c.url,
        headers: { 'content-type': 'application/json', ...c.headers, 'x-test-caller': c.caller },
        ...(c.method === 'GET' ? {} : { payload: c.payload ?? JSON.stringify(c.body) }),
      } as InjectOptions);
      const what = `#${i} ${c.route} ${c.mutations.join(',') || 'valid'}: ${res.statusCode} ${res.body.slice(0, 200)}`;
      const kind = c.mutations[0] ?? 'valid';
      seen.set(kind, (seen.get(kind) ?? 0) + 1);
      assert.ok(res.statusCode < 500, what);
      const body = JSON.parse(res.body) as Record<string, unknown>;
      if (c.mutations.length === 0) {
        assert.equal(res.statusCode, c.route === 'push' ? 201 : 200, what);
        assert.ok(
          Number.isInteger(body.status) && (body.status as number) >= 0 && (body.status as number) <= 8,
          what,
        );
        if (c.route === 'open' && typeof body.key_stream_id === 'string') ksids.push(body.key_stream_id);
        assert.ok(!('message' in body), what);
      } else {
        assert.ok(res.statusCode >= 400 && res.statusCode < 500, what);
        assert.equal(typeof body.message, 'string', what);
        assert.ok(
          Object.keys(body).every((k) => k === 'message' || k === 'details'),
          what,
        );
      }
    }
  } finally {
    service.stop();
    await app.close();
    store.close();
  }
  const valid = seen.get('valid') ?? 0;
  assert.ok(TOTAL - valid >= 10_000, `only ${TOTAL - valid} malformed requests`);
  assert.ok(valid > 800, `only ${valid} valid requests`);
  for (const [k, n] of seen) assert.ok(n > 50, `${k}: only ${n}`);
  assert.equal(seen.size, 13, [...seen.keys()].join(', '));
});
