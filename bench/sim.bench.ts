/**
 * `npm run bench -- sim [--quick]`: the network simulator on random geometric graphs (E. N. Gilbert,
 * "Random plane networks", J. SIAM 9, 533 (1961)): n trusted nodes uniform in a 1,000 km square, a link
 * between nodes closer than r (r chosen so the graph has ≈ 3n links), extra links joining components so
 * every pair is connected. Demand: n/10 applications between random pairs, 1 kbit/s each with 256-bit keys
 * (a quarter of them on 2 node-disjoint paths), requests every 60 s, key generation blocks every 60 s.
 *
 * Target: 1,000 nodes / 3,000 links, 24 h simulated with relay demand, ≤ 60 s wall. Scaling:
 * 100, 1,000, 10,000 nodes, events/s. Two modes: `accounting` (pools, routes, provenance and exposure
 * exact; no key bytes) and `bytes` (every key relayed as real one-time-padded bytes hop by hop; hybrid and
 * PQC keys derived with HKDF at both ends). Baseline measured side by side: the bare kernel executing the
 * same number of no-op events (what the event machinery alone costs). Inputs (graph, link rates) are
 * built outside the timed region. Writes bench/results/sim.json with machine, Node version and commit.
 */
import { createRng, type Rng } from '../src/common/index.ts';
import { findPreset, keyRate } from '../src/physics/index.ts';
import { Simulation } from '../src/sim/index.ts';
import { NetworkSimulation, resolveScenario, type ScenarioFile } from '../src/network/index.ts';
import { benchContext, writeBenchResult } from './meta.ts';

const quick = process.argv.includes('--quick');
const SIDE_KM = 1000;

/** Secret key rate (bit/s) per km of the `metro` preset, tabulated once (1 km steps) and interpolated. */
function rateTable(maxKm: number): (km: number) => number {
  const p = findPreset('metro')!.params;
  const table: number[] = [];
  for (let d = 0; d <= Math.ceil(maxKm) + 1; d++)
    table.push(keyRate('bb84-decoy-infinite', p, d).ratePerPulse * p.repetitionRateHz);
  return (km) => {
    const i = Math.floor(km);
    const f = km - i;
    return table[i]! * (1 - f) + table[i + 1]! * f;
  };
}

function buildNetwork(n: number, rng: Rng): ScenarioFile {
  const xs = Array.from({ length: n }, () => rng.nextFloat() * SIDE_KM);
  const ys = Array.from({ length: n }, () => rng.nextFloat() * SIDE_KM);
  const r = SIDE_KM * Math.sqrt((2 * 3 * n) / (Math.PI * n * n)); // E[links] = n²πr²/(2·side²) = 3n
  const dist = (a: number, b: number) => Math.hypot(xs[a]! - xs[b]!, ys[a]! - ys[b]!);
  // Grid buckets of size r for the neighbour search.
  const cells = new Map<string, number[]>();
  const key = (cx: number, cy: number) => `${cx},${cy}`;
  for (let i = 0; i < n; i++) {
    const k = key(Math.floor(xs[i]! / r), Math.floor(ys[i]! / r));
    (cells.get(k) ?? cells.set(k, []).get(k)!).push(i);
  }
  const edges: [number, number, number][] = [];
  for (let i = 0; i < n; i++) {
    const cx = Math.floor(xs[i]! / r);
    const cy = Math.floor(ys[i]! / r);
    for (let dx = -1; dx <= 1; dx++)
      for (let dy = -1; dy <= 1; dy++)
        for (const j of cells.get(key(cx + dx, cy + dy)) ?? [])
          if (j > i && dist(i, j) < r) edges.push([i, j, dist(i, j)]);
  }
  // Join components: union-find, then link each component to its nearest node in the main one.
  const parent = Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x]!)));
  for (const [a, b] of edges) parent[find(a)] = find(b);
  const comps = new Map<number, number[]>();
  for (let i = 0; i < n; i++) (comps.get(find(i)) ?? comps.set(find(i), []).get(find(i))!).push(i);
  const sorted = [...comps.values()].sort((a, b) => b.length - a.length);
  const main = [...sorted[0]!];
  for (const c of sorted.slice(1)) {
    let best: [number, number, number] = [0, 0, Infinity];
    for (const a of c) for (const b of main) if (dist(a, b) < best[2]) best = [a, b, dist(a, b)];
    edges.push(best);
    main.push(...c);
  }
  const rate = rateTable(Math.max(...edges.map((e) => e[2])));
  const apps = Array.from({ length: Math.max(2, Math.floor(n / 10)) }, (_, i) => {
    const a = rng.nextInt(n);
    let b = rng.nextInt(n);
    while (b === a) b = rng.nextInt(n);
    return {
      id: `app${i}`,
      from: `n${a}`,
      to: `n${b}`,
      rate_bps: 1024,
      ...(i % 4 === 0 ? { multipath: 2 } : {}),
      ...(i % 10 === 1 ? { hybrid: true } : {}),
    };
  });
  return {
    name: `rgg-${n}`,
    title: `Random geometric network, ${n} nodes`,
    sources: ['E. N. Gilbert, J. SIAM 9, 533 (1961)'],
    defaults: { block: 60, request_interval: 60, pool_capacity_bits: 1e9, initial_pool_bits: 1e7 },
    nodes: xs.map((x, i) => ({ id: `n${i}`, lat: (ys[i]! / SIDE_KM) * 10, lon: (x / SIDE_KM) * 10 })),
    links: edges.map(([a, b, d], i) => ({
      id: `l${i}`,
      from: `n${a}`,
      to: `n${b}`,
      length_km: +d.toFixed(2),
      rate_bps: Math.max(1, Math.round(rate(d))),
    })),
    apps,
  };
}

function baselineKernel(events: number): number {
  const sim = new Simulation(1);
  let left = events;
  sim.every(1000, () => --left > 0);
  const t0 = performance.now();
  sim.run();
  return performance.now() - t0;
}

interface Row {
  nodes: number;
  links: number;
  apps: number;
  mode: 'accounting' | 'bytes';
  simulated_s: number;
  wall_ms: number;
  events: number;
  events_per_s: number;
  baseline_kernel_ms: number;
  baseline_events_per_s: number;
  ratio_to_kernel: number;
  served_fraction: number;
  served_by_provenance: Record<string, number>;
  plaintext_bits: number;
}

function measure(n: number, mode: Row['mode'], simulatedS: number): Row {
  const file = buildNetwork(n, createRng(`rgg-${n}`));
  const scenario = resolveScenario(file, file.name);
  const t0 = performance.now();
  const net = new NetworkSimulation(scenario, {
    seed: 1,
    durationS: simulatedS,
    materializeKeys: mode === 'bytes',
  });
  net.run();
  const wallMs = performance.now() - t0;
  const s = net.summary(wallMs);
  const events = net.kernel.processed;
  // Sanity: demand was made and (mostly) met, nothing in plaintext, events ran.
  if (!(s.demand_bits > 0 && events > 0)) throw new Error(`sanity: no demand or no events for n=${n}`);
  if (s.plaintext_bits !== 0) throw new Error('sanity: plaintext bits');
  if (s.served_fraction < 0.9) throw new Error(`sanity: only ${s.served_fraction} served for n=${n}`);
  const baseMs = baselineKernel(events);
  const row: Row = {
    nodes: n,
    links: scenario.links.length,
    apps: scenario.apps.length,
    mode,
    simulated_s: simulatedS,
    wall_ms: +wallMs.toFixed(1),
    events,
    events_per_s: Math.round(events / (wallMs / 1000)),
    baseline_kernel_ms: +baseMs.toFixed(1),
    baseline_events_per_s: Math.round(events / (baseMs / 1000)),
    ratio_to_kernel: +(wallMs / baseMs).toFixed(1),
    served_fraction: +s.served_fraction.toFixed(5),
    served_by_provenance: s.served_by_provenance,
    plaintext_bits: s.plaintext_bits,
  };
  console.log(JSON.stringify(row));
  return row;
}

const DAY = 86400;
const rows: Row[] = [];
rows.push(measure(100, 'accounting', DAY));
rows.push(measure(100, 'bytes', DAY));
rows.push(measure(1000, 'accounting', DAY));
rows.push(measure(1000, 'bytes', quick ? DAY / 8 : DAY));
rows.push(measure(10000, 'accounting', quick ? DAY / 24 : DAY / 4));
const target = rows.find((r) => r.nodes === 1000 && r.mode === 'accounting')!;
const targetBytes = rows.find((r) => r.nodes === 1000 && r.mode === 'bytes')!;
const result = {
  benchmark: 'sim',
  what: 'NetworkSimulation on random geometric graphs (≈3 links per node), n/10 apps at 1 kbit/s, 60 s requests and blocks',
  rows,
  target: {
    what: '1,000 nodes / ~3,000 links, 24 h simulated with relay demand, ≤ 60 s wall',
    limit_ms: 60000,
    accounting_ms: target.wall_ms,
    bytes_ms: targetBytes.simulated_s === DAY ? targetBytes.wall_ms : null,
    met: target.wall_ms <= 60000,
  },
  ...benchContext(),
};
writeBenchResult('sim', result);
console.log(
  `target: 1000 nodes, 24 h, accounting ${target.wall_ms} ms (limit 60000), bytes ${result.target.bytes_ms} ms`,
);
