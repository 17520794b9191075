/**
 * The HTML report of a simulation run (`qkdnet simulate --report DIR`): one self-contained page with the
 * summary, plots over time (key pool level per link, cumulative served demand by provenance, unserved
 * demand) as inline SVG, and the event log (alerts). The plot renderer is injected (the CLI passes its
 * shared `renderLinePlot`); `basicLinePlot` is a small built-in one. No key material is ever in it.
 */
import { PROVENANCE_ORDER, type Alert } from '../common/index.ts';
import type { Scenario } from './scenario.ts';
import type { Sample, SimulationSummary } from './types.ts';

/** A line plot specification (the shape of src/cli/svg-plot.ts `renderLinePlot`). */
export interface LinePlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  xLog?: boolean;
  yLog?: boolean;
  series: { name: string; points: [number, number][]; dashed?: boolean }[];
}

/** Renders a plot specification to an SVG string. */
export type PlotRenderer = (spec: LinePlotSpec) => string;

const COLOURS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

/** Escapes text for HTML and SVG. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** A minimal linear-axis SVG line plot (used when no other renderer is given). */
export function basicLinePlot(spec: LinePlotSpec): string {
  const W = 760;
  const H = 300;
  const m = { l: 70, r: 170, t: 30, b: 45 };
  const pts = spec.series.flatMap((s) => s.points);
  const xMax = Math.max(1e-9, ...pts.map((p) => p[0]));
  const xMin = Math.min(xMax, ...pts.map((p) => p[0]));
  const yMax = Math.max(1e-9, ...pts.map((p) => p[1]));
  const sx = (x: number) => m.l + ((x - xMin) / (xMax - xMin || 1)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - (y / yMax) * (H - m.t - m.b);
  const lines = spec.series.map((s, i) => {
    const d = s.points
      .map((p, j) => `${j ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`)
      .join('');
    const c = COLOURS[i % COLOURS.length];
    return (
      `<path d="${d}" fill="none" stroke="${c}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5,3"' : ''}/>` +
      `<text x="${W - m.r + 10}" y="${m.t + 14 * i + 10}" font-size="11" fill="${c}">${escapeHtml(s.name)}</text>`
    );
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const y = f * yMax;
    const x = xMin + f * (xMax - xMin);
    return (
      `<text x="${m.l - 6}" y="${sy(y) + 4}" font-size="10" text-anchor="end">${fmt(y)}</text>` +
      `<line x1="${m.l}" x2="${W - m.r}" y1="${sy(y)}" y2="${sy(y)}" stroke="#eee"/>` +
      `<text x="${sx(x)}" y="${H - m.b + 15}" font-size="10" text-anchor="middle">${fmt(x)}</text>`
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">` +
    `<text x="${W / 2}" y="18" font-size="14" text-anchor="middle">${escapeHtml(spec.title)}</text>` +
    ticks.join('') +
    `<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>` +
    `<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>` +
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" font-size="11" text-anchor="middle">${escapeHtml(spec.xLabel)}</text>` +
    `<text x="14" y="${H / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${H / 2})">${escapeHtml(spec.yLabel)}</text>` +
    lines.join('') +
    `</svg>`
  );
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e5 || a < 1e-2) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

/** Inputs of the report page. */
export interface ReportInput {
  readonly scenario: Scenario;
  readonly summary: SimulationSummary;
  readonly samples: readonly Sample[];
  readonly alerts: readonly Alert[];
  readonly seed: string | number;
  readonly commandLine?: string;
}

/** The three plots of a report, as specifications. */
export function reportPlots(samples: readonly Sample[], scenario: Scenario): LinePlotSpec[] {
  const hours = (s: Sample) => s.timeS / 3600;
  const pools: LinePlotSpec = {
    title: 'Key pool level per link',
    xLabel: 'time (h)',
    yLabel: 'pool (bits)',
    series: scenario.links.map((l) => ({
      name: l.id,
      points: samples.map((s) => [hours(s), s.poolBits[l.id] ?? 0]),
    })),
  };
  const provs = PROVENANCE_ORDER;
  const served: LinePlotSpec = {
    title: 'Served demand by provenance (cumulative)',
    xLabel: 'time (h)',
    yLabel: 'bits',
    series: [
      ...provs.map((p) => ({
        name: p,
        points: samples.map((s) => [hours(s), s.servedByProvenance[p]] as [number, number]),
      })),
      { name: 'demand', dashed: true, points: samples.map((s) => [hours(s), s.demandBits]) },
      { name: 'unserved', dashed: true, points: samples.map((s) => [hours(s), s.unservedBits]) },
    ],
  };
  return [pools, served];
}

/** Builds the self-contained HTML page. */
export function buildReportHtml(input: ReportInput, plot: PlotRenderer = basicLinePlot): string {
  const { scenario, summary, samples, alerts } = input;
  const rows = summary.links
    .map(
      (l) =>
        `<tr><td>${escapeHtml(l.id)}</td><td>${l.rate_model}</td><td>${l.rate_bps.toFixed(1)}</td><td>${l.initial_pool_bits}</td><td>${l.generated_bits}</td><td>${l.consumed_bits}</td><td>${l.discarded_bits}</td><td>${l.end_pool_bits}</td><td>${l.utilisation.toFixed(3)}</td><td>${l.pool_min_bits}</td><td>${l.down_s}</td></tr>`,
    )
    .join('');
  const events = alerts
    .map(
      (a) =>
        `<tr><td>${(a.timeNs / 1e9).toFixed(0)}</td><td>${a.severity}</td><td>${escapeHtml(a.kind)}</td><td>${escapeHtml(a.linkId ?? a.nodeId ?? '')}</td><td>${escapeHtml(a.message)}</td></tr>`,
    )
    .join('');
  const compromised = summary.compromised_nodes.length
    ? `<h2>Compromised trusted nodes</h2><table><tr><th>node</th><th>compromised at (s)</th><th>known at (s)</th><th>known by</th><th>restored at (s)</th><th>key bits exposed</th><th>applications</th></tr>${summary.compromised_nodes
        .map(
          (c) =>
            `<tr><td>${escapeHtml(c.id)}</td><td>${c.at_s}</td><td>${c.known_at_s ?? 'never'}</td><td>${c.known_by ?? '—'}</td><td>${c.restored_at_s ?? '—'}</td><td>${c.keys_exposed_bits}</td><td>${escapeHtml(c.applications.join(', ') || 'none')}</td></tr>`,
        )
        .join('')}</table>`
    : '';
  const prov = Object.entries(summary.served_by_provenance)
    .map(([k, v]) => `<li>${k}: ${v} bits</li>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>qkdnet simulate — ${escapeHtml(scenario.name)}</title>
<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child,th:first-child{text-align:left}</style></head><body>
<h1>${escapeHtml(scenario.title)}</h1>
<p>Scenario <code>${escapeHtml(scenario.name)}</code>, seed <code>${escapeHtml(String(input.seed))}</code>, ${summary.duration_s} s simulated${input.commandLine ? `, <code>${escapeHtml(input.commandLine)}</code>` : ''}.</p>
<p>Sources: ${scenario.sources.map(escapeHtml).join('; ')}${scenario.approximate ? `<br>Approximations: ${escapeHtml(scenario.approximate)}` : ''}</p>
<h2>Summary</h2>
<ul><li>demand ${summary.demand_bits} bits, served ${summary.served_bits} bits (${(100 * summary.served_fraction).toFixed(2)}%), by QKD alone ${(100 * summary.served_fraction_qkd).toFixed(2)}%, unserved ${summary.unserved_bits} bits</li>
<li>plaintext bits: ${summary.plaintext_bits}</li><li>route changes: ${summary.route_changes.total} (${Object.entries(
    summary.route_changes,
  )
    .filter(([k]) => k !== 'total')
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}), alerts: ${summary.alerts}</li>
<li>keys exposed: ${summary.keys_exposed_bits} bits (relay node ${summary.keys_exposed_by_cause.relay_node}, endpoint ${summary.keys_exposed_by_cause.endpoint}); hybrid keys whose QKD part a relay saw: ${summary.hybrid_relay_exposed_bits} bits</li>
<li>link rates: ${[...new Set(summary.links.map((l) => l.rate_model))].join(', ')} (finite = finite-key rate at the link's block size; asymptotic = infinite-key bound)</li></ul>
<h3>Served by provenance</h3><ul>${prov}</ul>
${reportPlots(samples, scenario)
  .map((p) => `<figure>${plot(p)}</figure>`)
  .join('\n')}
<h2>Applications</h2><table><tr><th>app</th><th>demand bits</th><th>served bits</th><th>unserved bits</th><th>exposed bits</th><th>route changes</th></tr>${summary.apps
    .map(
      (a) =>
        `<tr><td>${escapeHtml(a.id)}</td><td>${a.demand_bits}</td><td>${a.served_bits}</td><td>${a.unserved_bits}</td><td>${a.keys_exposed_bits}</td><td>${a.route_changes}</td></tr>`,
    )
    .join('')}</table>
${compromised}
<h2>Links</h2><table><tr><th>link</th><th>rate model</th><th>rate bit/s</th><th>initial pool</th><th>generated</th><th>consumed</th><th>discarded</th><th>end pool</th><th>utilisation</th><th>pool min</th><th>down s</th></tr>${rows}</table>
<h2>Events (alerts, last ${alerts.length})</h2><table><tr><th>t (s)</th><th>severity</th><th>kind</th><th>where</th><th>message</th></tr>${events}</table>
</body></html>
`;
}
