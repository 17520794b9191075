/**
 * ETSI GS QKD 015 V2.1.1 over RESTCONF (RFC 8040): the served JSON validates against the checked-in JSON
 * Schema derived from the `etsi-qkd-sdn-node` YANG tree (schemas/etsi-qkd-sdn-node.schema.json), the
 * resources and errors follow RFC 8040 §3, §4.8, §7, what TeraFlowSDN's QKD driver reads is there, link
 * state changes arrive as notifications (§6), and over real mutual TLS only the sdn role is admitted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';

import Fastify, { type FastifyInstance } from 'fastify';
import { Ajv } from 'ajv';
import { decimal64, qkdNodeJson, sdnUuid, type SdnNodeState } from './etsi-gs-qkd-015.ts';
import { SCHEMA_NODE_NAMES } from './etsi-gs-qkd-015-restconf.ts';
import { createRestconfNode } from './etsi-gs-qkd-015-server.ts';
import { issueCertificate } from './pki.ts';
import { makeTestPki, startPair, type TestPki } from './kme-pair.fixture.ts';
import { restconfInjectApp } from './etsi-gs-qkd-015.fixture.ts';
import type { KmeHandle } from './server.ts';

const schema = JSON.parse(
  readFileSync(new URL('../../schemas/etsi-qkd-sdn-node.schema.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;
const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile<
  Record<string, any>
>(schema);
const Q = 'etsi-qkd-sdn-node:qkd_node';

const A = sdnUuid('node', 'kme-a');
const B = sdnUuid('node', 'kme-b');
const C = sdnUuid('node', 'kme-c');
const L1 = sdnUuid('link', 'a|b');
const L2 = sdnUuid('link', 'a|c');
const APP = sdnUuid('app', 'sae-a|kme-b');

function nodeState(l1: 'ACTIVE' | 'OFF' = 'ACTIVE', skr = 12_000): SdnNodeState {
  return {
    nodeId: A,
    status: 'OPERATING',
    version: 'qkdnet test',
    locationId: 'site-A',
    linkStats: true,
    appStats: false,
    keyRelay: true,
    interfaces: [
      {
        id: 1,
        model: 'sim',
        technology: 'DV-QKD',
        attachDevice: 'kme-b',
        attachPort: 1,
        role: 'TRANSMITTER',
        status: 'ENABLED',
      },
      {
        id: 2,
        model: 'sim',
        technology: 'DV-QKD',
        attachDevice: 'kme-c',
        attachPort: 1,
        role: 'TRANSCEIVER',
        status: 'ENABLED',
      },
    ],
    links: [
      {
        id: L1,
        status: l1,
        enabled: true,
        localInterface: 1,
        remoteNodeId: B,
        remoteInterface: 1,
        type: 'PHYS',
        apps: [APP],
        channelAttenuationDb: 2.4,
        role: 'TRANSMITTER',
        skrBps: skr,
        eskrBps: skr - 192,
        expectedConsumptionBps: 192,
        qber: 0.024,
      },
      {
        id: L2,
        status: 'PENDING',
        enabled: true,
        localInterface: 2,
        remoteNodeId: C,
        remoteInterface: 1,
        type: 'PHYS',
        apps: [],
        skrBps: 0,
        eskrBps: 0,
        expectedConsumptionBps: 0,
      },
    ],
    apps: [
      {
        id: APP,
        status: 'ON',
        type: 'CLIENT',
        serverUri: 'urn:qkdnet:sae:sae-a',
        clientUris: ['urn:qkdnet:sae:sae-b'],
        priority: 0,
        localNodeId: A,
        remoteNodeId: B,
        backingLinks: [L1],
        maxBandwidthBps: 192,
      },
    ],
  };
}

let app: FastifyInstance;
let current = nodeState();
before(async () => {
  app = await restconfInjectApp(() => current);
});
after(() => app.close());

const sdn = { 'x-caller': 'sdn:controller', accept: 'application/yang-data+json' };
const get = (url: string, headers: Record<string, string> = sdn) =>
  app.inject({ method: 'GET', url, headers });

test('the node resource validates against the JSON Schema derived from the YANG tree', async () => {
  const r = await get(`/restconf/data/${Q}`);
  assert.equal(r.statusCode, 200);
  assert.match(r.headers['content-type'] as string, /^application\/yang-data\+json/);
  const body = r.json();
  assert.ok(validate(body), JSON.stringify(validate.errors));
  const n = body[Q];
  assert.equal(n.qkdn_id, A);
  assert.equal(n.qkdn_status, 'etsi-qkd-node-types:OPERATING'); // RFC 7951 §6.8: module name, not prefix
  const l = n.qkd_links.qkd_link[0];
  assert.equal(l.phys_channel_att, '2.4'); // decimal64 → string (RFC 7951 §6.1)
  assert.equal(l.qkdl_performance.skr, 12000); // uint32 → number
  assert.deepEqual(l.qkdl_performance.phys_perf, [{ perf_type: 'etsi-qkd-node-types:QBER', value: '2.4' }]);
});

test('the schema refuses what RFC 7951 and the YANG tree forbid (it can fail)', () => {
  const good = { [Q]: qkdNodeJson(nodeState()) };
  assert.ok(validate(good));
  const bad = (f: (n: Record<string, any>) => void) => {
    const copy = JSON.parse(JSON.stringify(good));
    f(copy[Q]);
    return validate(copy);
  };
  assert.equal(
    bad((n) => (n.qkdn_status = 'etsi-qkdn-types:OPERATING')),
    false,
    'prefix instead of module',
  );
  assert.equal(
    bad((n) => (n.qkd_links.qkd_link[0].phys_channel_att = 2.4)),
    false,
    'decimal64 as number',
  );
  assert.equal(
    bad((n) => (n.qkd_links.qkd_link[0].qkdl_performance.skr = '12000')),
    false,
    'uint32 as string',
  );
  assert.equal(
    bad((n) => delete n.qkdn_id),
    false,
    'mandatory qkdn_id',
  );
  assert.equal(
    bad((n) => (n.qkd_links.qkd_link[0].virt_bandwidth = 5)),
    false,
    'virt_* on a PHYS link',
  );
  assert.equal(
    bad((n) => (n.unknown_leaf = 1)),
    false,
    'unknown member',
  );
  assert.equal(
    bad((n) => (n.qkd_applications.qkd_app = [])),
    false,
    'empty list',
  );
});

test("the fact sheet's hand-written example node (an independent instance) validates too", () => {
  // Values from the example of the 015 fact sheet, written without qkdnet's builder.
  const example = {
    [Q]: {
      qkdn_id: 'a1000000-0000-4000-8000-00000000000a',
      qkdn_status: 'etsi-qkd-node-types:OPERATING',
      qkdn_version: 'ts-kme 0.3.0',
      qkdn_location_id: 'site-A',
      qkdn_capabilities: {
        link_stats_support: true,
        application_stats_support: false,
        key_relay_mode_enable: false,
      },
      qkd_interfaces: {
        qkd_interface: [
          {
            qkdi_id: 1,
            qkdi_model: 'acme/dv-100',
            qkdi_type: 'etsi-qkd-node-types:DV-QKD',
            qkdi_att_point: { device: 'QKD-B', port: 1 },
            qkdi_capabilities: {
              role_support: 'etsi-qkd-node-types:TRANSMITTER',
              wavelength_range: '20-30',
              max_absorption: '18.0',
            },
            qkdi_status: 'etsi-qkd-node-types:ENABLED',
          },
        ],
      },
      qkd_links: {
        qkd_link: [
          {
            qkdl_id: '1ab00000-0000-4000-8000-000000000001',
            qkdl_status: 'etsi-qkd-node-types:ACTIVE',
            qkdl_enable: true,
            qkdl_local: { qkdn_id: 'a1000000-0000-4000-8000-00000000000a', qkdi_id: 1 },
            qkdl_remote: { qkdn_id: 'b2000000-0000-4000-8000-00000000000b', qkdi_id: 1 },
            qkdl_type: 'etsi-qkd-node-types:PHYS',
            phys_channel_att: '7.5',
            phys_wavelength: '21',
            phys_qkd_role: 'etsi-qkd-node-types:TRANSMITTER',
            qkdl_performance: {
              expected_consumption: 2048,
              skr: 12000,
              eskr: 10500,
              phys_perf: [{ perf_type: 'etsi-qkd-node-types:QBER', value: '2.4' }],
            },
          },
        ],
      },
    },
  };
  assert.ok(validate(example), JSON.stringify(validate.errors));
});

test('every node name the RESTCONF resolver knows is a property of the schema and back', () => {
  const names = new Set<string>();
  const walk = (s: unknown) => {
    if (!s || typeof s !== 'object') return;
    const o = s as Record<string, unknown>;
    if (o.properties && typeof o.properties === 'object')
      for (const k of Object.keys(o.properties)) names.add(k.replace(/^etsi-qkd-sdn-node:/, ''));
    for (const v of Object.values(o)) walk(v);
  };
  walk(schema);
  assert.deepEqual([...names].sort(), [...SCHEMA_NODE_NAMES].sort());
});

test('decimal64 is written in YANG canonical form (RFC 7950 §9.3.2)', () => {
  assert.equal(decimal64(7.5), '7.5');
  assert.equal(decimal64(18), '18.0');
  assert.equal(decimal64(0.0004), '0.0');
  assert.equal(decimal64(2.4567), '2.457');
});

test('RFC 8040 resources: host-meta, the API root, list entries, leaves, trailing slash, depth and content', async () => {
  const hm = await get('/.well-known/host-meta', { ...sdn, accept: 'application/xrd+xml' });
  assert.equal((await get('/.well-known/host-meta')).statusCode, 406); // not yang-data
  assert.equal(hm.statusCode, 200);
  assert.match(hm.body, /rel='restconf' href='\/restconf'/);
  assert.deepEqual((await get('/restconf')).json(), {
    'ietf-restconf:restconf': { data: {}, operations: {}, 'yang-library-version': '2016-06-21' },
  });
  const link = await get(`/restconf/data/${Q}/qkd_links/qkd_link=${L1}`);
  assert.equal(link.statusCode, 200);
  assert.equal(link.json()['etsi-qkd-sdn-node:qkd_link'][0].qkdl_id, L1); // one-element array (RFC 7951 §5.4)
  const skr = await get(`/restconf/data/${Q}/qkd_links/qkd_link=${L1}/qkdl_performance/skr`);
  assert.deepEqual(skr.json(), { 'etsi-qkd-sdn-node:skr': 12000 });
  const perf = await get(
    `/restconf/data/${Q}/qkd_links/qkd_link=${L1}/qkdl_performance/phys_perf=etsi-qkd-node-types%3AQBER/value`,
  );
  assert.deepEqual(perf.json(), { 'etsi-qkd-sdn-node:value': '2.4' });
  const iface = await get(`/restconf/data/${Q}/qkd_interfaces/qkd_interface=2/`);
  assert.equal(iface.json()['etsi-qkd-sdn-node:qkd_interface'][0].qkdi_att_point.device, 'kme-c');
  const shallow = (await get(`/restconf/data/${Q}?depth=2`)).json()[Q];
  assert.equal(shallow.qkdn_id, A);
  assert.deepEqual(shallow.qkd_links, {});
  assert.deepEqual(shallow.qkdn_capabilities, {}); // its leaves are level 3
  assert.deepEqual((await get(`/restconf/data/${Q}?depth=1`)).json(), { [Q]: {} }); // §4.8.2: target only
  const cfg = (await get(`/restconf/data/${Q}?content=config`)).json()[Q];
  assert.equal(cfg.qkdn_status, undefined); // config false (yang:79)
  assert.equal(cfg.qkd_links.qkd_link[0].qkdl_performance?.skr, undefined);
  const ro = (await get(`/restconf/data/${Q}?content=nonconfig`)).json()[Q];
  assert.equal(ro.qkdn_status, 'etsi-qkd-node-types:OPERATING');
  assert.equal(ro.qkd_links.qkd_link[0].qkdl_id, L1); // list keys stay
  assert.equal(ro.qkd_links.qkd_link[0].qkdl_type, undefined);
  const lib = (await get('/restconf/data/ietf-yang-library:modules-state')).json();
  const mods = lib['ietf-yang-library:modules-state'].module.map((m: { name: string }) => m.name);
  assert.ok(mods.includes('etsi-qkd-sdn-node') && mods.includes('etsi-qkd-node-types'));
});

test('what TeraFlowSDN QKDDriver2 reads is there (Accept */*, trailing slashes, unqualified names)', async () => {
  const tfs = { 'x-caller': 'sdn:tfs', accept: '*/*' };
  const node = (await get(`/restconf/data/${Q}`, tfs)).json();
  assert.equal(node.qkd_node.qkdn_id, A); // Connect/GetInitialConfig: key "qkd_node"
  assert.equal((await get(`/restconf/data/${Q}/`, tfs)).json().qkdn_id, A); // fetch_node: top-level qkdn_id
  const ifs = (await get(`/restconf/data/${Q}/qkd_interfaces/`, tfs)).json();
  const eps = ifs.qkd_interfaces.qkd_interface.filter(
    (i: { qkdi_att_point?: { device?: string; port?: number } }) =>
      i.qkdi_att_point?.device && i.qkdi_att_point.port !== undefined,
  );
  assert.equal(eps.length, 2); // endpoints need att_point device and port
  const apps = (await get(`/restconf/data/${Q}/qkd_applications/`, tfs)).json();
  assert.equal(apps.qkd_applications.qkd_app[0].app_id, APP);
  const caps = (await get(`/restconf/data/${Q}/qkdn_capabilities/`, tfs)).json();
  assert.equal(caps.qkdn_capabilities.link_stats_support, true);
});

test('errors are ietf-restconf:errors with the RFC 8040 §7 status, never 5xx', async () => {
  const tag = (r: { json(): any }) => r.json()['ietf-restconf:errors'].error[0]['error-tag'];
  const cases: [string, Record<string, string>, string, number, string][] = [
    [
      'GET',
      sdn,
      `/restconf/data/${Q}/qkd_links/qkd_link=00000000-0000-4000-8000-000000000000`,
      404,
      'invalid-value',
    ],
    ['GET', sdn, `/restconf/data/${Q}/qkd_links/qkd_link`, 400, 'missing-attribute'],
    ['GET', sdn, `/restconf/data/${Q}/no_such_node`, 400, 'unknown-element'],
    ['GET', sdn, '/restconf/data/qkd_node', 400, 'malformed-message'],
    ['GET', sdn, `/restconf/data/${Q}?depth=0`, 400, 'invalid-value'],
    ['GET', sdn, `/restconf/data/${Q}?depth=1&depth=2`, 400, 'invalid-value'],
    ['GET', sdn, `/restconf/data/${Q}?fields=qkdn_id`, 400, 'invalid-value'],
    ['GET', { ...sdn, accept: 'application/yang-data+xml' }, `/restconf/data/${Q}`, 406, 'invalid-value'],
    ['POST', sdn, `/restconf/data/${Q}/qkd_links`, 405, 'operation-not-supported'],
    ['DELETE', sdn, `/restconf/data/${Q}`, 405, 'operation-not-supported'],
    ['GET', { accept: 'application/yang-data+json' }, `/restconf/data/${Q}`, 401, 'access-denied'],
    ['GET', { ...sdn, 'x-caller': 'sae:sae-a' }, `/restconf/data/${Q}`, 403, 'access-denied'],
    ['GET', { ...sdn, 'x-caller': 'kme:kme-b' }, '/.well-known/host-meta', 403, 'access-denied'],
    ['GET', sdn, '/restconf/nothing', 404, 'invalid-value'],
  ];
  for (const [method, headers, url, status, t] of cases) {
    const r = await app.inject({ method: method as 'GET', url, headers });
    assert.equal(r.statusCode, status, `${method} ${url}`);
    assert.equal(tag(r), t, `${method} ${url}`);
    assert.match(r.headers['content-type'] as string, /^application\/yang-data\+json/);
    if (status === 405) assert.equal(r.headers.allow, 'GET, HEAD, OPTIONS');
  }
});

let pki: TestPki;
let kmes: { a: KmeHandle; b: KmeHandle; close(): Promise<void> };
before(async () => {
  pki = await makeTestPki();
  await issueCertificate(pki.dir, 'controller', 'sdn');
  kmes = await startPair(pki, { blocks: 2 });
});
after(async () => {
  await kmes.close();
  pki.cleanup();
});

function httpsGet(
  url: string,
  who: string,
  accept = 'application/yang-data+json',
): Promise<{ status: number; body: string; type: string }> {
  const t = pki.tls(who);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { cert: readFileSync(t.cert), key: readFileSync(t.key), ca: readFileSync(t.ca), headers: { accept } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('over real mutual TLS a KME serves its 015 data to the sdn role only, valid against the schema', async () => {
  const url = `${kmes.a.url}/restconf/data/${Q}`;
  const ok = await httpsGet(url, 'controller');
  assert.equal(ok.status, 200);
  const body = JSON.parse(ok.body);
  assert.ok(validate(body), JSON.stringify(validate.errors));
  assert.equal(body[Q].qkdn_id, sdnUuid('node', 'kme-a'));
  assert.equal(body[Q].qkd_applications.qkd_app[0].server_app_id, 'urn:qkdnet:sae:sae-a');
  const sae = await httpsGet(url, 'sae-a');
  assert.equal(sae.status, 403);
  assert.equal(JSON.parse(sae.body)['ietf-restconf:errors'].error[0]['error-tag'], 'access-denied');
  const peer = await httpsGet(url, 'kme-b');
  assert.equal(peer.status, 403);
  // Malformed requests over the real socket: a path the router cannot decode, a write.
  const undecodable = await httpsGet(`${kmes.a.url}/restconf/data/${Q}/%zz`, 'controller');
  assert.equal(undecodable.status, 400);
  assert.equal(
    JSON.parse(undecodable.body)['ietf-restconf:errors'].error[0]['error-tag'],
    'malformed-message',
  );
  const leaf = await httpsGet(`${url}/qkdn_capabilities/key_relay_mode_enable`, 'controller');
  assert.deepEqual(JSON.parse(leaf.body), { 'etsi-qkd-sdn-node:key_relay_mode_enable': true });
  // The 014 API on the same port is untouched and still refuses the controller.
  const k = await httpsGet(`${kmes.a.url}/api/v1/keys/sae-b/status`, 'controller', 'application/json');
  assert.equal(k.status, 401);
  assert.ok('message' in JSON.parse(k.body));
});

test('a link state change reaches an SSE subscriber as RFC 8040 notifications', async () => {
  let state = nodeState('ACTIVE');
  const server = Fastify({ https: { ...readTls('kme-a'), requestCert: true, rejectUnauthorized: false } });
  const node = createRestconfNode({
    state: () => state,
    identify: (cert, authorized) =>
      authorized && cert ? { kind: 'sdn', id: String(cert.subject.CN) } : null,
    now: () => Date.UTC(2026, 0, 1),
  });
  await node.register(server);
  await server.listen({ host: '127.0.0.1', port: 0 });
  const port = (server.server.address() as { port: number }).port;
  try {
    const t = pki.tls('controller');
    const events: string[] = [];
    const got = new Promise<void>((resolve, reject) => {
      const req = https.request(
        `https://127.0.0.1:${port}/restconf/streams/NETCONF/json`,
        {
          cert: readFileSync(t.cert),
          key: readFileSync(t.key),
          ca: readFileSync(t.ca),
          headers: { accept: 'text/event-stream' },
        },
        (res) => {
          assert.equal(res.statusCode, 200);
          assert.match(String(res.headers['content-type']), /^text\/event-stream/);
          res.on('data', (d: Buffer) => {
            for (const line of d.toString().split('\n'))
              if (line.startsWith('data: ')) events.push(line.slice(6));
            if (events.length >= 2) {
              req.destroy();
              resolve();
            }
          });
          // Subscribed: now the link goes down.
          state = nodeState('OFF', 0);
          const sent = node.refresh();
          assert.equal(sent, 2);
        },
      );
      req.on('error', (e) => (events.length >= 2 ? undefined : reject(e)));
      req.end();
    });
    await got;
    const [down, event] = events.map((e) => JSON.parse(e)['ietf-restconf:notification']);
    assert.equal(down.eventTime, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(down['etsi-qkd-sdn-node:sdqkdn_link_down'].qkd_link.qkdl_id, L1);
    assert.equal(event['etsi-qkd-sdn-node:event'].link.qkdl_status, 'etsi-qkd-node-types:OFF');
  } finally {
    node.close();
    await server.close();
  }
});

function readTls(name: string) {
  const t = pki.tls(name);
  return { cert: readFileSync(t.cert), key: readFileSync(t.key), ca: readFileSync(t.ca) };
}
