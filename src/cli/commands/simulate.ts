/**
 * `qkdnet simulate` — plays a scenario (a QKD network: nodes, links, applications, events) in simulated
 * time and reports how much key demand was served, with which provenance, what failures cost and what a
 * compromised trusted node could read. `--fail`, `--compromise`, `--declare` and `--restore` add events to
 * the scenario's own;
 * `--report DIR` writes an HTML page with plots over time. Same seed → same output (apart from elapsed_ms).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parseDurationS } from '../../common/index.ts';
import {
  buildReportHtml,
  loadScenario,
  NetworkSimulation,
  RATE_MODELS,
  withRateModel,
  type Scenario,
  type ScenarioEvent,
  type SimulationSummary,
} from '../../network/index.ts';
import { formatTable, parseFormat, ProgressBar, UsageError } from '../util.ts';
import { renderLinePlot } from '../svg-plot.ts';
import { mergeShards, runSweep } from './simulate-sweep.ts';
import { runTable } from './simulate-table.ts';

interface SweepFlags {
  seeds?: string;
  shard?: string;
  jobs?: string;
}

const EXAMPLES = `
Examples:
  qkdnet simulate scenarios/metro-demo.yaml
      a day of the demo mesh at finite-key link rates with seed 1; every app served, 86% of the demand by
      QKD (the hybrid app's keys are counted apart), the busiest link (hq-dcn) about 70% used
  qkdnet simulate scenarios/metro-demo.yaml --duration 6h --fail link:hq-dcn@1h..3h --format json
      cut link hq-dcn from 1 h to 3 h; route_changes says how often and why apps moved
  qkdnet simulate scenarios/secoqc-vienna-2008.yaml --compromise node:BREI --report out/
      a silently compromised trusted node; keys_exposed_bits by cause; writes out/report.html, out/summary.json
  qkdnet simulate scenarios/beijing-shanghai-backbone.yaml --seed 7 --fail link:JN-R10@2h --accounting
      a backbone cut at 2 h: the chain splits; the two apps crossing Jinan–Hefei (the hybrid Beijing–Shanghai
      bank link and the Jinan–Hefei government link, 78% of the demand) lose their QKD path and are refused
      — their policies forbid ML-KEM alone — so 28% of the day's demand is served; nothing falls back to
      plaintext
  qkdnet simulate scenarios/metro-demo.yaml --seeds 1..100 --duration 2h --accounting
      100 seeds on worker threads (every core): p5/p50/p95 of every headline figure — demand (Poisson), fiber
      drift and re-alignment outages vary with the seed
  qkdnet simulate scenarios/metro-demo.yaml --seeds 1..100 --shard 0/4 --format json > shard-0.json
  qkdnet simulate merge shard-0.json shard-1.json shard-2.json shard-3.json --format json
      one shard of four for a batch engine (Kubernetes Indexed Job, Slurm array; docs/network.md), then
      the merged JSON, the same as the unsharded sweep's
  qkdnet simulate table --format markdown
      the planning table of docs/scenarios.md: every shipped scenario, no failure / busiest link cut / most
      central node compromised, p5/p50/p95 of served_fraction_qkd over 100 seeds (a few minutes on 2 cores)
  qkdnet simulate scenarios/metro-demo.yaml --rate-model asymptotic
      infinite-key link rates (an upper bound no finite block reaches), for comparison
  qkdnet simulate scenarios/metro-demo.yaml --duration 1h --event-level --format json
      every BB84 fiber link filled by simulated blocks (1e9 pulses = 500 s at 2 MHz) through
      post-processing instead of the key-rate model; adds event_blocks, event_blocks_failed per link

--fail takes link:ID@TIME (cut at TIME) or link:ID@FROM..TO (cut, then restore), comma-separated.
--compromise takes node:ID or node:ID@TIME, comma-separated: the node reads what it relays, silently,
until its next attestation heartbeat fails (every --attestation-interval, default 10s; 0 = never) or an
operator declares it (--declare node:ID@TIME); then a critical alert names it and routes avoid it (a
multipath route is kept while one path avoids it). --restore node:ID@TIME undoes it.
Times are seconds or 90s, 15m, 24h, 2d. JSON fields: duration_s, demand_bits, served_bits,
served_fraction (any provenance, post-quantum included), served_fraction_qkd (qkd, qkd-relayed,
qkd-multipath only), unserved_bits, served_by_provenance, plaintext_bits, reroutes, route_changes {reason:
count, total}, alerts, keys_exposed (a key count), keys_exposed_bits, keys_exposed_by_cause {relay_node,
endpoint}, hybrid_relay_exposed_bits, compromised_nodes[{id, at_s, keys_exposed_bits,
applications, known_at_s, known_by, restored_at_s}], apps[{id, demand_bits, served_bits, served_by_provenance,
unserved_bits, keys_exposed_bits, keys_exposed_by_cause, hybrid_relay_exposed_bits, route_changes}],
links[{id, rate_model, rate_bps, initial_pool_bits, generated_bits, consumed_bits, discarded_bits,
end_pool_bits, relayed_bits, pool_min_bits, utilisation, down_s, outage_s}], elapsed_ms; event-level links also have
source, event_blocks, event_blocks_failed, event_failures {reason: count}. Per link,
initial_pool_bits + generated_bits = consumed_bits + discarded_bits + end_pool_bits.`;

function time(text: string, flag: string): number {
  try {
    return parseDurationS(text);
  } catch {
    throw new UsageError(`${flag}: "${text}" is not a time (e.g. 90s, 15m, 24h)`);
  }
}

/** Parses `--fail link:ID@T[..T2],…` into scenario events. */
export function parseFailures(text: string): ScenarioEvent[] {
  const out: ScenarioEvent[] = [];
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^link:([^@]+)@([^.]+)(?:\.\.(.+))?$/.exec(item);
    if (!m) throw new UsageError(`--fail: "${item}" is not link:ID@TIME or link:ID@FROM..TO`);
    const from = time(m[2]!, '--fail');
    out.push({ atS: from, kind: 'fail', target: m[1]! });
    if (m[3] !== undefined) {
      const to = time(m[3], '--fail');
      if (to <= from) throw new UsageError(`--fail: "${item}" restores before it fails`);
      out.push({ atS: to, kind: 'restore', target: m[1]! });
    }
  }
  return out;
}

/** Parses `--compromise node:ID[@T],…` into scenario events. */
export function parseCompromises(text: string): ScenarioEvent[] {
  return parseNodeEvents(text, '--compromise', 'compromise', false);
}

/**
 * Parses node events `node:ID[@T],…` of `flag` (`--compromise`, `--declare`; `--restore` needs @TIME).
 */
function parseNodeEvents(
  text: string,
  flag: string,
  kind: 'compromise' | 'declare' | 'restore-node',
  needTime: boolean,
): ScenarioEvent[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const m = /^node:([^@]+)(?:@(.+))?$/.exec(item);
      if (!m || (needTime && m[2] === undefined))
        throw new UsageError(
          `${flag}: "${item}" is not ${needTime ? 'node:ID@TIME' : 'node:ID or node:ID@TIME'}`,
        );
      return { atS: m[2] === undefined ? 0 : time(m[2], flag), kind, target: m[1]! };
    });
}

/** The flag an event came from (for error messages). */
const FLAG_OF: Readonly<Record<ScenarioEvent['kind'], string>> = {
  fail: '--fail',
  restore: '--fail',
  compromise: '--compromise',
  declare: '--declare',
  'restore-node': '--restore',
};

export interface SimulateOptions {
  duration?: string;
  seed: string;
  fail?: string;
  compromise?: string;
  declare?: string;
  restore?: string;
  attestationInterval?: string;
  report?: string;
  format: string;
  accounting?: boolean;
  eventLevel?: boolean;
  deterministicKeys?: boolean;
  rateModel?: string;
}

function textSummary(s: SimulationSummary, name: string): string {
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const prov = Object.entries(s.served_by_provenance)
    .map(([k, v]) => `${k} ${s.served_bits ? pct(v / s.served_bits) : '0%'}`)
    .join(', ');
  return [
    `scenario ${name}: ${s.duration_s} s simulated in ${s.elapsed_ms.toFixed(0)} ms`,
    `demand ${s.demand_bits} bits, served ${s.served_bits} bits (${pct(s.served_fraction)}), by QKD ${pct(s.served_fraction_qkd)}; unserved ${s.unserved_bits} bits; plaintext ${s.plaintext_bits} bits`,
    `served by provenance: ${prov}`,
    `route changes ${s.route_changes.total} (${
      Object.entries(s.route_changes)
        .filter(([k, v]) => k !== 'total' && v > 0)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }), alerts ${s.alerts}`,
    `keys exposed ${s.keys_exposed_bits} bits (relay node ${s.keys_exposed_by_cause.relay_node}, endpoint ${s.keys_exposed_by_cause.endpoint}); hybrid keys whose QKD part a relay saw ${s.hybrid_relay_exposed_bits} bits`,
    ...s.compromised_nodes.map(
      (c) =>
        `node ${c.id} compromised at ${c.at_s} s: ${c.keys_exposed_bits} key bits exposed (apps: ${c.applications.join(', ') || 'none'}); ` +
        (c.known_at_s === null ? 'never detected' : `known at ${c.known_at_s} s by ${c.known_by}`) +
        (c.restored_at_s === null ? '' : `, restored at ${c.restored_at_s} s`),
    ),
    '',
    formatTable(
      ['app', 'demand_bits', 'served_bits', 'unserved_bits', 'exposed_bits', 'route_changes'],
      s.apps.map((a) => [
        a.id,
        String(a.demand_bits),
        String(a.served_bits),
        String(a.unserved_bits),
        String(a.keys_exposed_bits),
        String(a.route_changes),
      ]),
    ),
    '',
    formatTable(
      [
        'link',
        'rate_model',
        'rate_bps',
        'generated_bits',
        'consumed_bits',
        'discarded_bits',
        'end_pool_bits',
        'utilisation',
        'down_s',
      ],
      s.links.map((l) => [
        l.id,
        l.rate_model,
        l.rate_bps.toFixed(1),
        String(l.generated_bits),
        String(l.consumed_bits),
        String(l.discarded_bits),
        String(l.end_pool_bits),
        l.utilisation.toFixed(3),
        String(l.down_s),
      ]),
    ),
  ].join('\n');
}

/** A checked simulation plan: the scenario, the duration, the extra events and the options, seed aside. */
export interface SimulatePlan {
  readonly scenario: Scenario;
  readonly durationS: number;
  readonly events: readonly ScenarioEvent[];
  readonly attestationIntervalS: number | undefined;
  readonly o: SimulateOptions;
}

/** Parses a `--seed` value: an integer, else the string itself. */
export function parseSeed(text: string): number | string {
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

/**
 * Loads the scenario and checks every option (UsageError / SCENARIO_INVALID before anything runs);
 * `warn` receives the loader's warnings.
 */
export function planSimulation(
  file: string,
  o: SimulateOptions,
  warn: (w: string) => void = (w) => process.stderr.write(`qkdnet: warning: ${w}\n`),
): SimulatePlan {
  const rateModel = o.rateModel;
  if (rateModel !== undefined && !(RATE_MODELS as readonly string[]).includes(rateModel))
    throw new UsageError(`--rate-model: "${rateModel}" is not one of ${RATE_MODELS.join(', ')}`);
  const loaded = loadScenario(file);
  const scenario = rateModel ? withRateModel(loaded, rateModel as (typeof RATE_MODELS)[number]) : loaded;
  for (const w of scenario.warnings) warn(w);
  const durationS = o.duration === undefined ? scenario.durationS : time(o.duration, '--duration');
  if (!(durationS > 0)) throw new UsageError('--duration must be positive');
  const events = [
    ...(o.fail ? parseFailures(o.fail) : []),
    ...(o.compromise ? parseCompromises(o.compromise) : []),
    ...(o.declare ? parseNodeEvents(o.declare, '--declare', 'declare', false) : []),
    ...(o.restore ? parseNodeEvents(o.restore, '--restore', 'restore-node', true) : []),
  ];
  const attestationIntervalS =
    o.attestationInterval === undefined ? undefined : time(o.attestationInterval, '--attestation-interval');
  for (const e of events) {
    const onLink = e.kind === 'fail' || e.kind === 'restore';
    const known = onLink
      ? scenario.links.some((l) => l.id === e.target)
      : scenario.nodes.some((n) => n.id === e.target);
    if (!known)
      throw new UsageError(
        `${FLAG_OF[e.kind]}: no ${onLink ? 'link' : 'node'} "${e.target}" in ${scenario.name}`,
      );
    if (e.atS > durationS)
      throw new UsageError(`${FLAG_OF[e.kind]}: time ${e.atS} s is after the end (${durationS} s)`);
  }
  return { scenario, durationS, events, attestationIntervalS, o };
}

/** Runs one seed of a plan: the same code whatever the entry point (single run, sweep worker, table). */
export function simulateSeed(
  plan: SimulatePlan,
  seed: number | string,
  onProgress?: (fraction: number) => void,
): { net: NetworkSimulation; summary: SimulationSummary } {
  const { scenario, durationS, o, attestationIntervalS } = plan;
  const net = new NetworkSimulation(scenario, {
    seed,
    durationS,
    materializeKeys: o.accounting !== true,
    eventLevel: o.eventLevel === true,
    keys: o.deterministicKeys ? 'deterministic' : 'secret',
    ...(attestationIntervalS !== undefined ? { attestationIntervalS } : {}),
  });
  for (const e of plan.events) net.scheduleEvent(e);
  const t0 = performance.now();
  net.run(durationS, onProgress);
  return { net, summary: net.summary(performance.now() - t0) };
}

/** Runs the command; exported for tests. */
export function runSimulate(
  file: string,
  o: SimulateOptions,
): { summary: SimulationSummary; output: string } {
  const format = parseFormat(o.format, ['text', 'json'] as const);
  const plan = planSimulation(file, o);
  const { scenario } = plan;
  const seed = parseSeed(o.seed);
  const bar = new ProgressBar(`simulating ${scenario.name}`, 100);
  const { net, summary } = simulateSeed(plan, seed, (f) => bar.update(Math.round(f * 100)));
  bar.done();
  if (o.report !== undefined) {
    mkdirSync(o.report, { recursive: true });
    const html = buildReportHtml(
      { scenario, summary, samples: net.samples(), alerts: net.alerts(), seed },
      renderLinePlot,
    );
    writeFileSync(join(o.report, 'report.html'), html);
    writeFileSync(join(o.report, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  }
  const output = format === 'json' ? JSON.stringify(summary, null, 2) : textSummary(summary, scenario.name);
  return { summary, output };
}

export function register(program: Command): void {
  program
    .command('simulate')
    .summary('simulate a whole QKD network from a scenario')
    .description(
      'Simulate a QKD network (trusted-node relay, key-aware routing, multipath, ML-KEM fallback) from a scenario file in simulated time.',
    )
    .argument(
      '<scenario>',
      'scenario file (YAML or JSON), e.g. scenarios/metro-demo.yaml; or `merge` (shard files follow) or `table`',
    )
    .argument(
      '[files...]',
      'after `merge`: the shard files; after `table`: scenarios (default: every shipped one)',
    )
    .option('--duration <time>', "simulated time (default: the scenario's, else 24h)")
    .option('--seed <seed>', 'seed of every random stream', '1')
    .option(
      '--seeds <seeds>',
      'run many seeds in parallel (A..B or a list 1,5,9) and report p5/p50/p95 of every headline figure',
    )
    .option('--shard <i/N>', 'with --seeds: run only shard i (0-based) of N; combine with `simulate merge`')
    .option('--jobs <n>', 'with --seeds: worker threads (default: every core)')
    .option('--fail <events>', 'link failures: link:ID@TIME or link:ID@FROM..TO, comma-separated')
    .option('--compromise <nodes>', 'silently compromised nodes: node:ID or node:ID@TIME, comma-separated')
    .option(
      '--declare <nodes>',
      "an operator's declaration that nodes are compromised: node:ID or node:ID@TIME, comma-separated",
    )
    .option(
      '--restore <nodes>',
      'restore compromised nodes (re-imaged, re-keyed): node:ID@TIME, comma-separated',
    )
    .option(
      '--attestation-interval <time>',
      'seconds between attestation heartbeats that reveal a compromised node (0 = none; default 10s)',
    )
    .option('--report <dir>', 'write report.html (plots over time, events) and summary.json to DIR')
    .option('--format <format>', 'text or json', 'text')
    .option(
      '--rate-model <model>',
      "finite (finite-key rates at the links' block size; the scenario's default) or asymptotic (infinite-key)",
    )
    .option(
      '--accounting',
      'track pools, routes, provenance and exposure without making key bytes (large networks; same numbers)',
    )
    .option(
      '--event-level',
      'fill every BB84 fiber link with a device preset from simulated blocks through post-processing (slower; scenario source: event-level does it per link)',
    )
    .option(
      '--deterministic-keys',
      'event-level key bytes from the seed instead of node:crypto (the printed figures are the same either way)',
    )
    .addHelpText('after', EXAMPLES)
    .action(async (file: string, files: string[], o: SimulateOptions & SweepFlags) => {
      const format = parseFormat(o.format, ['text', 'json', 'markdown'] as const);
      if (file === 'merge') {
        process.stdout.write(`${mergeShards(files, format).output}\n`);
        return;
      }
      if (file === 'table') {
        process.stdout.write(await runTable(files, o));
        return;
      }
      if (files.length > 0)
        throw new UsageError(
          `simulate takes one scenario; "${files[0]}" is extra (merge and table take several)`,
        );
      if (format === 'markdown') throw new UsageError('--format markdown is for `simulate table`');
      if (o.seeds !== undefined) {
        process.stdout.write(`${(await runSweep(file, { ...o, seeds: o.seeds })).output}\n`);
        return;
      }
      if (o.shard !== undefined || o.jobs !== undefined)
        throw new UsageError('--shard and --jobs go with --seeds');
      const { output } = runSimulate(file, o);
      process.stdout.write(`${output}\n`);
    });
}
