/**
 * `qkdnet up --topology etsi015` over real sockets: six KMEs of the metro demo serve their ETSI GS QKD 015
 * data over RESTCONF with mutual TLS; the controller reads them with the fleet's sdn certificate, builds
 * the same nine links as the file, and its router gives every application the same paths.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sdnUuid } from '../kms/index.ts';
import { loadScenario } from '../network/index.ts';
import { startLiveNetwork } from './compose.ts';
import { startKmeFleet } from './kme-fleet.ts';
import { scenarioSdnState } from './sdn-state.ts';
import { METRO, pairs, routes } from './topology-etsi015.fixture.ts';
import { topologyFromKmes } from './topology-etsi015.ts';

const root = mkdtempSync(join(tmpdir(), 'qkdnet-etsi015-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('over mutual TLS the controller reads six KMEs and builds the same metro network', async () => {
  const file = loadScenario(METRO);
  const neighbours = new Map(file.nodes.map((n) => [n.id, [] as string[]]));
  for (const l of file.links) {
    neighbours.get(l.from)!.push(l.to);
    neighbours.get(l.to)!.push(l.from);
  }
  const fleet = await startKmeFleet(
    file.nodes.map((n) => ({
      id: n.id,
      neighbours: neighbours.get(n.id)!,
      sdn: () => scenarioSdnState(file, n.id),
    })),
    join(root, 'fleet'),
    'silent',
  );
  try {
    const { scenario, warnings, sources } = await topologyFromKmes(file, fleet);
    assert.equal(sources.length, 6);
    assert.deepEqual(warnings, []);
    assert.deepEqual(pairs(scenario), pairs(file));
    assert.deepEqual(routes(scenario, 120), routes(file, 120));
  } finally {
    await fleet.close();
  }
});

test('qkdnet up --topology etsi015: the live network routes on the KMEs’ 015 data, and a cut link reaches an SSE subscriber as sdqkdn_link_down', async () => {
  const dir = join(root, 'live');
  const net = await startLiveNetwork({
    scenarioPath: METRO,
    dataDir: dir,
    speed: 10,
    seed: 7,
    linkEngine: false,
    kmeLogLevel: 'silent',
    topology: 'etsi015',
  });
  const agents: https.Agent[] = [];
  try {
    const state = net.live.state();
    assert.equal(state.links.length, 9);
    assert.deepEqual(
      state.links.map((l) => [l.from, l.to].sort().join('–')).sort(),
      pairs(loadScenario(METRO)),
    );
    const hq = net.fleet!.kmes.get('hq')!;
    const pem = (f: string) => readFileSync(join(dir, 'pki', f));
    const agent = new https.Agent({
      cert: pem('sdn-controller.pem'),
      key: pem('sdn-controller.key'),
      ca: pem('ca.pem'),
    });
    agents.push(agent);
    const down = sdnUuid('link', 'hq-dcn');
    const event = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error('no sdqkdn_link_down within 30 s')), 30_000);
      const req = https.request(
        `${hq.url}/restconf/streams/NETCONF/json`,
        { agent, headers: { accept: 'text/event-stream' } },
        (res) => {
          assert.equal(res.statusCode, 200);
          let buf = '';
          res.on('data', (d: Buffer) => {
            buf += d.toString();
            for (const line of buf.split('\n'))
              if (line.startsWith('data: ') && line.includes('sdqkdn_link_down')) {
                clearTimeout(deadline);
                req.destroy();
                resolve(JSON.parse(line.slice(6)) as Record<string, unknown>);
              }
          });
          net.simulation.failLink('hq-dcn'); // subscribed: now cut the link
        },
      );
      req.on('error', (e) =>
        e.message.includes('aborted') || e.message.includes('socket hang up') ? undefined : reject(e),
      );
      req.end();
    });
    const n = event['ietf-restconf:notification'] as Record<string, { qkd_link: { qkdl_id: string } }>;
    assert.equal(n['etsi-qkd-sdn-node:sdqkdn_link_down']!.qkd_link.qkdl_id, down);
  } finally {
    for (const a of agents) a.destroy();
    await net.live.close();
  }
});
