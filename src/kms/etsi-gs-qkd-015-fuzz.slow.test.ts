/**
 * Fuzz of the ETSI GS QKD 015 RESTCONF endpoint with an oracle. Each request starts from a valid read (a
 * data path that exists, the API root, host-meta, the yang library) and receives zero or more mutations
 * that RFC 8040 refuses: a path segment replaced, a list key that does not exist, a key on a container,
 * a list without its key, a segment with bad percent-encoding, an unknown module, a double slash, an
 * unknown, repeated or out-of-range query parameter, a write method, an Accept the server cannot
 * satisfy, a caller without the sdn role or without any certificate, a body. Unmutated requests must get
 * 200; mutated ones a 4xx whose body is `ietf-restconf:errors` (RFC 8040 §7.1) — never 2xx, never 5xx.
 * 11,000 requests through `inject()` (over 10,000 of them malformed). Seeded: the same requests every run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { createRng, type Rng } from '../common/index.ts';
import { sdnUuid, type SdnNodeState } from './etsi-gs-qkd-015.ts';
import type { Caller } from './identity.ts';
import { restconfInjectApp } from './etsi-gs-qkd-015.fixture.ts';
import { assertMix, pick, runFuzz, viaInject, type FuzzAnswer, type FuzzCase } from './fuzz.fixture.ts';

const Q = 'etsi-qkd-sdn-node:qkd_node';
const A = sdnUuid('node', 'a');
const LINKS = [sdnUuid('link', 'a|b'), sdnUuid('link', 'a|c')];
const APP = sdnUuid('app', 'x');

const state: SdnNodeState = {
  nodeId: A,
  status: 'OPERATING',
  version: 'fuzz',
  locationId: 'a',
  linkStats: true,
  appStats: true,
  keyRelay: true,
  interfaces: [1, 2].map((id) => ({
    id,
    model: 'sim',
    technology: 'DV-QKD' as const,
    attachDevice: `n${id}`,
    attachPort: 1,
    role: 'TRANSCEIVER' as const,
    status: 'ENABLED' as const,
  })),
  links: LINKS.map((id, i) => ({
    id,
    status: 'ACTIVE' as const,
    enabled: true,
    localInterface: i + 1,
    remoteNodeId: sdnUuid('node', `p${i}`),
    remoteInterface: 1,
    type: 'PHYS' as const,
    apps: [APP],
    skrBps: 1000,
    eskrBps: 900,
    expectedConsumptionBps: 100,
    qber: 0.02,
  })),
  apps: [
    {
      id: APP,
      status: 'ON',
      type: 'CLIENT',
      serverUri: 'urn:x:a',
      clientUris: ['urn:x:b'],
      priority: 1,
      localNodeId: A,
      remoteNodeId: sdnUuid('node', 'p0'),
      backingLinks: LINKS,
    },
  ],
};

const VALID_PATHS = [
  '/restconf',
  '/restconf/',
  '/.well-known/host-meta',
  '/.well-known/host-meta.json',
  '/restconf/data',
  '/restconf/yang-library-version',
  '/restconf/operations',
  `/restconf/data/${Q}`,
  `/restconf/data/${Q}/`,
  `/restconf/data/${Q}/qkdn_id`,
  `/restconf/data/${Q}/qkdn_capabilities/key_relay_mode_enable`,
  `/restconf/data/${Q}/qkd_interfaces/qkd_interface=2`,
  `/restconf/data/${Q}/qkd_interfaces/qkd_interface=1/qkdi_att_point/device`,
  `/restconf/data/${Q}/qkd_links/qkd_link=${LINKS[0]}`,
  `/restconf/data/${Q}/qkd_links/qkd_link=${LINKS[1]}/qkdl_performance/phys_perf=etsi-qkd-node-types%3AQBER`,
  `/restconf/data/${Q}/qkd_applications/qkd_app=${APP}/client_app_id=urn%3Ax%3Ab`,
  '/restconf/data/ietf-yang-library:modules-state',
  '/restconf/data/ietf-restconf-monitoring:restconf-state/streams',
];
const DATA_QUERIES = [
  'depth=1',
  'depth=3',
  'depth=unbounded',
  'content=config',
  'content=nonconfig',
  'content=all',
];
const BAD_QUERIES = [
  'depth=0',
  'depth=65536',
  'depth=-1',
  'depth=1.5',
  'depth=',
  'content=everything',
  'content=',
  'fields=qkdn_id',
  'filter=x',
  'start-time=2026',
  'with-defaults=trim',
  'insert=first',
  'depth=1&depth=1',
  'content=all&content=config',
  '%zz=1',
  'depth=%ff',
];
const BAD_SEGMENTS = [
  'nope',
  'qkd_link',
  'qkd_link=',
  'qkd_links=1',
  'qkdn_id=x',
  '%',
  '%zz',
  '%C0%AF',
  '...',
  'ietf-interfaces:interfaces',
  'etsi-qkd-sdn-node',
  ':qkd_node',
  'x'.repeat(900),
  'qkd_interface=99',
  `qkd_link=${sdnUuid('link', 'none')}`,
  'phys_perf=etsi-qkd-node-types%3ASNR',
  'skr=5',
  '\u00e9t\u00e9',
  '=',
  '==',
];
const BAD_ACCEPT = [
  'application/yang-data+xml',
  'text/html',
  'image/png',
  'application/json;q=0',
  'x',
  '*/*;q=0',
];
const CALLERS: readonly (Caller | null)[] = [
  { kind: 'sae', id: 'sae-a' },
  { kind: 'kme', id: 'kme-b' },
  { kind: 'metrics', id: 'prom' },
  null,
];
function generate(rng: Rng): FuzzCase {
  let path = pick(rng, VALID_PATHS);
  const isData = path.startsWith('/restconf/data');
  const query: string[] = isData && rng.nextInt(3) === 0 ? [pick(rng, DATA_QUERIES)] : [];
  let method = rng.nextInt(8) === 0 ? 'HEAD' : 'GET';
  const headers: Record<string, string> = {
    'x-caller': 'sdn:controller',
    accept: pick(rng, [
      'application/yang-data+json',
      '*/*',
      'application/json',
      'application/yang-data+json, */*',
    ]),
  };
  if (path.startsWith('/.well-known'))
    headers.accept = pick(rng, ['*/*', path.endsWith('.json') ? 'application/json' : 'application/xrd+xml']);
  let payload: string | undefined;
  const mutations: string[] = [];
  const n = rng.nextInt(12) === 0 ? 0 : 1 + rng.nextInt(2);
  for (let tries = 0; mutations.length < n && tries < 50; tries++) {
    const m = rng.nextInt(8);
    if (m === 0 && path.startsWith(`/restconf/data/${Q}`)) {
      const segs = path.split('/');
      segs[4 + rng.nextInt(Math.max(1, segs.length - 4))] = pick(rng, BAD_SEGMENTS);
      path = segs.join('/');
      mutations.push('segment');
    } else if (m === 1 && path.startsWith('/restconf/data')) {
      path = `${path.replace(/\/$/, '')}/${pick(rng, BAD_SEGMENTS)}`;
      mutations.push('extra segment');
    } else if (m === 2 && path.startsWith('/restconf/data')) {
      query.push(pick(rng, BAD_QUERIES));
      mutations.push('query');
    } else if (m === 3) {
      method = pick(rng, ['POST', 'PUT', 'PATCH', 'DELETE']);
      if (rng.nextInt(2) === 0) {
        payload = pick(rng, ['{', '{"etsi-qkd-sdn-node:qkd_links":{}}', 'x'.repeat(2000), '[]']);
        headers['content-type'] = pick(rng, ['application/yang-data+json', 'application/json', 'text/plain']);
      }
      mutations.push('method');
    } else if (m === 4) {
      headers.accept = pick(rng, BAD_ACCEPT);
      mutations.push('accept');
    } else if (m === 5) {
      const c = pick(rng, CALLERS);
      if (c) headers['x-caller'] = `${c.kind}:${c.id}`;
      else delete headers['x-caller'];
      mutations.push('caller');
    } else if (m === 6 && path.startsWith('/restconf/data/')) {
      path = path.replace(
        '/restconf/data/',
        pick(rng, ['/restconf/data//', '/restconf/dat/', '/restconf/data/x:']),
      );
      mutations.push('root');
    } else if (m === 7) {
      if (path.startsWith('/.well-known')) {
        path = `${path}x`;
        mutations.push('unknown well-known resource');
      } else if (!path.startsWith('/restconf/data')) {
        query.push(pick(rng, ['depth=1', 'x=1', 'content=all']));
        mutations.push('query on a fixed resource');
      } else {
        path = `${path}/${pick(rng, ['qkdn_id', 'qkd_links', 'device'])}=${rng.nextInt(10)}`;
        mutations.push('key on a non-list');
      }
    }
  }
  const url = query.length ? `${path}?${query.join('&')}` : path;
  return { method, url, headers, ...(payload ? { payload } : {}), mutations };
}

/** The oracle: valid → 200; malformed → 4xx with an `ietf-restconf:errors` body (RFC 8040 §7.1). */
function judge(c: FuzzCase, { status, text }: FuzzAnswer): void {
  const what = `${c.method} ${c.url.slice(0, 160)} [${c.mutations.join(', ')}]`;
  assert.ok(status < 500, `5xx for ${what}: ${text.slice(0, 200)}`);
  if (c.mutations.length === 0) {
    assert.equal(status, 200, what);
    return;
  }
  assert.ok(status >= 400 && status < 500, `${status} for ${what}`);
  if (c.method === 'HEAD') return; // no body in a HEAD answer
  const body = JSON.parse(text) as { 'ietf-restconf:errors'?: { error?: { 'error-tag'?: string }[] } };
  assert.ok(
    body['ietf-restconf:errors']?.error?.[0]?.['error-tag'],
    `no RESTCONF error for ${what}: ${text}`,
  );
}

let app: FastifyInstance;
before(async () => {
  app = await restconfInjectApp(() => state);
});
after(() => app.close());

test('11,000 seeded RESTCONF requests: valid → 200, malformed → 4xx ietf-restconf:errors, never 5xx', async () => {
  const rng = createRng(15).stream('etsi-015-fuzz');
  const seen = await runFuzz({ total: 11_000, generate: () => generate(rng), send: viaInject(app), judge });
  // valid requests are answered 200 by the oracle, so more than 500 of them were served
  assertMix(seen, 11_000, { malformed: 10_000, valid: 500 });
});
