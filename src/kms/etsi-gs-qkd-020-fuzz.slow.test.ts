/**
 * Fuzz of the ETSI GS QKD 020 V1.1.1 routes with an oracle. Each request starts from a valid one
 * (`get_versions`, `post-ext_keys` in either mode, `post_ext_keys_ack` of an awaited key,
 * `post_ext_keys_void`) and receives zero or more mutations the specification or this KME's stated
 * limits forbid: a caller that is not a peer KME, a missing required property, an unknown property, a
 * JSON type swapped, a malformed key_id, a non-canonical base64 value, an SAE ID too long or with a
 * character outside RFC 3986, an unknown target SAE, an http:// callback, an extension name without
 * E<PEN>_ (or with ETSI's reserved 13019), an empty extension object, a repeated key_id, an unknown
 * ack_status, a void of no keys without all_confirmation, bad JSON, a wrong content type, a query
 * parameter, a wrong method, an unknown path. Unmutated requests must get their 200/202; mutated ones a
 * 4xx RFC 9457 problem (type, matching status, details of strings) — never a 2xx, never a 5xx, and never
 * a submitted key value echoed. 10,500 requests through `inject()` and 300 over real mutual-TLS sockets.
 * Seeded: the same requests every run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, type Rng } from '../common/index.ts';
import { Etsi020Endpoint } from './etsi-gs-qkd-020-endpoint.ts';
import type { KmeHandle } from './server.ts';
import { agentsFor, makeTestPki, startPair, type TestPki } from './kme-pair.fixture.ts';
import { fuzzUuid, pick, runFuzz, startFuzzKme, viaInject, viaSocket } from './fuzz.fixture.ts';
import type { FuzzAnswer, FuzzCaller, FuzzCase } from './fuzz.fixture.ts';

const CALLERS = ['kme-b', 'sae-a', 'metrics', 'stranger'] as const satisfies FuzzCaller[];
type CallerName = (typeof CALLERS)[number];

/** One generated request (`mutations` empty: valid). */
interface Case extends FuzzCase {
  caller: CallerName;
  /** Key values in the payload (must never come back). */
  values: string[];
  expect: number;
  /** Key IDs this case needs awaited at the KME before it is sent (a valid ack). */
  awaits: string[];
}

const uuid = (rng: Rng) => fuzzUuid(rng, 'a');
function value(rng: Rng): string {
  return Buffer.from(Array.from({ length: 32 }, () => rng.nextInt(256))).toString('base64');
}

const BAD_SAE = ['', 'x'.repeat(65), 'has space', 'quote"', 'brace{', 'pct%zz', 7, null, ['sae-b']];
const BAD_UUID = [
  '',
  'not-a-uuid',
  '550e8400e29b41d4a716446655440000',
  '550e8400-e29b-41d4-a716-44665544000g',
  5,
  null,
];
const BAD_VALUE = ['', 'AB==', 'AAA', 'A===', '====', '!!!!', 'AAAA\n', 'AA=A', 12, null, ['AAAA']];
const BAD_EXT: unknown[] = [
  {},
  { vendor: 1 },
  { E13019_x: 1 },
  { E0_x: 1 },
  { E01_x: 1 },
  { E32473: 1 },
  [1],
  'x',
  3,
  null,
];
// None of these is ever the right type of the property it replaces (so a swap never yields a valid body).
const TYPES: unknown[] = [1, 1.5, null, {}, []];

function generate(rng: Rng, n: number): Case {
  const kind = pick(rng, ['versions', 'ext', 'ext', 'extSync', 'ack', 'void', 'voidAsync'] as const);
  const mutations: string[] = [];
  const values: string[] = [];
  const awaits: string[] = [];
  let body: Record<string, unknown> | unknown[] | undefined;
  let url = '/kmapi/v1/ext_keys';
  let method = 'POST';
  let expect = 202;
  const cb = 'https://127.0.0.1:1/kmapi/v1/ext_keys/ack';
  if (kind === 'versions') {
    url = '/kmapi/versions';
    method = 'GET';
    expect = 200;
  } else if (kind === 'ext' || kind === 'extSync') {
    const keys = Array.from({ length: 1 + rng.nextInt(3) }, () => ({ key_id: uuid(rng), value: value(rng) }));
    values.push(...keys.map((k) => k.value));
    body = { keys, initiator_sae_id: 'sae-b', target_sae_ids: ['sae-a'] };
    if (kind === 'ext') body.ack_callback_url = cb;
    else expect = 200;
    if (rng.nextFloat() < 0.2) body.extension_optional = { E32473_qos_session: `s${n}` };
  } else if (kind === 'ack') {
    url = '/kmapi/v1/ext_keys/ack';
    expect = 200;
    const id = uuid(rng);
    awaits.push(id);
    body = [
      {
        key_id_container: [{ key_id: id }],
        ack_status: pick(rng, ['relayed', 'failed', 'voided', 'failed to void', 'key not present']),
        initiator_sae_id: 'sae-a',
        target_sae_ids: ['sae-b'],
      },
    ];
  } else {
    url = '/kmapi/v1/ext_keys/void';
    expect = kind === 'voidAsync' ? 202 : 200;
    body = { key_ids: [uuid(rng)], initiator_sae_id: 'sae-b', target_sae_ids: ['sae-a'] };
    if (kind === 'voidAsync') body.ack_callback_url = cb;
  }
  const obj = () => (Array.isArray(body) ? (body[0] as Record<string, unknown>) : body!);
  /** The first entry of array property `p` (a fresh sink when an earlier mutation broke the array). */
  const firstOf = (p: string): Record<string, unknown> => {
    const a = obj()[p];
    const e = Array.isArray(a) ? (a[0] as unknown) : undefined;
    return e && typeof e === 'object' && !Array.isArray(e) ? (e as Record<string, unknown>) : {};
  };
  let caller: CallerName = 'kme-b';
  const rightMethod = method;
  let text: string | undefined;
  let contentType = 'application/json; charset=UTF-8';
  const count = rng.nextFloat() < 0.08 ? 0 : 1 + rng.nextInt(2);
  for (let i = 0; i < count; i++) {
    const m = pick(rng, [
      'caller',
      'method',
      'path',
      'query',
      ...(body !== undefined
        ? (['drop', 'unknown', 'type', 'sae', 'json', 'ctype', 'ext', 'bodyShape'] as const)
        : []),
      ...(kind === 'ext' || kind === 'extSync'
        ? (['keyId', 'value', 'target', 'callback', 'dupKey'] as const)
        : []),
      ...(kind === 'ack' ? (['status', 'ackKey'] as const) : []),
      ...(kind === 'void' || kind === 'voidAsync' ? (['emptyVoid', 'voidId', 'callback'] as const) : []),
    ]);
    if (m === 'caller') {
      caller = pick(
        rng,
        kind === 'versions' ? (['stranger'] as const) : (['sae-a', 'metrics', 'stranger'] as const),
      );
    } else if (m === 'method')
      method = pick(
        rng,
        ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'].filter((x) => x !== rightMethod),
      );
    else if (m === 'path')
      url = pick(rng, [
        '/kmapi/v2/ext_keys',
        '/kmapi/v1/ext_keys/',
        '/kmapi/v1/ext_key',
        '/kmapi/v1/ext_keys/acks',
        '/kmapi/version',
      ]);
    else if (m === 'query') url += pick(rng, ['?x=1', '?key_id=1', '?versions=v1&x=2']);
    else if (m === 'drop') {
      const o = obj();
      const required = [
        'keys',
        'key_ids',
        'key_id_container',
        'ack_status',
        'initiator_sae_id',
        'target_sae_ids',
      ];
      const req = Object.keys(o).filter((k) => required.includes(k));
      if (req.length > 0) delete o[pick(rng, req)];
      else o.surplus = 1; // nothing left to drop: an unknown property instead
    } else if (m === 'unknown')
      obj()[pick(rng, ['keys2', 'Key_ids', 'extension_x', 'status', 'initiator'])] = 1;
    else if (m === 'type') {
      const o = obj();
      o[pick(rng, Object.keys(o))] = pick(rng, TYPES);
    } else if (m === 'sae') {
      const o = obj();
      if (rng.nextFloat() < 0.5) o.initiator_sae_id = pick(rng, BAD_SAE);
      else o.target_sae_ids = rng.nextFloat() < 0.3 ? [] : [pick(rng, BAD_SAE)];
    } else if (m === 'ext') {
      const o = obj();
      o[
        pick(
          rng,
          kind === 'ext' || kind === 'extSync'
            ? ['extension_optional', 'extension_mandatory']
            : ['extension'],
        )
      ] = pick(rng, BAD_EXT);
    } else if (m === 'bodyShape') {
      if (mutations.includes('bodyShape'))
        obj().surplus = 1; // a second swap would undo the first
      else body = Array.isArray(body) ? { ...obj() } : [obj()];
    } else if (m === 'keyId') firstOf('keys').key_id = pick(rng, BAD_UUID);
    else if (m === 'value') firstOf('keys').value = pick(rng, BAD_VALUE);
    else if (m === 'target') obj().target_sae_ids = [pick(rng, ['sae-z', 'sae-b', 'kme-a'])];
    else if (m === 'callback')
      obj().ack_callback_url = pick(rng, ['http://127.0.0.1/ack', 'ftp://x/y', 'https://', 'kme-a', '']);
    else if (m === 'dupKey') {
      const k = firstOf('keys');
      if (Array.isArray(obj().keys)) (obj().keys as unknown[]).push({ ...k });
    } else if (m === 'status') obj().ack_status = pick(rng, ['done', 'Relayed', '', 'relayed ', 1]);
    else if (m === 'ackKey') {
      firstOf('key_id_container').key_id = pick(rng, [uuid(rng), ...BAD_UUID]);
      awaits.length = 0;
    } else if (m === 'emptyVoid') {
      obj().key_ids = [];
      if (rng.nextFloat() < 0.5) obj().all_confirmation = false;
    } else if (m === 'voidId') obj().key_ids = [pick(rng, BAD_UUID)];
    if (m === 'ctype')
      contentType = pick(rng, ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']);
    mutations.push(m);
  }
  text = body === undefined ? undefined : JSON.stringify(body);
  if (mutations.includes('json') && text) text = text.slice(0, Math.max(1, rng.nextInt(text.length)));
  return {
    caller,
    method,
    url,
    ...(text !== undefined && method !== 'GET' ? { payload: text } : {}),
    headers: { 'content-type': contentType },
    mutations,
    values,
    expect,
    awaits,
  };
}

/** Checks one answer against the oracle. */
function judge(c: Case, { status, text }: FuzzAnswer): void {
  const what = `${c.method} ${c.url} as ${c.caller} [${c.mutations.join(',')}] ${c.payload?.slice(0, 200) ?? ''} → ${status} ${text.slice(0, 300)}`;
  assert.ok(status < 500, `never a 5xx: ${what}`);
  for (const v of c.values)
    if (v.length >= 8) assert.ok(!text.includes(v), `a key value was echoed: ${what}`);
  if (c.mutations.length === 0) {
    assert.equal(status, c.expect, what);
    return;
  }
  assert.ok([400, 401, 404, 405].includes(status), `a malformed request gets a 4xx: ${what}`);
  const p = JSON.parse(text) as {
    type?: unknown;
    status?: unknown;
    title?: unknown;
    details?: Record<string, unknown>;
  };
  assert.equal(typeof p.type, 'string', what);
  assert.equal(p.status, status, what);
  assert.equal(typeof p.title, 'string', what);
  assert.ok(p.details && Object.values(p.details).every((x) => typeof x === 'string'), what);
}

let pki: TestPki;
before(async () => {
  pki = await makeTestPki();
});
after(() => pki.cleanup());

test('10,500 oracle-checked requests to the 020 routes through inject(): valid → 200/202, malformed → 4xx RFC 9457 problem, never 5xx', async () => {
  let endpoint: Etsi020Endpoint | undefined;
  const kme = await startFuzzKme({
    // Acknowledgements to the (unreachable) callback fail once and are given up: the keys are voided.
    plugin: (core, peers) => ({
      etsi020: (endpoint = new Etsi020Endpoint({
        identity: { cert: 'x', key: 'x', ca: 'x' },
        peers,
        isLocalSae: (s) => core.isLocal(s),
        ackAttempts: 1,
      })),
    }),
  });
  const book = endpoint!.book;
  const rng = createRng(20261207).stream('fuzz-020-inject');
  const seen = await runFuzz({
    total: 10_500,
    generate: (i) => generate(rng, i),
    before: (c) => c.awaits.forEach((id) => book.expect('kme-b', [id], 'sae-a', ['sae-b'], () => undefined)),
    send: viaInject(kme.app),
    judge,
    after: (c) => book.cancel(c.awaits, 'failed', 'fuzz'), // an awaited key the case never acknowledged
  });
  const malformed = 10_500 - (seen.get('valid') ?? 0);
  assert.ok(malformed >= 9_000, `malformed requests: ${malformed}`);
  endpoint!.close();
  await kme.close();
});

test('300 oracle-checked requests over real mutual-TLS sockets (the caller is a real certificate)', async () => {
  const pair = await startPair(pki, { blocks: 1 });
  const agents = agentsFor(pki);
  const target: KmeHandle = pair.a;
  const book = target.etsi020.book;
  try {
    const rng = createRng(20261207).stream('fuzz-020-tls');
    await runFuzz({
      total: 300,
      generate: (i) => generate(rng, i),
      before: (c) =>
        c.awaits.forEach((id) => book.expect('kme-b', [id], 'sae-a', ['sae-b'], () => undefined)),
      send: viaSocket(target.url, agents),
      judge,
      after: (c) => book.cancel(c.awaits, 'failed', 'fuzz'),
    });
  } finally {
    agents.destroy();
    await pair.close();
  }
});
