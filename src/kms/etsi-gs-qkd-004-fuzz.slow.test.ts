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
import { createRng, type Rng } from '../common/index.ts';
import { Etsi004Service } from './etsi-gs-qkd-004-service.ts';
import {
  assertErrorObject,
  assertMix,
  fuzzUuid as uuid,
  pick,
  runFuzz,
  startFuzzKme,
  viaInject,
} from './fuzz.fixture.ts';
import type { FuzzAnswer, FuzzCaller, FuzzCase } from './fuzz.fixture.ts';

const TOTAL = 12_000;
const BODY_LIMIT = 16_384;
const BAD_VALUES: unknown[] = ['1', 1.5, -1, 4294967296, null, true, [], {}, 'x'.repeat(300)];
const BAD_UUIDS = ['', 'nope', '123', '0000-0000', 'g'.repeat(36), '{00000000-0000-4000-8000-000000000000}'];

interface Case extends FuzzCase {
  caller: FuzzCaller;
  body: Record<string, unknown> | undefined;
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
  c.headers = { 'content-type': 'application/json', ...c.headers };
  if (c.method !== 'GET') c.payload ??= JSON.stringify(c.body);
  return c;
}

/** The oracle: valid → 200 (201 for key-material) with a Table 2 status; mutated → 4xx Error object. */
function judge(c: Case, { status, text }: FuzzAnswer, i: number): void {
  const what = `#${i} ${c.route} ${c.mutations.join(',') || 'valid'}: ${status} ${text.slice(0, 200)}`;
  assert.ok(status < 500, what);
  if (c.mutations.length > 0) {
    assert.ok(status >= 400 && status < 500, what);
    assertErrorObject(text, what);
    return;
  }
  const body = JSON.parse(text) as Record<string, unknown>;
  assert.equal(status, c.route === 'push' ? 201 : 200, what);
  assert.ok(
    Number.isInteger(body.status) && (body.status as number) >= 0 && (body.status as number) <= 8,
    what,
  );
  assert.ok(!('message' in body), what);
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
    const wrong = (
      {
        open: ['kme-b', 'qkd', 'metrics', 'stranger'],
        get: ['kme-b', 'qkd', 'stranger'],
        close: ['qkd', 'metrics', 'stranger'],
        peer: ['sae-a', 'qkd', 'stranger'],
        push: ['sae-a', 'kme-b', 'metrics', 'stranger'],
      } as const
    )[c.route];
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
  let service: Etsi004Service | undefined;
  const kme = await startFuzzKme({
    refillSeed: 5,
    plugin: (core) => {
      service = new Etsi004Service({ core, devices: new Map([['qkd', 'kme-b']]) });
      return { bodyLimit: BODY_LIMIT, etsi004: service };
    },
  });
  const rng = createRng(20261207).stream('fuzz-etsi004');
  const ksids: string[] = [];
  let seen: Map<string, number>;
  try {
    seen = await runFuzz({
      total: TOTAL,
      generate: () => generate(rng, ksids),
      before: kme.refill,
      send: viaInject(kme.app),
      judge,
      after: (c, a) => {
        if (c.route !== 'open' || c.mutations.length > 0) return;
        const { key_stream_id: id } = JSON.parse(a.text) as { key_stream_id?: unknown };
        if (typeof id === 'string') ksids.push(id);
      },
    });
  } finally {
    service?.stop();
    await kme.close();
  }
  assertMix(seen, TOTAL, { malformed: 10_000, valid: 800 });
  for (const [k, n] of seen) assert.ok(n > 50, `${k}: only ${n}`);
  assert.equal(seen.size, 13, [...seen.keys()].join(', '));
});
