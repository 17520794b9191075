/**
 * End-to-end, as root: `qkdnet up SCENARIO --sites netns` — every site in its own network namespace, the
 * KME-to-KME connections of each link through a `qkdnet netem` with the fibre's one-way delay (4.9 µs/km).
 * Checks: a stale run (its supervisor dead) is cleaned up at start; each site process lives in its own
 * namespace; one delaying proxy per link and direction with the delay of its length, and a request over
 * the long link takes at least the round trips that delay implies; a SIGKILLed site is a node failure
 * and comes back; Ctrl-C removes every namespace, host veth and state file of the run. Skipped, with the
 * reason printed, when not root.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './browser.fixture.ts';
import { startUp, type UpProcess } from './up-process.fixture.ts';
import type { DashboardState } from '../../src/server/index.ts';

const ROOT = process.getuid?.() === 0;
const SKIP = ROOT ? false : 'needs root (network namespaces); run as root to include it';
if (SKIP) process.stdout.write(`sites-netns.slow.test.ts skipped: ${SKIP}\n`);

const SCENARIO = `name: line-3
title: Three sites in a line (test fixture)
sources: ['test fixture: lengths chosen to make the fibre delay measurable']
duration: 1h
defaults: { model: bb84-decoy-infinite, preset: gys, block: 1s, request_interval: 1s, sample_interval: 60s,
  pool_capacity_bits: 4000000, initial_pool_bits: 1000000, key_bits: 256 }
nodes:
  - { id: a, name: A, lat: 46.0, lon: 6.0 }
  - { id: b, name: B, lat: 46.1, lon: 6.1 }
  - { id: c, name: C, lat: 46.2, lon: 6.2 }
links:
  - { id: a-b, from: a, to: b, length_km: 10 }
  - { id: b-c, from: b, to: c, length_km: 100, rate_model: asymptotic }
apps:
  - { id: ac, from: a, to: c, rate_bps: 256 }
events: []
`;

let dir = '';
let proc: ChildProcess | undefined;
let exited: Promise<unknown> = Promise.resolve();
let base = '';
let up: UpProcess | undefined;
const err = () => up?.stderr() ?? '';
const STALE = `qs${process.pid.toString(16).slice(-6).padStart(6, '0')}-0`;
const STATE_DIR = '/run/qkdnet-sites';

const state = async () => (await (await fetch(`${base}api/state`)).json()) as DashboardState;
const netns = () =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
const children = (ppid: number) =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(ppid);
      } catch {
        return false;
      }
    })
    .map(Number);

before(async () => {
  if (SKIP) return;
  dir = mkdtempSync(join(tmpdir(), 'qkdnet-netns-'));
  writeFileSync(join(dir, 'line.yaml'), SCENARIO);
  // A stale run: its supervisor (a process that has exited) left a namespace and a state file behind.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  execFileSync('ip', ['netns', 'add', STALE]);
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  writeFileSync(
    join(STATE_DIR, `${STALE.slice(2, 8)}.json`),
    JSON.stringify({ pid: dead, netns: [STALE], host: [] }),
  );
  up = await startUp(
    [
      join(dir, 'line.yaml'),
      '--sites',
      'netns',
      '--port',
      '0',
      '--data-dir',
      join(dir, 'data'),
      '--speed',
      '20',
    ],
    240_000,
  );
  ({ proc, base, exited } = up);
});

after(async () => {
  await up?.stop();
  if (netns().includes(STALE)) execFileSync('ip', ['netns', 'delete', STALE]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a stale run is cleaned up; every site runs in its own namespace', { skip: SKIP }, async () => {
  assert.ok(!netns().includes(STALE), 'the stale namespace was deleted at start');
  const s = await waitFor('every site up', 240_000, async () => {
    const s = await state();
    return s.nodes.every((n) => n.site?.state === 'up') ? s : undefined;
  });
  const mine = readlinkSync('/proc/self/ns/net');
  const spaces = s.nodes.map((n) => readlinkSync(`/proc/${n.site!.pid}/ns/net`));
  assert.equal(new Set(spaces).size, 3, 'three distinct namespaces');
  assert.ok(!spaces.includes(mine), 'no site in the host namespace');
  assert.match(s.nodes[0]!.kmeUrl!, /^https:\/\/10\.\d+\.\d+\.\d+:\d+$/);
});

test('each link and direction goes through qkdnet netem with the fibre delay', { skip: SKIP }, async () => {
  const proxies = children(proc!.pid!)
    .map(cmdline)
    .filter((c) => c.includes('netem'));
  const delays = proxies.map((c) => Number(c[c.indexOf('--delay-ms') + 1])).sort((x, y) => x - y);
  // 10 km and 100 km at 4.9 µs/km: each link in both directions for the KMEs, and once more for the link's
  // two-party post-processing channel (from Bob's namespace to Alice's port).
  assert.deepEqual(delays, [0.049, 0.049, 0.049, 0.49, 0.49, 0.49]);
  // Through the 100 km link a TLS 1.3 handshake plus one request is at least two round trips of 2 × 0.49 ms.
  const s = await state();
  const b = readFileSync(join(dir, 'data', 'sites', 'b', 'kme.yaml'), 'utf8');
  const toC = /id: kme-c\n\s+url: (https:\/\/127\.0\.0\.1:\d+)/.exec(b)![1]!;
  const ns = execFileSync('ip', ['netns', 'identify', String(s.nodes.find((n) => n.id === 'b')!.site!.pid)], {
    encoding: 'utf8',
  }).trim();
  const tls = join(dir, 'data', 'sites', 'b', 'tls');
  // The proxies start beside the sites: wait until the first request gets through, then time three.
  const once = () =>
    Number(
      execFileSync(
        'ip',
        [
          'netns',
          'exec',
          ns,
          'curl',
          '-sk',
          '-o',
          '/dev/null',
          '-w',
          '%{time_total}',
          '--cert',
          join(tls, 'kme.pem'),
          '--key',
          join(tls, 'kme.key'),
          `${toC}/openapi.json`,
        ],
        { encoding: 'utf8' },
      ),
    );
  await waitFor('a request through the 100 km proxy', 60_000, async () => once());
  const times = [1, 2, 3].map(once);
  assert.ok(Math.min(...times) >= 4 * 0.49e-3 * 0.95, `requests over 100 km took ${times.join(', ')} s`);
});

test('a SIGKILLed site is a node failure and comes back', { skip: SKIP }, async () => {
  const victim = (await state()).nodes.find((n) => n.id === 'b')!.site!;
  process.kill(victim.pid!, 'SIGKILL');
  await waitFor('node-down b', 15_000, async () =>
    (await state()).alerts.some((a) => a.kind === 'node-down' && a.nodeId === 'b') ? true : undefined,
  );
  const back = await waitFor('node-up b', 180_000, async () => {
    const s = await state();
    return s.alerts.some((a) => a.kind === 'node-up' && a.nodeId === 'b') ? s : undefined;
  });
  const again = back.nodes.find((n) => n.id === 'b')!.site!;
  assert.notEqual(again.pid, victim.pid);
  assert.notEqual(readlinkSync(`/proc/${again.pid}/ns/net`), readlinkSync('/proc/self/ns/net'));
});

test('Ctrl-C removes every namespace, host veth and state file of the run', { skip: SKIP }, async () => {
  const ns = netns().filter((n) => n.startsWith('qs') && n !== STALE);
  const run = execFileSync('ip', ['netns', 'identify', String((await state()).nodes[0]!.site!.pid)], {
    encoding: 'utf8',
  })
    .trim()
    .split('-')[0]!;
  proc!.kill('SIGINT');
  await exited;
  assert.equal(proc!.exitCode, 0, err());
  assert.deepEqual(
    netns().filter((n) => n.startsWith(`${run}-`)),
    [],
    `namespaces of ${run} left: ${ns.join(', ')}`,
  );
  assert.ok(
    !execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).includes(`${run}h`),
    'host veths removed',
  );
  assert.ok(!existsSync(join(STATE_DIR, `${run.slice(2)}.json`)), 'state file removed');
});
