/**
 * The KME's /openapi.json against the KME itself, over real mutual TLS: requests generated from the
 * document — every documented query parameter and body field at its boundaries (minimum, maximum,
 * multipleOf) — are accepted (200), and requests the document excludes — one step outside a bound, off
 * the multiple, a JSON string where an integer is documented, a field or query parameter it does not
 * list, a missing required field — are rejected with 400. Every documented path answers its documented
 * methods and 405 for the others. The generator reads only the document, not the server's code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { createRng, type Rng } from '../common/index.ts';
import { createMtlsAgent, requestJson, type JsonAnswer } from './https-json.ts';
import type { KmeHandle } from './server.ts';
import { agentsFor, makeTestPki, startPair, testBlock, type TestPki } from './kme-pair.fixture.ts';

type Schema = {
  type?: string;
  $ref?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  pattern?: string;
  additionalProperties?: boolean;
};
type Doc = {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { name: string; in: string; schema: Schema; required?: boolean }[];
        requestBody?: { content: Record<string, { schema: Schema }> };
      }
    >
  >;
  components: { schemas: Record<string, Schema> };
};

let pki: TestPki;
let a: KmeHandle;
let b: KmeHandle;
let close: () => Promise<void>;
let doc: Doc;
let agents: ReturnType<typeof agentsFor>;
const agent = (name: string) => agents.agent(name);
let blocks = 0;
/** Tops the pool up (64-KiB blocks are stored in slices off the hot path: wait until they are). */
async function refill(): Promise<void> {
  while (a.level('kme-b').mineBytes < 256 * 1024) {
    const blk = testBlock(5, `oa-${blocks++}`, 65536);
    a.supply('kme-b', blk);
    b.supply('kme-a', blk);
    await Promise.all([a.settled(), b.settled()]);
  }
}

before(async () => {
  pki = await makeTestPki();
  agents = agentsFor(pki);
  ({ a, b, close } = await startPair(pki, {
    blocks: 0,
    extra: { keys: { maxSizeBits: 8192, maxPerRequest: 20, maxSaeIdCount: 2 } },
  }));
  doc = (await requestJson(agent('sae-a'), `${a.url}/openapi.json`, 'GET')).body as Doc;
});
after(async () => {
  agents.destroy();
  await close();
  pki.cleanup();
});

const resolve = (s: Schema): Schema => (s.$ref ? doc.components.schemas[s.$ref.split('/').pop()!]! : s);

/** Boundary values of an integer schema the document admits. */
function goodInts(s: Schema): number[] {
  const step = s.multipleOf ?? 1;
  const lo = Math.ceil((s.minimum ?? 0) / step) * step;
  const hi = Math.floor((s.maximum ?? lo + 100 * step) / step) * step;
  return [
    ...new Set(
      [lo, hi, lo + step, Math.floor((lo + hi) / 2 / step) * step].filter((v) => v >= lo && v <= hi),
    ),
  ];
}
/** Integers the document excludes: one step outside each bound, and off the multiple. */
function badInts(s: Schema): number[] {
  const out: number[] = [];
  if (s.minimum !== undefined) out.push(s.minimum - (s.multipleOf ?? 1));
  if (s.maximum !== undefined) out.push(s.maximum + (s.multipleOf ?? 1));
  if (s.multipleOf !== undefined && s.multipleOf > 1) out.push((s.minimum ?? 0) + s.multipleOf + 1);
  return out;
}

/** A valid value of `s` (`rng` picks among boundaries; arrays are minimal but non-empty when allowed). */
function valid(s0: Schema, rng: Rng, name = ''): unknown {
  const s = resolve(s0);
  if (name === 'additional_slave_SAE_IDs') return rng.nextBool() ? [] : ['sae-c'];
  if (s.type === 'integer') return goodInts(s)[rng.nextInt(goodInts(s).length)];
  if (s.type === 'string') return 'x'.repeat(Math.max(1, s.minLength ?? 1));
  if (s.type === 'array')
    return Array.from({ length: Math.max(s.minItems ?? 0, 1) }, () => valid(s.items!, rng));
  if (s.type === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(s.properties ?? {}))
      if (s.required?.includes(k) || rng.nextBool()) o[k] = valid(v, rng, k);
    return o;
  }
  return null;
}

const call = (method: 'GET' | 'POST', path: string, body?: unknown): Promise<JsonAnswer> =>
  requestJson(agent('sae-a'), `${a.url}${path}`, method, body);

function expect400(r: JsonAnswer, what: string): void {
  assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.body)}`);
  assert.match((r.body as { message: string }).message, /^Bad request format/, what);
}

test('the document covers every route the KME serves, each with a 405 for other methods', async () => {
  assert.deepEqual(Object.keys(doc.paths).sort(), [
    '/api/v1/keys/{SAE_ID}/dec_keys',
    '/api/v1/keys/{SAE_ID}/enc_keys',
    '/api/v1/keys/{SAE_ID}/status',
    '/api/v1/kme/{KME_ID}/lookup',
    '/api/v1/kme/{KME_ID}/relay',
    '/api/v1/kme/{KME_ID}/reserve',
    '/metrics',
    '/openapi.json',
  ]);
  for (const [path, ops] of Object.entries(doc.paths)) {
    const url = path.replace('{SAE_ID}', 'sae-b').replace('{KME_ID}', 'kme-b');
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await new Promise<number>((res, rej) =>
        https
          .request(
            `${a.url}${url}`,
            { method, agent: agent('sae-a') },
            (x) => (x.resume(), res(x.statusCode!)),
          )
          .on('error', rej)
          .end(),
      );
      if (method.toLowerCase() in ops) assert.notEqual(r, 405, `${method} ${path} is documented`);
      else assert.equal(r, 405, `${method} ${path} is not documented`);
    }
  }
});

test('GET enc_keys: every documented query value is accepted; values and parameters outside the document are 400', async () => {
  const op = doc.paths['/api/v1/keys/{SAE_ID}/enc_keys']!.get!;
  const q = Object.fromEntries(
    op.parameters!.filter((p) => p.in === 'query').map((p) => [p.name, resolve(p.schema)]),
  );
  assert.deepEqual(Object.keys(q).sort(), ['number', 'size']);
  assert.equal(q.size!.multipleOf, 8);
  assert.equal(q.number!.maximum, 20);
  for (const number of goodInts(q.number!))
    for (const size of goodInts(q.size!)) {
      await refill();
      const r = await call('GET', `/api/v1/keys/sae-b/enc_keys?number=${number}&size=${size}`);
      assert.equal(r.status, 200, `number=${number} size=${size}: ${JSON.stringify(r.body)}`);
      assert.equal((r.body as { keys: unknown[] }).keys.length, number);
    }
  for (const [name, s] of Object.entries(q))
    for (const v of badInts(s))
      expect400(await call('GET', `/api/v1/keys/sae-b/enc_keys?${name}=${v}`), `${name}=${v}`);
  expect400(await call('GET', '/api/v1/keys/sae-b/enc_keys?undocumented=1'), 'undocumented parameter');
});

test('POST enc_keys: generated documented bodies are accepted; each undocumented variation is 400', async () => {
  const op = doc.paths['/api/v1/keys/{SAE_ID}/enc_keys']!.post!;
  const schema = resolve(op.requestBody!.content['application/json']!.schema);
  assert.equal(schema.additionalProperties, false);
  const rng = createRng(42).stream('openapi');
  for (let i = 0; i < 40; i++) {
    await refill();
    const body = valid(schema, rng) as Record<string, unknown>;
    const r = await call('POST', '/api/v1/keys/sae-b/enc_keys', body);
    assert.equal(r.status, 200, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
  }
  for (const [name, s0] of Object.entries(schema.properties!)) {
    const s = resolve(s0);
    const bad: unknown[] = [];
    if (s.type === 'integer') bad.push(...badInts(s), String(goodInts(s)[0]), goodInts(s)[0]! + 0.5);
    if (s.type === 'array') bad.push('not-an-array', { a: 1 });
    if (s.type === 'array' && s.maxItems !== undefined)
      bad.push(Array.from({ length: s.maxItems + 1 }, (_, k) => `s-${k}`));
    for (const v of bad)
      expect400(
        await call('POST', '/api/v1/keys/sae-b/enc_keys', { [name]: v }),
        `${name}=${JSON.stringify(v)}`,
      );
  }
  expect400(await call('POST', '/api/v1/keys/sae-b/enc_keys', { undocumented: 1 }), 'undocumented field');
});

test('dec_keys: the documented Key IDs body and key_ID query are accepted; anything else is 400', async () => {
  await refill();
  const ids = (
    (await call('POST', '/api/v1/keys/sae-c/enc_keys', { number: 3 })).body as { keys: { key_ID: string }[] }
  ).keys.map((k) => k.key_ID);
  const post = doc.paths['/api/v1/keys/{SAE_ID}/dec_keys']!.post!;
  const schema = resolve(post.requestBody!.content['application/json']!.schema);
  assert.deepEqual(schema.required, ['key_IDs']);
  assert.equal(schema.properties!.key_IDs!.maxItems, 20);
  const asC = (method: 'GET' | 'POST', path: string, body?: unknown) =>
    requestJson(agent('sae-c'), `${a.url}${path}`, method, body);
  assert.equal(
    (await asC('POST', '/api/v1/keys/sae-a/dec_keys', { key_IDs: [{ key_ID: ids[0] }] })).status,
    200,
  );
  assert.equal((await asC('GET', `/api/v1/keys/sae-a/dec_keys?key_ID=${ids[1]}`)).status, 200);
  for (const body of [
    {},
    { key_IDs: [] },
    { key_IDs: [{ key_ID: ids[2], other: 1 }] },
    { key_IDs: [{ key_ID: 'not-a-uuid' }] },
    { key_IDs: [{ key_ID: ids[2] }], more: true },
    { key_IDs: Array.from({ length: 21 }, () => ({ key_ID: ids[2] })) },
  ])
    expect400(await asC('POST', '/api/v1/keys/sae-a/dec_keys', body), JSON.stringify(body).slice(0, 80));
  expect400(
    await asC('GET', `/api/v1/keys/sae-a/dec_keys?key_ID=${ids[2]}&number=1`),
    'undocumented parameter',
  );
  expect400(await asC('GET', '/api/v1/keys/sae-a/dec_keys'), 'missing required key_ID');
  assert.equal((await asC('GET', `/api/v1/keys/sae-a/dec_keys?key_ID=${ids[2]}`)).status, 200); // untouched by the 400s
});
