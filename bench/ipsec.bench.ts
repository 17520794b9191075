/**
 * `npm run bench -- ipsec [runs] [netns-prefix] [max-ues]` (root): IKEv2 SA establishment time on real strongSwan 5.9.8 in two
 * network namespaces, by authentication mode — the same loop as `qkdnet ipsec bench` (src/ipsec/bench.ts):
 * VICI `initiate` until IKE and CHILD SA are up; QKD modes with and without the ETSI GS QKD 014 fetch in
 * the timed window. Baselines (`psk`, `cert-ecdsa`) are measured side by side in the same run, rounds
 * cycling through the modes. Sanity checks: every mode produced `runs` successful SAs (a failure aborts the
 * run), medians are positive and finite, and each QKD mode is not faster with the fetch than without it
 * by more than noise. Per mode the median's 95% bootstrap interval, per pair the ratio of medians with its
 * interval. Then many UEs through one N3IWF (src/ipsec/scale-bench.ts): 1, 10, 100 … `max-ues` UEs, 3 runs
 * each, 8 at a time, a fresh QKD PPK per SA (stand-in link with enough keys), one explicit reauthentication
 * of every UE, then SAs with a short key lifetime (max(5 s, N / 20 s)) renewed by the agents on expiry; and once against the
 * event-level link at 25 km under policy pqc, so the pool empties. Load averages recorded before and after.
 * Writes bench/results/ipsec.json with machine, Node version and commit.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { agentLogger, medianRatio, PUBLISHED, runIpsecBench, runScaleBench } from '../src/ipsec/index.ts';
import { benchTable } from '../src/cli/commands/ipsec.ts';
import { eventLevelFeed, intervalTable, scaleTable } from '../src/cli/commands/ipsec-scale.ts';

const runs = Number(process.argv[2] ?? 30);
if (!Number.isInteger(runs) || runs < 1)
  throw new RangeError(`runs must be a positive integer, got ${process.argv[2]}`);
// An optional second argument names the namespaces (default qkbench), so runs side by side do not collide.
const prefix = process.argv[3];
const maxUes = Number(process.argv[4] ?? 300);
const loadBefore = os.loadavg();
const report = await runIpsecBench({
  runs,
  log: agentLogger('bench', 'error'),
  ...(prefix ? { prefix } : {}),
});

const find = (mode: string, fetch: boolean) =>
  report.modes.find((m) => m.mode === mode && m.fetch_in_window === fetch);
for (const m of report.modes)
  if (!(m.median_ms > 0 && Number.isFinite(m.median_ms)))
    throw new Error(`sanity: median of ${m.mode} is ${m.median_ms}`);
for (const mode of ['psk+qkd-ppk', 'cert+qkd-ppk', 'qkd-psk']) {
  const w = find(mode, true)!;
  const wo = find(mode, false)!;
  if (w.median_ms < 0.8 * wo.median_ms)
    throw new Error(`sanity: ${mode} is faster with the fetch than without`);
}
const psk = find('psk', false);
const cert = find('cert-ecdsa', false);
const target = find('psk+qkd-ppk', true)!;
const ratio = medianRatio(target, psk);
console.log(benchTable(report));
console.log(intervalTable(report));

// many UEs through one N3IWF
const scalePrefix = `${prefix ?? 'qkbench'}-n`;
const scale = [];
for (const ues of [1, 10, 100, 300, 1000].filter((n) => n <= maxUes)) {
  const r = await runScaleBench({
    ues,
    concurrency: 8,
    runs: 3,
    mode: 'psk+qkd-ppk',
    policy: 'fail-closed',
    rekey: true,
    // then SAs with a short key lifetime, renewed by the agents' own timers: about 20 reauthentications/s
    // at every size (below the attach rate measured here), at least 5 s
    lifetimeS: Math.max(5, Math.ceil(ues / 20)),
    prefix: scalePrefix,
    log: agentLogger('bench', 'error'),
    progress: (d, t, phase) => process.stderr.write(`\r${ues} UEs ${phase}: ${d}/${t}   `),
  });
  process.stderr.write('\n');
  // failed attaches are reported (per_run.refused, failures), not hidden: a loaded machine times some out
  if (r.per_run.every((x) => x.attached === 0)) throw new Error(`sanity: no UE attached at ${ues}`);
  if (Object.keys(r.failures).length > 0) console.log('failures:', r.failures);
  if (r.rekey && !r.rekey.new_keys_distinct) throw new Error('sanity: a rekey reused a key');
  if (r.lifetime && !r.lifetime.new_keys_distinct) throw new Error('sanity: a lifetime rekey reused a key');
  console.log(scaleTable(r));
  scale.push(r);
}
const eventUes = Math.min(maxUes, 300);
const eventLevel = await runScaleBench({
  ues: eventUes,
  concurrency: 8,
  runs: 1,
  mode: 'psk+qkd-ppk',
  policy: 'pqc',
  prefix: scalePrefix,
  log: agentLogger('bench', 'error'),
  feed: eventLevelFeed('ipsec-bench', 25, 1e9),
  waitForBlocks: 1,
  progress: (d, t, phase) => process.stderr.write(`\revent-level ${phase}: ${d}/${t}   `),
});
process.stderr.write('\n');
console.log(scaleTable(eventLevel));

const result = {
  benchmark: 'ipsec',
  what: 'IKEv2 SA establishment (VICI initiate → IKE + CHILD SA up), strongSwan 5.9.8 + kernel-libipsec, veth between two netns, aes256gcm16-prfsha256-x25519',
  runs: report.runs,
  modes: report.modes.map((m) => ({
    ...m,
    ratio_to_psk: +medianRatio(m, psk).toFixed(3),
    ratio_to_cert_ecdsa: +medianRatio(m, cert).toFixed(3),
  })),
  key_journey: report.keyJourney,
  fetch_breakdown: report.fetchBreakdown,
  intervals: report.intervals,
  ratios: report.ratios,
  scale,
  event_level: eventLevel,
  loadavg: { before: loadBefore, after: os.loadavg() },
  published: PUBLISHED,
  target: {
    mode: 'psk+qkd-ppk',
    fetch_in_window: true,
    max_ratio_to_psk: 1.05,
    ratio_to_psk: +ratio.toFixed(3),
    met: ratio <= 1.05,
  },
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, os: `${os.platform()} ${os.release()}` },
  node: process.version,
  commit: execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim(),
  date: new Date().toISOString(),
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/ipsec.json', `${JSON.stringify(result, null, 2)}\n`);
console.log(
  'key journey alone (fetch modes), median ms:',
  report.keyJourney?.map((j) => `${j.mode} ${j.median_ms}`).join(', '),
);
console.log(
  'of which (all fetch runs), median ms:',
  report.fetchBreakdown?.map((j) => `${j.mode} ${j.median_ms}`).join(', '),
);
console.log('wrote bench/results/ipsec.json');
