/**
 * End-to-end: `qkdnet up scenarios/metro-demo.yaml --sites processes` — one OS process per node. The
 * metro demo comes up with six distinct site processes (each a `qkdnet site` over its own directory); a
 * node's process killed with SIGKILL is seen as a node failure (an alert naming the node, its links down,
 * applications rerouted off it, its links' pools frozen); the supervisor restarts it, its links come
 * back and its key supply resumes; and keys reserved or delivered before the crash are neither lost nor
 * handed out twice (the site reopened its own store).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './browser.fixture.ts';
import { startUp, type UpProcess } from './up-process.fixture.ts';
import { Etsi014Client, type DeliveredKey } from '../../src/kms/index.ts';
import type { DashboardState } from '../../src/server/index.ts';

const VICTIM = 'exchange';
const MASTER = 'dc-north'; // shares link dcn-ex with the victim

let proc: ChildProcess;
let base = '';
let dataDir = '';
let exited: Promise<unknown>;
let up: UpProcess | undefined;
const err = () => up?.stderr() ?? '';

async function state(): Promise<DashboardState> {
  return (await (await fetch(`${base}api/state`)).json()) as DashboardState;
}
const site = (s: DashboardState, node: string) => s.nodes.find((n) => n.id === node)!.site!;
const linksOf = (s: DashboardState, node: string) => s.links.filter((l) => l.from === node || l.to === node);

function sae(s: DashboardState, node: string): Etsi014Client {
  const pki = join(dataDir, 'pki');
  const files = (name: string) => ({
    cert: join(pki, `${name}.pem`),
    key: join(pki, `${name}.key`),
    ca: join(pki, 'ca.pem'),
  });
  return Etsi014Client.fromFiles(s.nodes.find((n) => n.id === node)!.kmeUrl!, files(`sae-${node}`), {
    kmeId: `kme-${node}`,
  });
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'qkdnet-sites-'));
  up = await startUp(
    [
      'scenarios/metro-demo.yaml',
      '--sites',
      'processes',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--speed',
      '20',
    ],
    120_000,
  );
  ({ proc, base, exited } = up);
});

after(async () => {
  await up?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('every node runs as its own site process, reporting to the supervisor', async () => {
  const s = await waitFor('every site up', 180_000, async () => {
    const s = await state();
    return s.nodes.every((n) => n.site?.state === 'up') ? s : undefined;
  });
  const pids = s.nodes.map((n) => n.site!.pid!);
  assert.equal(new Set(pids).size, s.nodes.length, `distinct PIDs: ${pids.join(', ')}`);
  assert.ok(!pids.includes(proc.pid!), 'no site runs inside the supervisor');
  for (const n of s.nodes) {
    // Each PID is a live `qkdnet site` over that node's own directory.
    const cmd = readFileSync(`/proc/${n.site!.pid}/cmdline`, 'utf8').split('\0');
    assert.ok(cmd.includes('site'), cmd.join(' '));
    assert.equal(cmd[cmd.indexOf('--dir') + 1], join(dataDir, 'sites', n.id));
  }
  const metrics = await (await fetch(`${base}metrics`)).text();
  for (const n of s.nodes) assert.match(metrics, new RegExp(`qkdnet_site_up\\{node="${n.id}"\\} 1`));
});

test('SIGKILL of a site is a node failure; the restarted site resumes from its store with nothing lost', async () => {
  // Keys of link dcn-ex: one fetched by the victim's SAE before the crash, three only reserved.
  const master = sae(await state(), MASTER);
  const slave = sae(await state(), VICTIM);
  let keys: DeliveredKey[] = [];
  try {
    keys = await waitFor(`key material at ${MASTER} for ${VICTIM}`, 240_000, async () => {
      try {
        return await master.getKeys(`sae-${VICTIM}`, { number: 4, sizeBits: 256 });
      } catch {
        return undefined;
      }
    });
    const [fetched] = await waitFor('the first key at the victim', 10_000, async () =>
      slave.getKeysWithIds(`sae-${MASTER}`, [keys[0]!.keyId]),
    );
    assert.deepEqual(fetched!.key, keys[0]!.key);

    const before = await state();
    const victim = site(before, VICTIM);
    const reroutesBefore = before.reroutes;
    process.kill(victim.pid!, 'SIGKILL');

    // Seen as a node failure: an alert naming the node, its links down, applications moved off it.
    const down = await waitFor('the node-down alert', 15_000, async () => {
      const s = await state();
      return s.alerts.some((a) => a.kind === 'node-down' && a.nodeId === VICTIM) ? s : undefined;
    });
    const alert = down.alerts.find((a) => a.kind === 'node-down' && a.nodeId === VICTIM)!;
    assert.equal(alert.severity, 'critical');
    assert.match(alert.message, /Node exchange is down \(site process: signal SIGKILL\)/);
    const frozen = linksOf(down, VICTIM);
    assert.ok(frozen.length >= 3);
    for (const l of frozen) assert.equal(l.state, 'down', l.id);
    assert.ok(down.reroutes > reroutesBefore, 'applications were rerouted');
    for (const a of down.apps)
      if (a.route && a.to !== VICTIM && a.from !== VICTIM)
        for (const p of a.route.paths) assert.ok(!p.includes(VICTIM), `${a.id} still routed via ${VICTIM}`);

    // While it is down its links' pools do not move.
    await new Promise((r) => setTimeout(r, 1500));
    const later = await state();
    if (site(later, VICTIM).state !== 'up')
      for (const l of linksOf(later, VICTIM)) {
        const was = frozen.find((x) => x.id === l.id)!;
        assert.equal(l.poolBits, was.poolBits, `${l.id} pool frozen`);
        assert.equal(l.kmeBits, was.kmeBits, `${l.id} KME supply frozen`);
      }

    // Restarted by the supervisor: a new process, the links back, key supply resumed.
    const back = await waitFor('the restarted site', 120_000, async () => {
      const s = await state();
      return s.alerts.some((a) => a.kind === 'node-up' && a.nodeId === VICTIM) ? s : undefined;
    });
    const again = site(back, VICTIM);
    assert.equal(again.state, 'up');
    assert.notEqual(again.pid, victim.pid);
    assert.equal(again.restarts, 1);
    for (const l of linksOf(back, VICTIM)) assert.equal(l.state, 'up', l.id);
    const dcnEx = frozen.find((l) => l.id === 'dcn-ex')!;
    // Each block is simulated and post-processed at both of its sites (docs/deploy.md, known limits of
    // --sites), one block in the network at a time: on a loaded 2-core host a block takes a minute or more.
    await waitFor('key supply on dcn-ex after the restart', 480_000, async () => {
      const l = (await state()).links.find((x) => x.id === 'dcn-ex')!;
      return l.kmeBits > dcnEx.kmeBits ? true : undefined;
    });

    // Nothing lost: the three reserved keys are served by the restarted site, byte for byte.
    const rest = await waitFor('the reserved keys at the restarted site', 30_000, async () =>
      slave.getKeysWithIds(
        `sae-${MASTER}`,
        keys.slice(1).map((k) => k.keyId),
      ),
    );
    assert.deepEqual(
      rest.map((k) => k.key),
      keys.slice(1).map((k) => k.key),
    );
    // Nothing duplicated: every key, the one delivered before the crash included, is refused a second time.
    for (const k of keys) await assert.rejects(slave.getKeysWithIds(`sae-${MASTER}`, [k.keyId]), k.keyId);
  } finally {
    for (const k of keys) k.key.fill(0);
    master.close();
    slave.close();
  }
});

test('Ctrl-C stops the supervisor and every site process', async () => {
  const pids = (await state()).nodes.map((n) => n.site!.pid!);
  proc.kill('SIGINT');
  await exited;
  assert.equal(proc.exitCode, 0, err());
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), `site ${pid} is gone`);
});
