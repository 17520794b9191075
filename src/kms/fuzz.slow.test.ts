/**
 * Fuzz of the ETSI 014 routes with an oracle. Each request starts from a valid one (a status, enc_keys
 * GET/POST, dec_keys GET/POST of a key actually issued) and receives zero or more mutations, each of
 * which the spec forbids: a wrong caller, an unknown or repeated query parameter, a non-decimal or
 * out-of-range number or size, an unknown body field, a JSON type off by a string or a float, bad JSON,
 * a wrong content type, a wrong method, an unknown path, an oversize body, an unsupported mandatory
 * extension, an unknown or malformed key_ID, too many or repeated slaves. Unmutated requests must get
 * 200 (the pool is refilled so exhaustion never excuses a failure); mutated ones a 4xx with the spec's
 * Error object — never a 2xx, never a 5xx. 14,000 requests through `inject()` (over 10,000 of them
 * malformed) and 1,200 over real mutual-TLS sockets (where the caller is a real certificate). Seeded:
 * the same requests every run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, type Rng } from '../common/index.ts';
import type { KmeHandle } from './server.ts';
import { agentsFor, makeTestPki, startPair, testBlock, type TestPki } from './kme-pair.fixture.ts';
import {
  assertErrorObject,
  assertMix,
  pick,
  runFuzz,
  startFuzzKme,
  viaInject,
  viaSocket,
} from './fuzz.fixture.ts';
import type { FuzzAnswer, FuzzCaller, FuzzCase } from './fuzz.fixture.ts';

const LIMITS = { maxSizeBits: 4096, maxPerRequest: 16, maxSaeIdCount: 2 };
const CALLERS = [
  'sae-a',
  'sae-c',
  'kme-b',
  'metrics',
  'stranger',
  'sae-b-elsewhere',
] as const satisfies FuzzCaller[];
type CallerName = (typeof CALLERS)[number];

/** One generated request, with the mutations applied (empty: the request is valid). */
interface Case extends FuzzCase {
  caller: CallerName;
  /** Issues a key for a local slave (sae-c): its key_ID feeds later dec_keys cases. */
  issuesLocal: boolean;
}

const BAD_NUMBERS = ['0', '-1', '1.5', '1e1', '0x10', '', 'abc', '01', '+2', '17', '99999999999999999999'];
const BAD_SIZES = ['0', '7', '12', '-8', '4104', '8.0', '256 ', 'NaN', '1e2', '0256'];
const BAD_EXTENSIONS: unknown[] = ['2', 2.5, -1, null, true, {}, [1], ['x'], [null], [[]]];
const UNKNOWN_PARAMS = [
  'additional_slave_SAE_IDs',
  'extension_mandatory',
  'foo',
  'key_ID',
  'number2',
  'Size',
];

/** Generates one case from `rng`, given key_IDs issued to sae-a for slave sae-c. */
function generate(rng: Rng, localKeys: string[]): Case {
  const kind = pick(rng, ['status', 'encGet', 'encPost', 'encPost', 'decGet', 'decPost'] as const);
  const mutations: string[] = [];
  const mutate = (p: number, name: string) =>
    rng.nextBool(Math.min(1, 2 * p)) && (mutations.push(name), true);
  const c: Case = { caller: 'sae-a', method: 'GET', url: '', headers: {}, mutations, issuesLocal: false };
  const query: [string, string][] = [];
  let body: Record<string, unknown> | undefined;
  const slave = pick(rng, ['sae-b', 'sae-c']);
  const n = 1 + rng.nextInt(LIMITS.maxPerRequest);
  const size = 8 * (1 + rng.nextInt(LIMITS.maxSizeBits / 8));
  if (kind === 'status') c.url = `/api/v1/keys/${slave}/status`;
  if (kind === 'encGet') {
    c.url = `/api/v1/keys/${slave}/enc_keys`;
    if (rng.nextBool()) query.push(['number', String(n)]);
    if (rng.nextBool()) query.push(['size', String(size)]);
    c.issuesLocal = slave === 'sae-c';
    if (mutate(0.15, 'bad number')) query.push(['number', pick(rng, BAD_NUMBERS)]);
    if (mutate(0.15, 'bad size')) query.push(['size', pick(rng, BAD_SIZES)]);
  }
  if (kind === 'encPost') {
    c.method = 'POST';
    c.url = `/api/v1/keys/sae-b/enc_keys`;
    body = {};
    if (rng.nextBool()) body.number = n;
    if (rng.nextBool()) body.size = size;
    if (rng.nextBool()) body.additional_slave_SAE_IDs = ['sae-d'];
    if (rng.nextBool(0.3)) body.extension_optional = [{ vendor_hint: rng.nextInt(9) }];
    if (rng.nextBool(0.3)) body.extension_mandatory = [{ qkdnet_min_provenance: 'qkd' }];
    if (mutate(0.1, 'string or float number')) body.number = pick(rng, ['2', 2.5, 1.0000001, -3, 0, 17]);
    if (mutate(0.1, 'bad size')) body.size = pick(rng, ['256', 12, 0, 4104, 64.5, null]);
    if (mutate(0.08, 'unknown field')) body[pick(rng, ['Number', 'sizes', 'key_IDs', 'x'])] = 1;
    if (mutate(0.08, 'unsupported mandatory extension'))
      body.extension_mandatory = [{ [pick(rng, ['route', 'x_vendor', 'qos'])]: 1 }];
    if (mutate(0.05, 'bad extension shape')) body.extension_optional = pick(rng, BAD_EXTENSIONS);
    if (mutate(0.06, 'bad slaves'))
      body.additional_slave_SAE_IDs = pick(rng, [
        ['sae-d', 'sae-d'],
        ['sae-d', 'sae-b', 'sae-x'],
        ['ghost'],
        'sae-d',
        [7],
        ['sae-a'],
      ]);
  }
  if (kind === 'decGet' || kind === 'decPost') {
    const id = localKeys.length > 0 && !rng.nextBool(0.05) ? localKeys.pop()! : undefined;
    c.caller = 'sae-c';
    c.url = '/api/v1/keys/sae-a/dec_keys';
    const unknown = '00000000-0000-4000-8000-00000000000f';
    if (id === undefined) mutations.push('unknown key_ID');
    const keyId = mutate(0.05, 'malformed key_ID') ? pick(rng, ['not-a-uuid', '', unknown.slice(1)]) : id;
    if (kind === 'decGet') query.push(['key_ID', keyId ?? unknown]);
    else {
      c.method = 'POST';
      body = { key_IDs: [{ key_ID: keyId ?? unknown }] };
      if (mutate(0.05, 'key_ID_extension'))
        body.key_IDs = [{ key_ID: keyId ?? unknown, key_ID_extension: { a: 1 } }];
      if (mutate(0.05, 'extra key field')) body.key_IDs = [{ key_ID: keyId ?? unknown, note: 'x' }];
      if (mutate(0.05, 'empty key_IDs')) body.key_IDs = [];
    }
    // a key consumed by a mutated request is gone; a valid one is consumed once and never returned
  }
  if (mutate(0.08, 'unknown query parameter'))
    query.push([pick(rng, UNKNOWN_PARAMS), pick(rng, ['1', 'sae-c', ''])]);
  if (query.length > 0 && mutate(0.04, 'repeated parameter')) query.push(query[0]!);
  if (mutate(0.06, 'wrong caller'))
    c.caller = pick(
      rng,
      CALLERS.filter((x) => x !== 'sae-a' && x !== 'sae-c' && x !== c.caller),
    );
  if (kind === 'decGet' || kind === 'decPost') {
    if (mutate(0.03, 'wrong master')) c.url = '/api/v1/keys/sae-b/dec_keys';
  } else if (mutate(0.03, 'unknown slave')) c.url = c.url.replace(/sae-[bc]\//, 'sae-zz/');
  if (mutate(0.03, 'unknown path'))
    c.url = c.url.replace(/[a-z_]+$/, pick(rng, ['enc_key', 'keys', 'Status']));
  if (mutate(0.04, 'wrong method'))
    c.method = pick(rng, [
      'PUT',
      'DELETE',
      'PATCH',
      'HEAD',
      ...(c.method === 'GET' && kind === 'status' ? ['POST'] : []),
    ]);
  if (query.length > 0) c.url += `?${query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`;
  if (c.method === 'POST' || c.method === 'PUT' || c.method === 'PATCH') {
    let text = JSON.stringify(body ?? {});
    let type = 'application/json';
    if (body !== undefined && mutate(0.04, 'bad JSON'))
      text = pick(rng, ['{', '{"number":', '[', '{"a":1}}', text.slice(0, -1)]);
    if (body !== undefined && mutate(0.03, 'not an object'))
      text = JSON.stringify(pick(rng, [[], 3, 'x', null]));
    if (body !== undefined && mutate(0.03, 'wrong content type'))
      type = pick(rng, ['text/plain', 'application/xml']);
    if (body !== undefined && mutate(0.01, 'oversize body')) text = `{"x":"${'y'.repeat((1 << 20) + 10)}"}`;
    c.payload = text;
    c.headers['content-type'] = type;
  }
  c.issuesLocal = c.issuesLocal && mutations.length === 0;
  return c;
}

/** The oracle: valid → 200; mutated → 4xx with the Error object; never 5xx. */
function judge(c: Case, { status, text }: FuzzAnswer, i: number): void {
  const where = `#${i} ${c.method} ${c.url.slice(0, 90)} as ${c.caller}`;
  if (c.mutations.length === 0) {
    assert.equal(status, 200, `${where}: a valid request got ${status} ${text.slice(0, 200)}`);
    return;
  }
  assert.ok(
    [400, 401, 404, 405, 413].includes(status),
    `${where}: forbidden (${c.mutations.join(', ')}) got ${status} ${text.slice(0, 200)}`,
  );
  if (c.method !== 'HEAD') assertErrorObject(text, where); // no body in a HEAD answer
}

/** After a valid enc_keys for local slave sae-c: its key_IDs feed later dec_keys cases. */
const keepLocal = (localKeys: string[]) => (c: Case, a: FuzzAnswer) => {
  if (c.issuesLocal)
    for (const k of (JSON.parse(a.text) as { keys: { key_ID: string }[] }).keys) localKeys.push(k.key_ID);
};

let pki: TestPki;
before(async () => {
  pki = await makeTestPki();
});
after(() => pki.cleanup());

test('14,000 oracle-checked requests through inject() (≥ 10,000 malformed): valid → 200, forbidden → 4xx Error object, never 5xx', async () => {
  const kme = await startFuzzKme({
    keys: LIMITS,
    refillSeed: 3,
    fastify: { routerOptions: { maxParamLength: 1024 } },
  });
  const rng = createRng(20261207).stream('fuzz-inject');
  const localKeys: string[] = [];
  let seen: Map<string, number>;
  try {
    seen = await runFuzz({
      total: 14_000,
      generate: () => generate(rng, localKeys),
      before: kme.refill,
      send: viaInject(kme.app),
      judge,
      after: keepLocal(localKeys),
    });
  } finally {
    await kme.close();
  }
  assertMix(seen, 14_000, { malformed: 10_000, valid: 2000 });
  // every class of mutation was exercised, and valid requests are a good share of the run
  for (const m of [
    'valid',
    'unknown query parameter',
    'wrong caller',
    'wrong method',
    'bad number',
    'bad JSON',
    'oversize body',
  ])
    assert.ok((seen.get(m) ?? 0) > 10, `${m}: only ${seen.get(m) ?? 0}`);
  assert.ok((seen.get('unknown query parameter') ?? 0) + (seen.get('repeated parameter') ?? 0) > 500);
});

test('1,200 oracle-checked requests over real mutual-TLS sockets, callers being real certificates', async () => {
  const pair = await startPair(pki, { blocks: 4, bytes: 65536, extra: { keys: LIMITS } });
  const agents = agentsFor(pki);
  let blocks = 0;
  const refill = async (a: KmeHandle, b: KmeHandle) => {
    while (a.level('kme-b').mineBytes < 64 * 1024) {
      const blk = testBlock(11, `s-${blocks++}`, 65536);
      a.supply('kme-b', blk);
      b.supply('kme-a', blk);
      await Promise.all([a.settled(), b.settled()]); // 64-KiB blocks are stored in slices
    }
  };
  try {
    const rng = createRng(7).stream('fuzz-socket');
    const localKeys: string[] = [];
    await runFuzz({
      total: 1200,
      generate: () => generate(rng, localKeys),
      before: () => refill(pair.a, pair.b),
      send: viaSocket(pair.a.url, agents),
      judge,
      after: keepLocal(localKeys),
    });
  } finally {
    agents.destroy();
    await pair.close();
  }
});
