/**
 * Fuzz of the ETSI 014 routes: 12,000 malformed requests through `inject()` (bad JSON, wrong types,
 * huge/negative/fractional numbers, bad UUIDs, long and odd paths, wrong methods and content types) and
 * 600 more over real mutual-TLS sockets. Every answer must be 200 or a spec error object with 400, 401,
 * 404 or 503 (503 only for exhausted key material) — never a 500, never a crash; the KME still serves a
 * well-formed request afterwards. Seeded: the same requests every run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import { createRng, type Rng } from '../common/index.ts';
import { KmeCore } from './core.ts';
import { createKmeMetrics } from './metrics.ts';
import { etsi014Plugin, type CallerIdentity } from './plugin.ts';
import { KeyStore } from './store.ts';
import { chunksFor } from './supply.ts';
import { createMtlsAgent, requestJson } from './https-json.ts';
import { makeTestPki, startPair, testBlock, type TestPki } from './testing.ts';

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.nextInt(xs.length)]!;
const SAES = [
  'sae-a',
  'sae-b',
  'sae-c',
  'sae-d',
  '',
  'x'.repeat(300),
  '%00',
  '..%2F..',
  'ä€😀',
  'sae-b%20',
  '*',
  "'; drop",
];
const NUMS = [
  '1',
  '0',
  '-1',
  '1.5',
  '1e3',
  '1e999',
  '99999999999999999999',
  'NaN',
  '',
  'abc',
  '0x10',
  '8',
  '256',
  '7',
  '65536',
  '65544',
];
const JUNK: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  'str',
  [],
  {},
  [1, 2],
  { a: 1 },
  '0'.repeat(10000),
];

function uuidish(rng: Rng): string {
  const good = '2ed6657d-e927-568b-95e1-2665a8aea6a2';
  return pick(rng, [
    good,
    good.toUpperCase(),
    good.slice(0, 35),
    `${good}0`,
    'not-a-uuid',
    '',
    good.replace(/-/g, ''),
    '0'.repeat(5000),
  ]);
}

function body(rng: Rng, route: 'enc' | 'dec'): { payload: string; type: string } {
  const r = rng.nextInt(10);
  const type = pick(rng, [
    'application/json',
    'application/json',
    'application/json',
    'text/plain',
    'application/x-www-form-urlencoded',
  ]);
  if (r === 0)
    return {
      payload: pick(rng, ['{', '{"number":', '[', 'nul', '{"a":1}}', '\u0000', '{"number":1,}']),
      type,
    };
  if (r === 1) return { payload: JSON.stringify(pick(rng, JUNK)), type };
  if (r === 2) return { payload: '['.repeat(5000) + ']'.repeat(5000), type };
  const v = () => pick(rng, [...JUNK, 1, 2, 8, 256, 512, 1000, 1001, 12, -8]);
  const o: Record<string, unknown> =
    route === 'enc'
      ? {
          number: v(),
          size: v(),
          additional_slave_SAE_IDs: pick(rng, [v(), [pick(rng, SAES)], [v()], Array(20).fill('sae-c')]),
          extension_mandatory: pick(rng, [
            v(),
            [{ [pick(rng, ['x', 'qkdnet_min_provenance'])]: v() }],
            [v()],
          ]),
          extension_optional: pick(rng, [v(), [{ y: v() }]]),
        }
      : {
          key_IDs: pick(rng, [
            v(),
            [],
            [{ key_ID: uuidish(rng) }],
            [{ key_ID: v() }],
            [{ key_ID: uuidish(rng), key_ID_extension: v() }],
          ]),
          key_IDs_extension: v(),
        };
  for (const k of Object.keys(o)) if (rng.nextBool(0.5)) delete o[k];
  return { payload: JSON.stringify(o), type };
}

/** One random malformed-or-not request. */
function request(rng: Rng): {
  method: string;
  url: string;
  payload?: string;
  headers?: Record<string, string>;
} {
  const sae = encodeURIComponent(pick(rng, SAES));
  const method = pick(rng, ['GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH']);
  const route = pick(rng, ['status', 'enc_keys', 'enc_keys', 'dec_keys', 'dec_keys', 'nope', '']);
  let url = `/api/v1/keys/${rng.nextBool(0.05) ? 'a/'.repeat(2000) : sae}/${route}`;
  if (route === 'enc_keys' && rng.nextBool()) url += `?number=${pick(rng, NUMS)}&size=${pick(rng, NUMS)}`;
  if (route === 'dec_keys' && rng.nextBool())
    url += `?key_ID=${uuidish(rng)}${rng.nextBool(0.2) ? '&key_ID=x' : ''}`;
  if (rng.nextBool(0.03))
    url = pick(rng, [
      '/',
      '/api',
      '/api/v1/kme/kme-b/reserve',
      '/api/v1/kme/kme-b/lookup',
      '/%',
      '/api/v1/keys//status',
    ]);
  if (method === 'GET' || method === 'DELETE') return { method, url };
  const b = body(rng, route === 'dec_keys' ? 'dec' : 'enc');
  return { method, url, payload: b.payload, headers: { 'content-type': b.type } };
}

function check(status: number, text: string, where: string): void {
  if (process.env.FUZZ_DEBUG && ![200, 400, 401, 404, 405, 413, 503].includes(status))
    console.log(status, where, text.slice(0, 200));
  assert.ok([200, 400, 401, 404, 405, 413, 503].includes(status), `${where}: status ${status}`);
  if (status === 200) return;
  const e = JSON.parse(text) as { message?: unknown };
  assert.equal(typeof e.message, 'string', `${where}: no spec error object`);
  if (status === 503) assert.match(e.message as string, /Cannot form|no link/, `${where}: unexpected 503`);
}

const CALLERS: readonly CallerIdentity[] = [
  { kind: 'sae', id: 'sae-a' },
  { kind: 'sae', id: 'sae-c' },
  { kind: 'kme', id: 'kme-b' },
  null,
];
let app: FastifyInstance;
let store: KeyStore;
let pki: TestPki;

before(async () => {
  store = KeyStore.open({ path: ':memory:' });
  const cfg = {
    id: 'kme-a',
    tls: { cert: 'x', key: 'x', ca: 'x' },
    store: ':memory:',
    saes: [{ id: 'sae-a' }, { id: 'sae-c' }],
    peers: [{ id: 'kme-b', url: 'https://127.0.0.1:1', saes: ['sae-b', 'sae-d'] }],
  };
  const core = new KmeCore(cfg, store, { send: async () => [], lookup: async () => [], close() {} });
  for (let i = 0; i < 8; i++)
    store.addChunks('kme-b', chunksFor('kme-a', 'kme-b', testBlock(3, `f-${i}`, 65536)));
  app = Fastify({ logger: false, routerOptions: { maxParamLength: 1024 } });
  const rng = createRng(99).stream('caller');
  await app.register(etsi014Plugin, {
    core,
    metrics: createKmeMetrics(core),
    identify: () => null,
    callerOfRequest: () => pick(rng, CALLERS),
  });
  pki = await makeTestPki();
});

after(async () => {
  await app.close();
  store.close();
  pki.cleanup();
});

test('12,000 fuzzed requests through inject() get 200 or a spec error, never a 5xx other than exhaustion', async () => {
  const rng = createRng(20261123).stream('fuzz-inject');
  const seen = new Map<number, number>();
  for (let i = 0; i < 12_000; i++) {
    const r = request(rng);
    const res = await app.inject(r as InjectOptions);
    seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
    check(res.statusCode, res.body, `#${i} ${r.method} ${r.url.slice(0, 80)}`);
  }
  // The generator reaches every class of answer (otherwise the fuzz is not exercising the routes).
  for (const s of [200, 400, 401, 404]) assert.ok((seen.get(s) ?? 0) > 0, `no ${s} seen`);
  const ok = await app.inject({ method: 'GET', url: '/api/v1/keys/sae-b/enc_keys' });
  assert.ok([200, 401].includes(ok.statusCode));
});

test('600 fuzzed requests over real mutual-TLS sockets get spec answers and the KME keeps serving', async () => {
  const pair = await startPair(pki, { blocks: 4 });
  const t = pki.tls('sae-a');
  const agent = createMtlsAgent({
    cert: readFileSync(t.cert),
    key: readFileSync(t.key),
    ca: readFileSync(t.ca),
  });
  try {
    const rng = createRng(7).stream('fuzz-socket');
    for (let i = 0; i < 600; i++) {
      const r = request(rng);
      const res = await rawRequest(agent, `${pair.a.url}${r.url}`, r);
      check(res.status, res.text, `#${i} ${r.method} ${r.url.slice(0, 80)}`);
    }
    const ok = await requestJson(agent, `${pair.a.url}/api/v1/keys/sae-b/enc_keys`, 'GET');
    assert.equal(ok.status, 200);
  } finally {
    agent.destroy();
    await pair.close();
  }
});

async function rawRequest(
  agent: ReturnType<typeof createMtlsAgent>,
  url: string,
  r: { method: string; payload?: string; headers?: Record<string, string> },
): Promise<{ status: number; text: string }> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: r.method, agent, headers: r.headers ?? {} }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(r.payload);
  });
}
