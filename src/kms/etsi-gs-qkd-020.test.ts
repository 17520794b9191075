// ETSI GS QKD 020 V1.1.1 conformance over real mutual-TLS sockets: two KMEs (kme-a serves sae-a and
// sae-c, kme-b serves sae-b and sae-d) exchange keys through /kmapi. Each test names the operation or
// schema of the specification's OpenAPI description (which carries its clauses) it checks: every call,
// every status code the routes produce, the asynchronous acknowledgement reaching the caller's
// callback URL, void, and every error in RFC 9457 shape.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { KmeHandle } from './server.ts';
import { agentsFor, makeTestPki, startPair, type TestPki } from './kme-pair.fixture.ts';
import {
  decodeValue,
  Etsi020Book,
  Etsi020Problem,
  extensionPen,
  PROBLEM_BASE,
  type KeyOutcome,
} from './etsi-gs-qkd-020.ts';

let pki: TestPki;
let a: KmeHandle;
let b: KmeHandle;
let close: () => Promise<void>;
let agents: ReturnType<typeof agentsFor>;

before(async () => {
  pki = await makeTestPki();
  ({ a, b, close } = await startPair(pki, { blocks: 1 }));
  agents = agentsFor(pki);
});

after(async () => {
  agents.destroy();
  await close();
  pki.cleanup();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: unknown;
}

/** One raw request to `kme` as certificate `who` (body: an object → JSON, a string → sent as is). */
function call(
  kme: KmeHandle,
  who: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json; charset=UTF-8',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload =
      body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = https.request(
      `${kme.url}${path}`,
      {
        method,
        agent: agents.agent(who),
        headers: payload ? { 'content-type': contentType, 'content-length': payload.length } : {},
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Asserts an RFC 9457 problem of `status` whose type ends with `kind` and whose details hold `detail`. */
function assertProblem(r: Answer, status: number, kind: string, detail?: string): void {
  assert.equal(r.status, status, r.text);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  const p = r.body as { type: string; status: number; title: string; details: Record<string, string> };
  assert.equal(typeof p.type, 'string', 'problem_details.type is required');
  assert.equal(p.type, kind === 'about:blank' ? kind : `${PROBLEM_BASE}${kind}`);
  assert.equal(p.status, status);
  assert.equal(typeof p.title, 'string');
  assert.ok(
    Object.values(p.details).every((v) => typeof v === 'string'),
    'details is a map of strings',
  );
  if (detail) assert.ok(detail in p.details, `details has ${detail}: ${r.text}`);
}

const key = (bytes = 32) => ({ key_id: randomUUID(), value: randomBytes(bytes).toString('base64') });
const extKeys = (over: Record<string, unknown> = {}) => ({
  keys: [key()],
  initiator_sae_id: 'sae-a',
  target_sae_ids: ['sae-b'],
  ack_callback_url: a.etsi020.callbackUrl,
  ...over,
});

/** Waits for `n` acknowledged outcomes of `ids`, registered at A as sent to B. */
function expectAcks(ids: string[], targets = ['sae-b']): Promise<KeyOutcome[]> {
  return new Promise((resolve) => {
    const got: KeyOutcome[] = [];
    a.etsi020.book.expect('kme-b', ids, 'sae-a', targets, (o) => {
      got.push(o);
      if (got.length === ids.length) resolve(got);
    });
  });
}

/** A sends one random 256-bit key from sae-a to sae-b through its client; resolves once it is relayed. */
async function relayOne(): Promise<{ value: Uint8Array; o: KeyOutcome }> {
  const value = new Uint8Array(randomBytes(32));
  const [o] = await a.etsi020.sendKeys('kme-b', {
    keys: [{ value }],
    initiator: 'sae-a',
    targets: ['sae-b'],
  });
  assert.equal(o!.status, 'relayed');
  return { value, o: o! };
}

test('get_versions: GET /kmapi/versions answers 200 version_container {versions:["v1"], capabilities:["synchronous_mode"]} to a peer KME and to an SAE', async () => {
  for (const who of ['kme-a', 'sae-b']) {
    const r = await call(b, who, 'GET', '/kmapi/versions');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { versions: ['v1'], capabilities: ['synchronous_mode'] });
  }
});

test('get_versions 401: a certificate from another CA gets the unauthorized problem', async () => {
  assertProblem(await call(b, 'stranger', 'GET', '/kmapi/versions'), 401, 'unauthorized', 'unauthorized');
});

test('connection specification: TLS below 1.3 is refused at the handshake', async () => {
  const t = pki.tls('kme-a');
  const err = await new Promise<Error | undefined>((resolve) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port: b.port,
      cert: readFileSync(t.cert),
      key: readFileSync(t.key),
      ca: readFileSync(t.ca),
      maxVersion: 'TLSv1.2',
      servername: 'kme-b',
    });
    s.on('secureConnect', () => (s.destroy(), resolve(undefined)));
    s.on('error', (e) => resolve(e));
  });
  assert.ok(err, 'a TLS 1.2 handshake must fail');
});

test('post-ext_keys (async): 202 with no body, then ext_keys/ack "relayed" reaches the caller’s ack_callback_url; the target SAE gets each key once, identical', async () => {
  const body = extKeys({ keys: [key(), key(16)] });
  const ids = body.keys.map((k) => k.key_id);
  const acks = expectAcks(ids);
  const r = await call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys', body);
  assert.equal(r.status, 202, r.text);
  assert.equal(r.text, '');
  const got = await acks;
  assert.deepEqual(
    got.map((o) => o.status),
    ['relayed', 'relayed'],
  );
  // Outcomes reach `expect` only through kme-a's POST /kmapi/v1/ext_keys/ack route (Etsi020Book.ack).
  const first = b.etsi020.book.takeForSae('sae-b', 'sae-a', [ids[0]!]);
  assert.ok(first);
  assert.deepEqual(Buffer.from(first[0]!.value), Buffer.from(body.keys[0]!.value, 'base64'));
  assert.equal(b.etsi020.book.takeForSae('sae-b', 'sae-a', [ids[0]!]), undefined, 'delivered once');
  assert.equal(b.etsi020.book.takeForSae('sae-d', 'sae-a', [ids[1]!]), undefined, 'only a named target');
});

test('figure 5 steps 11–12: the target SAE fetches a key that arrived over 020 by its ID with ETSI 014 "Get key with key IDs", once', async () => {
  const { value, o } = await relayOne();
  const get = () =>
    call(b, 'sae-b', 'POST', '/api/v1/keys/sae-a/dec_keys', { key_IDs: [{ key_ID: o.keyId }] });
  const r = await get();
  assert.equal(r.status, 200, r.text);
  const [k] = (r.body as { keys: { key_ID: string; key: string }[] }).keys;
  assert.equal(k!.key_ID, o.keyId);
  assert.deepEqual(new Uint8Array(Buffer.from(k!.key, 'base64')), value);
  assert.notEqual((await get()).status, 200, 'handed out once');
});

test('post-ext_keys through the client: sendKeys resolves "relayed" once the acknowledgement arrived', async () => {
  const { value, o } = await relayOne();
  const [k] = b.etsi020.book.takeForSae('sae-b', 'sae-a', [o.keyId])!;
  assert.deepEqual(k!.value, value);
  assert.equal(a.etsi020.book.awaiting, 0);
});

test('post-ext_keys (sync, optional mode): without ack_callback_url the answer is 200 ack_containers', async () => {
  const body = extKeys();
  delete (body as { ack_callback_url?: string }).ack_callback_url;
  const r = await call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys', body);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, [
    {
      key_id_container: [{ key_id: body.keys[0]!.key_id }],
      ack_status: 'relayed',
      initiator_sae_id: 'sae-a',
      target_sae_ids: ['sae-b'],
    },
  ]);
  const [o] = await a.etsi020.sendKeys('kme-b', {
    keys: [{ value: new Uint8Array(32).fill(7) }],
    initiator: 'sae-a',
    targets: ['sae-b'],
    synchronous: true,
  });
  assert.equal(o!.status, 'relayed');
});

test('post-ext_keys 400: missing parameters, malformed values, repeated key IDs, unknown routes, bad extension names — nothing retained; an identical retry is answered again, a conflicting reuse is 503', async () => {
  const held = b.etsi020.book.held;
  const post = (body: unknown) => call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys', body);
  assertProblem(
    await post({ initiator_sae_id: 'sae-a', target_sae_ids: ['sae-b'] }),
    400,
    'missing-parameters',
    'missing_parameters',
  );
  assertProblem(
    await post(extKeys({ keys: [{ key_id: randomUUID(), value: 'AAA=' + 'x' }] })),
    400,
    'invalid-parameter',
  );
  // Non-canonical base64 (pad bits set): padding must never become key material (schema `value`).
  assertProblem(
    await post(extKeys({ keys: [{ key_id: randomUUID(), value: 'AB==' }] })),
    400,
    'invalid-parameter',
    'malformed_value',
  );
  const k = key();
  assertProblem(await post(extKeys({ keys: [k, { ...k }] })), 400, 'invalid-parameter', 'duplicate_key_id');
  assertProblem(
    await post(extKeys({ keys: [{ key_id: 'not-a-uuid', value: 'AAAA' }] })),
    400,
    'invalid-parameter',
  );
  assertProblem(
    await post(extKeys({ target_sae_ids: ['sae-z'] })),
    400,
    'key-routing-error',
    'target_sae_id_not_recognized',
  );
  assertProblem(await post(extKeys({ initiator_sae_id: 'has space' })), 400, 'invalid-parameter');
  assertProblem(await post(extKeys({ initiator_sae_id: 'x'.repeat(65) })), 400, 'invalid-parameter');
  assertProblem(await post(extKeys({ ack_callback_url: 'http://kme-a/ack' })), 400, 'invalid-parameter');
  assertProblem(
    await post(extKeys({ extension_optional: { vendor_thing: 1 } })),
    400,
    'invalid-parameter',
    'invalid_extension_name',
  );
  assertProblem(
    await post(extKeys({ extension_optional: { E13019_x: 1 } })),
    400,
    'invalid-parameter',
    'invalid_extension_name',
  );
  assertProblem(await post(extKeys({ extension_optional: {} })), 400, 'invalid-parameter');
  assertProblem(await post(extKeys({ surprise: true })), 400, 'invalid-parameter');
  assertProblem(await post('{"keys": ['), 400, 'invalid-parameter');
  assertProblem(
    await call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys', 'keys=1', 'text/plain'),
    400,
    'invalid-parameter',
  );
  assertProblem(
    await call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys?x=1', extKeys()),
    400,
    'invalid-parameter',
  );
  assert.equal(b.etsi020.book.held, held, 'a 400 leaves no association (clause "Operation of the API")');
  // A key ID already passed: an identical retry (same peer, bytes and SAEs) is answered with its known
  // outcome and held once; the same ID with other bytes is refused — with 503, since 400 is not allowed
  // while this KME holds an association for that ID (response 400-extkey).
  const once = extKeys();
  delete (once as { ack_callback_url?: string }).ack_callback_url;
  const first = await post(once);
  assert.equal(first.status, 200);
  const heldAfter = b.etsi020.book.held;
  const again = await post(once);
  assert.equal(again.status, 200, again.text);
  assert.deepEqual(again.body, first.body, 'the retry gets the same outcome');
  assert.equal(b.etsi020.book.held, heldAfter, 'held once');
  const other = {
    ...once,
    keys: [{ key_id: once.keys[0]!.key_id, value: randomBytes(32).toString('base64') }],
  };
  assertProblem(await post(other), 503, 'server-side-general-error', 'duplicate_key_id');
  assertProblem(
    await post({ ...once, target_sae_ids: ['sae-d'] }),
    503,
    'server-side-general-error',
    'duplicate_key_id',
  );
});

test('post-ext_keys 401: an SAE certificate or a stranger may not pass keys; the body is not even parsed', async () => {
  assertProblem(
    await call(b, 'sae-b', 'POST', '/kmapi/v1/ext_keys', extKeys()),
    401,
    'unauthorized',
    'unauthorized',
  );
  assertProblem(await call(b, 'sae-a', 'POST', '/kmapi/v1/ext_keys', '{not json'), 401, 'unauthorized');
  assertProblem(await call(b, 'stranger', 'POST', '/kmapi/v1/ext_keys/void', '{}'), 401, 'unauthorized');
  assertProblem(await call(b, 'metrics', 'POST', '/kmapi/v1/ext_keys/ack', '[]'), 401, 'unauthorized');
});

test('post-ext_keys 503: an unknown extension_mandatory (unsupported_mandatory_extension) and more targets than routed (no_route_multiple_targets); extension_optional is accepted unchanged', async () => {
  const held = b.etsi020.book.held;
  const post = (body: unknown) => call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys', body);
  assertProblem(
    await post(extKeys({ extension_mandatory: { E32473_route_type: 'direct' } })),
    503,
    'unsupported-mandatory-extension',
    'unsupported_mandatory_extension',
  );
  assertProblem(
    await post(extKeys({ target_sae_ids: ['sae-b', 'sae-d'] })),
    503,
    'key-routing-error',
    'no_route_multiple_targets',
  );
  assert.equal(b.etsi020.book.held, held);
  const withOptional = extKeys({ extension_optional: { E32473_qos_session: 'e73d9abe' } });
  const acks = expectAcks([withOptional.keys[0]!.key_id]);
  assert.equal((await post(withOptional)).status, 202);
  assert.equal((await acks)[0]!.status, 'relayed');
});

test('post_ext_keys_ack: 200 for an awaited key (and for the same acknowledgement repeated); 400 key-not-present for an unknown or contradicting one; 400 ack-not-understood for a malformed body', async () => {
  const id = randomUUID();
  const ack = (kid: string, status = 'relayed') => [
    {
      key_id_container: [{ key_id: kid }],
      ack_status: status,
      initiator_sae_id: 'sae-b',
      target_sae_ids: ['sae-a'],
    },
  ];
  let outcome: KeyOutcome | undefined;
  b.etsi020.book.expect('kme-a', [id], 'sae-b', ['sae-a'], (o) => (outcome = o));
  const ok = await call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys/ack', ack(id, 'failed'));
  assert.equal(ok.status, 200, ok.text);
  assert.equal(outcome?.status, 'failed');
  // The same acknowledgement again (its 200 lost): accepted as a no-op; a contradicting one is refused.
  assert.equal((await call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys/ack', ack(id, 'failed'))).status, 200);
  assertProblem(
    await call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys/ack', ack(randomUUID())),
    400,
    'key-not-present',
  );
  assertProblem(
    await call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys/ack', ack(id)),
    400,
    'key-not-present',
    'key_not_present',
  );
  assertProblem(
    await call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys/ack', ack(randomUUID(), 'done')),
    400,
    'ack-not-understood',
    'ack_not_understood',
  );
  assertProblem(
    await call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys/ack', { not: 'an array' }),
    400,
    'ack-not-understood',
  );
  assertProblem(await call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys/ack', []), 400, 'ack-not-understood');
});

test('post_ext_keys_void (async): 202, then "voided" reaches the callback and the held key is erased; a delivered key is "failed to void", an unknown one "key not present"', async () => {
  const [held, delivered] = [extKeys(), extKeys()];
  const acks = expectAcks([held.keys[0]!.key_id, delivered.keys[0]!.key_id]);
  for (const body of [held, delivered])
    assert.equal((await call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys', body)).status, 202);
  await acks;
  assert.ok(b.etsi020.book.takeForSae('sae-b', 'sae-a', [delivered.keys[0]!.key_id]));
  const unknown = randomUUID();
  const outcomes = await a.etsi020.voidKeys(
    'kme-b',
    [held.keys[0]!.key_id, delivered.keys[0]!.key_id, unknown],
    'sae-a',
    ['sae-b'],
  );
  assert.deepEqual(Object.fromEntries(outcomes.map((o) => [o.keyId, o.status])), {
    [held.keys[0]!.key_id]: 'voided',
    [delivered.keys[0]!.key_id]: 'failed to void',
    [unknown]: 'key not present',
  });
  assert.equal(
    b.etsi020.book.takeForSae('sae-b', 'sae-a', [held.keys[0]!.key_id]),
    undefined,
    'void erased it',
  );
});

test('post_ext_keys_void (sync): an empty key_ids without all_confirmation is 400 no_all_confirmation; with all_confirmation:true every key between the SAEs is voided', async () => {
  const r = await call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys/void', {
    key_ids: [],
    initiator_sae_id: 'sae-a',
    target_sae_ids: ['sae-b'],
  });
  assertProblem(r, 400, 'no-key-ids-or-confirmation', 'no_all_confirmation');
  const body = extKeys({ keys: [key(), key()] });
  const acks = expectAcks(body.keys.map((k) => k.key_id));
  assert.equal((await call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys', body)).status, 202);
  await acks;
  const all = await call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys/void', {
    key_ids: [],
    initiator_sae_id: 'sae-a',
    target_sae_ids: ['sae-b'],
    all_confirmation: true,
  });
  assert.equal(all.status, 200, all.text);
  const voided = (all.body as { ack_status: string; key_id_container: { key_id: string }[] }[]).find(
    (c) => c.ack_status === 'voided',
  );
  for (const k of body.keys) assert.ok(voided?.key_id_container.some((x) => x.key_id === k.key_id));
  assert.equal(b.etsi020.book.takeForSae('sae-b', 'sae-a', [body.keys[0]!.key_id]), undefined);
  assertProblem(
    await call(b, 'kme-a', 'POST', '/kmapi/v1/ext_keys/void', { key_ids: ['x'] }),
    400,
    'void-request-not-understood',
    'key_voiding_error',
  );
});

test('unknown paths and methods under /kmapi answer 404 / 405 (with Allow) as problem details', async () => {
  assertProblem(await call(b, 'kme-a', 'GET', '/kmapi/v2/ext_keys'), 404, 'about:blank', 'not_found');
  const r = await call(b, 'kme-a', 'GET', '/kmapi/v1/ext_keys');
  assertProblem(r, 405, 'about:blank', 'method_not_allowed');
  assert.equal(r.headers.allow, 'POST');
});

test('Operation of the API: after a 503 the sender may not assume the peer kept nothing — it voids the keys there and counts them failed', async () => {
  const [o] = await a.etsi020.sendKeys('kme-b', {
    keys: [{ value: new Uint8Array(32).fill(1) }],
    initiator: 'sae-a',
    targets: ['sae-b'],
    extensionMandatory: { E32473_route_type: 'direct' },
  });
  assert.equal(o!.status, 'failed');
  assert.match(o!.message ?? '', /503/);
  assert.equal(a.etsi020.book.awaiting, 0, 'nothing left awaiting an acknowledgement');
  // The void went to B (asynchronous; B answered with an ack of "key not present", since it kept nothing).
  assert.equal(b.etsi020.book.takeForSae('sae-b', 'sae-a', [o!.keyId]), undefined);
});

test('schemas `value` and `extension` on the specification’s own examples: the example value is 32 key bytes; E32473_ names are valid, ETSI’s 13019 is not', () => {
  // ext_key_container example value (canonical base64 of 32 bytes).
  assert.equal(decodeValue('wHHVxRwDJs3/bXd38GHP3oe4svTuRpZS0yCC7x4Ly+s=')?.length, 32);
  assert.equal(decodeValue('wHHVxRwDJs3/bXd38GHP3oe4svTuRpZS0yCC7x4Ly+t='), undefined, 'non-zero pad bits');
  assert.equal(decodeValue('wHHVxRwDJs3/bXd38GHP3oe4svTuRpZS0yCC7x4Ly+s'), undefined, 'padding missing');
  for (const n of ['E32473_extension1', 'E32473_route_type', 'E32473_qos_session'])
    assert.equal(extensionPen(n), 32473);
  for (const n of ['E13019_x', 'E32473', 'e32473_x', 'E032473_x', 'X32473_x'])
    assert.equal(extensionPen(n), undefined, n);
});

test('the book holds at most maxHeld keys: a request beyond it is 503 and holds nothing (its bytes erased)', () => {
  const book = new Etsi020Book({ maxHeld: 2 });
  const req = (n: number) => ({
    keys: Array.from({ length: n }, () => key()),
    initiator_sae_id: 'sae-a',
    target_sae_ids: ['sae-b'],
  });
  book.accept('kme-a', req(2), () => true);
  assert.throws(
    () => book.accept('kme-a', req(1), () => true),
    (e: unknown) => e instanceof Etsi020Problem && e.problem.status === 503,
  );
  assert.equal(book.held, 2);
});
