/**
 * The ETSI GS QKD 014 conformance suite, run against each store (./etsi-gs-qkd-014.test.ts: SQLite;
 * ./etsi-gs-qkd-014-pg.slow.test.ts: PostgreSQL) — one suite, two stores.
 * Conformance with ETSI GS QKD 014 V1.1.1 over real mutual-TLS sockets on 127.0.0.1: every endpoint
 * (§5.1 status, §5.2 enc_keys GET/POST, §5.3 dec_keys GET/POST), the data formats of §6, the status codes
 * 400/401/503 where §5 puts them, sizes, multicast, once-only delivery, and TLS refusal without a
 * certificate from the KMEs' CA. KME A serves sae-a, sae-c; KME B serves sae-b, sae-d.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { createMtlsAgent, requestJson, type JsonAnswer } from './https-json.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  agentsFor,
  makeTestPki,
  startPair,
  startTestPg,
  type TestPg,
  type TestPki,
} from './kme-pair.fixture.ts';
import type { KmeConfig } from './config.ts';
import { startKme } from './server.ts';
import type { KmeHandle } from './server.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
let pki: TestPki;
let a: KmeHandle;
let b: KmeHandle;
let close: () => Promise<void>;
let cfg: { a: KmeConfig; b: KmeConfig };
let agents: ReturnType<typeof agentsFor>;
const agent = (name: string) => agents.agent(name);
const call = (
  sae: string,
  kme: KmeHandle,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<JsonAnswer> => requestJson(agent(sae), `${kme.url}/api/v1/keys/${path}`, method, body);
type Container = { keys: { key_ID: string; key: string; key_extension?: Record<string, unknown> }[] };
const keysOf = (r: JsonAnswer) => (r.body as Container).keys;
function assertError(r: JsonAnswer, status: number, re?: RegExp) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  const body = r.body as { message: unknown; details?: unknown };
  assert.equal(typeof body.message, 'string');
  assert.ok(Object.keys(body).every((k) => k === 'message' || k === 'details'));
  if (re) assert.match(body.message as string, re);
}

/** Registers the whole suite against KMEs on `store`. */
export function etsi014Suite(store: 'sqlite' | 'postgres'): void {
  let db: TestPg | undefined;
  before(async () => {
    pki = await makeTestPki();
    agents = agentsFor(pki);
    db = store === 'postgres' ? await startTestPg() : undefined;
    ({ a, b, close, cfg } = await startPair(pki, {
      blocks: 4,
      bytes: 4096,
      ...(db ? { pg: { db, prefix: 'etsi' } } : {}),
    }));
  });
  after(async () => {
    agents.destroy();
    await Promise.all([a.close(), b.close()]);
    await close();
    await db?.cleanup();
    pki.cleanup();
  });

  describe('§5.1 Get status', () => {
    test('returns every §6.1 field with the source and target KMEs of the pair', async () => {
      const r = await call('sae-a', a, 'GET', 'sae-b/status');
      assert.equal(r.status, 200);
      const s = r.body as Record<string, unknown>;
      for (const f of [
        'source_KME_ID',
        'target_KME_ID',
        'master_SAE_ID',
        'slave_SAE_ID',
        'key_size',
        'stored_key_count',
        'max_key_count',
        'max_key_per_request',
        'max_key_size',
        'min_key_size',
        'max_SAE_ID_count',
      ])
        assert.ok(f in s, f);
      assert.deepEqual(
        [s.source_KME_ID, s.target_KME_ID, s.master_SAE_ID, s.slave_SAE_ID],
        ['kme-a', 'kme-b', 'sae-a', 'sae-b'],
      );
      assert.equal(s.key_size, 256);
      assert.equal(s.stored_key_count, (4 * 4096) / 2 / 32); // half of 4 blocks of 4096 bytes, 32-byte keys
    });
    test('a certificate of the CA naming no SAE of this KME gets 401', async () => {
      assertError(await call('sae-d', a, 'GET', 'sae-b/status'), 401);
    });
    test('an unknown slave SAE is a 400', async () => {
      assertError(await call('sae-a', a, 'GET', 'nobody/status'), 400, /unknown/);
    });
  });

  describe('§5.2 Get key and §5.3 Get key with key IDs', () => {
    test('GET enc_keys gives one 256-bit key by default; the slave gets the same bytes once with GET dec_keys', async () => {
      const r = await call('sae-a', a, 'GET', 'sae-b/enc_keys');
      assert.equal(r.status, 200);
      const [k] = keysOf(r);
      assert.match(k!.key_ID, UUID);
      assert.equal(Buffer.from(k!.key, 'base64').length, 32);
      assert.equal(k!.key_extension?.qkdnet_provenance, 'qkd');
      const s = await call('sae-b', b, 'GET', `sae-a/dec_keys?key_ID=${k!.key_ID}`);
      assert.equal(s.status, 200);
      assert.deepEqual(keysOf(s)[0]!.key, k!.key);
      assertError(await call('sae-b', b, 'GET', `sae-a/dec_keys?key_ID=${k!.key_ID}`), 400);
    });
    test('any multiple of 8 bits between min and max is served, built from the link stream', async () => {
      for (const size of [8, 136, 256, 264, 1024, 4096]) {
        const r = await call('sae-a', a, 'POST', 'sae-b/enc_keys', { number: 2, size });
        assert.equal(r.status, 200, `size ${size}`);
        const ks = keysOf(r);
        assert.equal(ks.length, 2);
        for (const k of ks) assert.equal(Buffer.from(k.key, 'base64').length * 8, size);
        const s = await call('sae-b', b, 'POST', 'sae-a/dec_keys', {
          key_IDs: ks.map((k) => ({ key_ID: k.key_ID })),
        });
        assert.equal(s.status, 200, `size ${size}: ${JSON.stringify(s.body)}`);
        assert.deepEqual(
          keysOf(s).map((k) => k.key),
          ks.map((k) => k.key),
        );
      }
    });
    test('GET enc_keys with number and size in the query', async () => {
      const r = await call('sae-a', a, 'GET', 'sae-b/enc_keys?number=3&size=64');
      assert.equal(r.status, 200);
      assert.deepEqual(
        keysOf(r).map((k) => Buffer.from(k.key, 'base64').length),
        [8, 8, 8],
      );
    });
    test('sizes not a multiple of 8, out of range, and bad numbers are 400', async () => {
      for (const body of [
        { size: 12 },
        { size: 0 },
        { size: -8 },
        { size: 65544 },
        { number: 0 },
        { number: 1001 },
        { number: 1.5 },
        { number: 'two' },
      ])
        assertError(await call('sae-a', a, 'POST', 'sae-b/enc_keys', body), 400);
      assertError(await call('sae-a', a, 'GET', 'sae-b/enc_keys?size=7'), 400);
    });
    test('more keys than stored is a 503', async () => {
      assertError(
        await call('sae-a', a, 'POST', 'sae-b/enc_keys', { number: 1000, size: 65536 }),
        503,
        /stored/,
      );
    });
    test('keys flow the other way: sae-b as master at KME B, sae-a as slave at KME A', async () => {
      const r = await call('sae-b', b, 'POST', 'sae-a/enc_keys', { number: 1 });
      assert.equal(r.status, 200);
      const s = await call('sae-a', a, 'POST', 'sae-b/dec_keys', {
        key_IDs: [{ key_ID: keysOf(r)[0]!.key_ID }],
      });
      assert.deepEqual(keysOf(s)[0]!.key, keysOf(r)[0]!.key);
    });
    test('a slave the master did not name gets 401, and so does the right slave naming the wrong master', async () => {
      const r = await call('sae-a', a, 'GET', 'sae-b/enc_keys');
      const id = keysOf(r)[0]!.key_ID;
      assertError(await call('sae-d', b, 'GET', `sae-a/dec_keys?key_ID=${id}`), 401);
      assertError(await call('sae-b', b, 'GET', `sae-c/dec_keys?key_ID=${id}`), 401);
      assert.equal((await call('sae-b', b, 'GET', `sae-a/dec_keys?key_ID=${id}`)).status, 200);
    });
    test('unknown key_IDs and malformed key_IDs are 400', async () => {
      assertError(
        await call('sae-b', b, 'GET', 'sae-a/dec_keys?key_ID=00000000-0000-4000-8000-000000000000'),
        400,
      );
      assertError(await call('sae-b', b, 'GET', 'sae-a/dec_keys?key_ID=not-a-uuid'), 400);
      assertError(await call('sae-b', b, 'POST', 'sae-a/dec_keys', { key_IDs: [] }), 400);
      assertError(await call('sae-b', b, 'POST', 'sae-a/dec_keys', { key_IDs: [{ key_ID: 5 }] }), 400);
    });
    test('a request for several keys is all-or-nothing: one bad key_ID delivers none', async () => {
      const r = await call('sae-a', a, 'GET', 'sae-b/enc_keys');
      const id = keysOf(r)[0]!.key_ID;
      const bad = await call('sae-b', b, 'POST', 'sae-a/dec_keys', {
        key_IDs: [{ key_ID: id }, { key_ID: '00000000-0000-4000-8000-000000000001' }],
      });
      assertError(bad, 400);
      assert.equal((await call('sae-b', b, 'GET', `sae-a/dec_keys?key_ID=${id}`)).status, 200);
    });
  });

  /** One raw request over the SAE's mutual-TLS agent (any method, body text and headers). */
  function raw(
    sae: string,
    kme: KmeHandle,
    method: string,
    path: string,
    body?: string | Buffer,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: unknown; headers: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = https.request(`${kme.url}${path}`, { method, agent: agent(sae), headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          const t = Buffer.concat(parts).toString();
          resolve({ status: res.statusCode!, body: t ? JSON.parse(t) : undefined, headers: res.headers });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  describe('014 to the letter: unknown fields, exact types, 405, 413, 431', () => {
    const enc = '/api/v1/keys/sae-b/enc_keys';
    const json = { 'content-type': 'application/json' };
    test('unknown query parameters are 400 on every route, multicast and extensions included', async () => {
      for (const q of [
        'sae-b/enc_keys?number=1&foo=1',
        'sae-b/enc_keys?additional_slave_SAE_IDs=sae-c',
        'sae-b/enc_keys?extension_mandatory=x',
        'sae-b/enc_keys?number=1&number=2',
        'sae-b/enc_keys?number=1e0',
        'sae-b/enc_keys?number=01',
        'sae-b/status?verbose=1',
      ])
        assertError(await call('sae-a', a, 'GET', q), 400, /^Bad request format/);
      assertError(
        await call('sae-b', b, 'GET', 'sae-a/dec_keys?key_ID=00000000-0000-4000-8000-000000000000&x=1'),
        400,
        /unknown parameter/,
      );
      assertError(await call('sae-a', a, 'POST', 'sae-b/enc_keys?number=2', {}), 400, /unknown parameter/);
    });
    test('unknown body fields and inexact JSON types are 400; nothing is delivered', async () => {
      const before = a.level('kme-b').mineBytes;
      for (const body of [
        { number: '2' },
        { size: '256' },
        { number: 1, foo: true },
        { number: 2.0000001 },
        { number: true },
        { additional_slave_SAE_IDs: 'sae-c' },
        { additional_slave_SAE_IDs: [1] },
        { extension_mandatory: {} },
        { extension_mandatory: ['x'] },
      ])
        assertError(await call('sae-a', a, 'POST', 'sae-b/enc_keys', body), 400, /^Bad request format/);
      assertError(
        await call('sae-b', b, 'POST', 'sae-a/dec_keys', {
          key_IDs: [{ key_ID: '00000000-0000-4000-8000-000000000000', extra: 1 }],
        }),
        400,
      );
      assertError(await call('sae-b', b, 'POST', 'sae-a/dec_keys', { key_IDs: [], junk: 1 }), 400);
      assert.equal(a.level('kme-b').mineBytes, before);
    });
    test('an unsupported mandatory extension is 400 and the message names it', async () => {
      assertError(
        await call('sae-a', a, 'POST', 'sae-b/enc_keys', { extension_mandatory: [{ vendor_route: 'x' }] }),
        400,
        /Unsupported mandatory extension "vendor_route"/,
      );
    });
    test('additional_slave_SAE_IDs is served (never dropped): the extra slave gets the key', async () => {
      const r = await call('sae-a', a, 'POST', 'sae-b/enc_keys', { additional_slave_SAE_IDs: ['sae-c'] });
      const k = keysOf(r)[0]!;
      const got = await call('sae-c', a, 'GET', `sae-a/dec_keys?key_ID=${k.key_ID}`);
      assert.equal(keysOf(got)[0]!.key, k.key);
    });
    test('wrong methods are 405 with Allow and the Error object; HEAD never consumes keys', async () => {
      for (const [method, path, allow] of [
        ['PUT', enc, 'GET, POST'],
        ['DELETE', '/api/v1/keys/sae-b/status', 'GET'],
        ['HEAD', enc, 'GET, POST'],
        ['PATCH', '/api/v1/keys/sae-a/dec_keys', 'GET, POST'],
        ['GET', '/api/v1/kme/kme-b/reserve', 'POST'],
      ] as const) {
        const r = await raw('sae-a', a, method, path);
        assert.equal(r.status, 405, `${method} ${path}`);
        assert.equal(r.headers.allow, allow);
        if (method !== 'HEAD') assertError({ status: r.status, body: r.body }, 405, /^Method not allowed/);
      }
    });
    test('a body over 1 MiB is 413 in the Error shape; oversize headers are 431 in the Error shape', async () => {
      const big = `{"number":1,"extension_optional":[{"pad":"${'x'.repeat(1 << 20)}"}]}`;
      const r = await raw('sae-a', a, 'POST', enc, big, json);
      assertError({ status: r.status, body: r.body }, 413, /^Content too large/);
      const h = await raw('sae-a', a, 'GET', '/api/v1/keys/sae-b/status', undefined, {
        'x-big': 'y'.repeat(20000),
      });
      assertError({ status: h.status, body: h.body }, 431);
    });
    test('unknown paths are 404 in the Error shape', async () => {
      const r = await raw('sae-a', a, 'GET', '/api/v1/keys/sae-b/nothing');
      assertError({ status: r.status, body: r.body }, 404);
    });
  });

  describe('multicast (additional_slave_SAE_IDs) and extensions', () => {
    test('one key reaches sae-b at KME B and sae-c at KME A, each once; sae-d is refused', async () => {
      const r = await call('sae-a', a, 'POST', 'sae-b/enc_keys', {
        number: 1,
        size: 512,
        additional_slave_SAE_IDs: ['sae-c'],
      });
      assert.equal(r.status, 200);
      const k = keysOf(r)[0]!;
      const body = { key_IDs: [{ key_ID: k.key_ID }] };
      assertError(await call('sae-d', b, 'POST', 'sae-a/dec_keys', body), 401);
      assert.equal(keysOf(await call('sae-b', b, 'POST', 'sae-a/dec_keys', body))[0]!.key, k.key);
      assert.equal(keysOf(await call('sae-c', a, 'POST', 'sae-a/dec_keys', body))[0]!.key, k.key);
      assertError(await call('sae-c', a, 'POST', 'sae-a/dec_keys', body), 400);
    });
    test('too many additional slaves, repeats and unknown slaves are 400', async () => {
      const nine = Array.from({ length: 9 }, (_, i) => `s${i}`);
      for (const extra of [nine, ['sae-b'], ['ghost'], ['sae-a']])
        assertError(
          await call('sae-a', a, 'POST', 'sae-b/enc_keys', { additional_slave_SAE_IDs: extra }),
          400,
        );
    });
    test('an unsupported mandatory extension is 400; unknown optional ones are ignored; min provenance is honoured', async () => {
      assertError(
        await call('sae-a', a, 'POST', 'sae-b/enc_keys', {
          extension_mandatory: [{ abc_route_type: 'direct' }],
        }),
        400,
        /abc_route_type/,
      );
      assert.equal(
        (
          await call('sae-a', a, 'POST', 'sae-b/enc_keys', {
            extension_optional: [{ abc_route_type: 'direct' }],
          })
        ).status,
        200,
      );
      const r = await call('sae-a', a, 'POST', 'sae-b/enc_keys', {
        extension_mandatory: [{ qkdnet_min_provenance: 'qkd' }],
      });
      assert.equal(keysOf(r)[0]!.key_extension?.qkdnet_provenance, 'qkd');
    });
  });

  describe('transport, documents and the peer route', () => {
    test('a client without a certificate, or with one from another CA, gets 401 and the bare Error object', async () => {
      const ca = readFileSync(pki.tls('sae-a').ca);
      const bare = new https.Agent({ ca, keepAlive: false });
      for (const path of [
        '/api/v1/keys/sae-b/status',
        '/api/v1/keys/sae-b/enc_keys',
        '/openapi.json',
        '/nope',
      ])
        assertError(await requestJson(bare, `${a.url}${path}`, 'GET'), 401, /^Unauthorized/);
      assertError(await call('stranger', a, 'GET', 'sae-b/status'), 401, /^Unauthorized/);
      assertError(await call('stranger', a, 'POST', 'sae-b/enc_keys', { number: 'x' }), 401);
      bare.destroy();
    });
    test('bad JSON is a 400 with the spec error object', async () => {
      const r = await new Promise<JsonAnswer>((resolve, reject) => {
        const req = https.request(
          `${a.url}/api/v1/keys/sae-b/enc_keys`,
          { method: 'POST', agent: agent('sae-a'), headers: { 'content-type': 'application/json' } },
          (res) => {
            let t = '';
            res.on('data', (d) => (t += d));
            res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(t) }));
          },
        );
        req.on('error', reject);
        req.end('{"number":');
      });
      assertError(r, 400);
    });
    test('an SAE may not call the KME-to-KME reservation route', async () => {
      const r = await requestJson(agent('sae-b'), `${a.url}/api/v1/kme/kme-b/reserve`, 'POST', {
        reservations: [
          {
            key_ID: '00000000-0000-4000-8000-000000000000',
            chunk_IDs: ['00000000-0000-4000-8000-000000000000'],
            size: 256,
            master_SAE_ID: 'sae-b',
            slave_SAE_IDs: ['sae-a'],
          },
        ],
      });
      assertError(r, 401);
    });
    test('/openapi.json documents the routes; /metrics (metrics certificate only) counts requests and pool levels', async () => {
      const o = (await requestJson(agent('sae-a'), `${a.url}/openapi.json`, 'GET')).body as {
        paths: Record<string, unknown>;
      };
      for (const p of [
        '/api/v1/keys/{SAE_ID}/status',
        '/api/v1/keys/{SAE_ID}/enc_keys',
        '/api/v1/keys/{SAE_ID}/dec_keys',
      ])
        assert.ok(p in o.paths, p);
      assertError(await requestJson(agent('sae-a'), `${a.url}/metrics`, 'GET'), 401); // SAEs may not read it
      const m = await new Promise<string>((resolve, reject) => {
        https
          .get(`${a.url}/metrics`, { agent: agent('metrics') }, (res) => {
            let t = '';
            res.on('data', (d) => (t += d));
            res.on('end', () => resolve(t));
          })
          .on('error', reject);
      });
      assert.match(m, /qkdnet_kme_requests_total\{.*status="200"/);
      assert.match(m, /qkdnet_kme_pool_bits\{.*peer="kme-b"/);
      assert.match(m, /qkdnet_kme_request_duration_seconds_bucket/);
      assert.doesNotMatch(m, /[0-9a-f]{8}-[0-9a-f]{4}-/); // no key IDs in metrics
    });
    test('with the slave KME down, the master still gets its key; the slave gets it once its KME is back', async () => {
      const port = b.port;
      await b.close();
      // A size asked for the first time: its lease (and reservation) is formed while KME B is down.
      const r = await call('sae-a', a, 'GET', 'sae-b/enc_keys?size=512');
      assert.equal(r.status, 200);
      const id = keysOf(r)[0]!.key_ID;
      assert.ok((await a.core.backend.outbox('kme-b', 10)).some((o) => o.keyId === id));
      b = await startKme({
        ...cfg.b,
        port,
        peers: [{ id: 'kme-a', url: a.url, saes: ['sae-a', 'sae-c'] }],
      });
      // Asked before the push arrives, KME B pulls the reservation from KME A.
      const s = await call('sae-b', b, 'GET', `sae-a/dec_keys?key_ID=${id}`);
      assert.equal(s.status, 200);
      assert.equal(keysOf(s)[0]!.key, keysOf(r)[0]!.key);
      assertError(await call('sae-d', b, 'GET', `sae-a/dec_keys?key_ID=${id}`), 400);
    });
    test('reservations are pushed in the background and acknowledged', async () => {
      const r = await call('sae-a', a, 'POST', 'sae-b/enc_keys', { number: 5 });
      const ids = keysOf(r).map((k) => k.key_ID);
      const outbox = () => a.core.backend.outbox('kme-b', 10);
      for (let i = 0; i < 100 && (await outbox()).length > 0; i++) await sleep(20);
      assert.equal((await outbox()).length, 0);
      for (const id of ids) assert.ok(await b.core.backend.knows(id), id);
    });
    test('a slave asking for a key its KME has not heard of, while the master KME is down, gets 503', async () => {
      await a.close();
      assertError(
        await call('sae-b', b, 'GET', 'sae-a/dec_keys?key_ID=00000000-0000-4000-8000-0000000000ff'),
        503,
        /kme-a/,
      );
    });
  });
}
