/**
 * `qkdnet up --topology etsi015`: the controller builds the metro demo from the nodes' ETSI GS QKD 015 data
 * alone (the `qkd_node` data each node's KME serves, built here without sockets; the same over real
 * mutual TLS from six running KMEs: topology-etsi015.slow.test.ts), and its key-aware router then gives
 * every application the same paths as the controller built from the scenario file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { qkdNodeJson, sdnUuid } from '../kms/index.ts';
import { loadScenario, scenarioFromEtsi015, type LinkView } from '../network/index.ts';
import { scenarioSdnState } from './sdn-state.ts';
import { METRO, pairs, routes } from './topology-etsi015.fixture.ts';

test('the metro demo rebuilt from 015 data routes every application as the file does', () => {
  const file = loadScenario(METRO);
  const sources = file.nodes.map((n) => ({ origin: n.id, node: qkdNodeJson(scenarioSdnState(file, n.id)) }));
  const { scenario, warnings } = scenarioFromEtsi015(file, sources);
  assert.deepEqual(warnings, []);
  assert.deepEqual(pairs(scenario), pairs(file));
  assert.equal(scenario.links.length, 9); // 18 link records (one per end) paired into 9 links
  const fromFile = routes(file, 120);
  assert.ok(
    Object.values(fromFile).every((r) => r !== null),
    'every application is routed',
  );
  assert.deepEqual(routes(scenario, 120), fromFile);
});

test('the 015 data alone decide the graph: a link missing from them is gone, an OFF one is cut', () => {
  const file = loadScenario(METRO);
  const down = { state: 'down', generating: false, rateBps: 0, qber: null } as unknown as LinkView;
  const sources = file.nodes.map((n) => ({
    origin: n.id,
    node: qkdNodeJson(scenarioSdnState(file, n.id, (id) => (id === 'hq-dcn' ? down : undefined))),
  }));
  // Drop hq-bw from both ends' data: the controller must not know it.
  const gone = sdnUuid('link', 'hq-bw');
  for (const s of sources) {
    const box = s.node.qkd_links as { qkd_link?: { qkdl_id: string }[] };
    if (box.qkd_link) box.qkd_link = box.qkd_link.filter((l) => l.qkdl_id !== gone);
  }
  const { scenario, warnings } = scenarioFromEtsi015(file, sources);
  assert.ok(!scenario.links.some((l) => l.id === 'hq-bw'));
  assert.ok(warnings.some((w) => w.includes('hq-bw')));
  assert.deepEqual(
    scenario.events.filter((e) => e.atS === 0),
    [{ atS: 0, kind: 'fail', target: 'hq-dcn' }],
  );
  // The router agrees: with hq-dcn cut, telemetry (hq → dc-north) goes round it.
  const r = routes(scenario, 60).telemetry;
  assert.ok(r && r[0]!.length > 2, JSON.stringify(r));
});
