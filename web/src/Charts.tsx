/**
 * Live charts (uPlot): QBER, secret key rate and key-pool level, one series per link, against simulated
 * time. Series are aligned on the union of sample times (a link without a sample at a time shows a gap).
 * Charts are rebuilt when the set of links or the container width changes, and fed with setData otherwise.
 */
import uPlot, { type AlignedData, type Options } from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'preact/hooks';
import { formatTime, type LinkSample } from './live.ts';

/** One colour per link, in link order. */
export const LINK_PALETTE = [
  '#38bdf8',
  '#f472b6',
  '#a3e635',
  '#fbbf24',
  '#c084fc',
  '#2dd4bf',
  '#fb923c',
  '#e879f9',
  '#94a3b8',
  '#4ade80',
];

type Metric = 'qber' | 'keyRateBps' | 'poolBits';

interface ChartProps {
  readonly title: string;
  readonly metric: Metric;
  readonly links: readonly string[];
  readonly history: Readonly<Record<string, readonly LinkSample[]>>;
  readonly tick: number;
}

function align(links: readonly string[], history: ChartProps['history'], metric: Metric): AlignedData {
  const times = new Set<number>();
  for (const id of links) for (const s of history[id] ?? []) times.add(s.timeS);
  const xs = [...times].sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const cols = links.map((id) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    for (const s of history[id] ?? []) {
      const v = s[metric];
      col[index.get(s.timeS)!] = v === null ? null : metric === 'qber' ? v * 100 : v;
    }
    return col;
  });
  return [xs, ...cols] as AlignedData;
}

/** Compact axis values; the unit is in the chart title. */
function valueFormat(metric: Metric): (v: number) => string {
  if (metric === 'qber') return (v) => `${Number(v.toFixed(2))}`;
  return (v) => {
    const a = Math.abs(v);
    if (a >= 1e9) return `${Number((v / 1e9).toPrecision(3))}G`;
    if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
    if (a >= 1e3) return `${Number((v / 1e3).toPrecision(3))}k`;
    return `${Number(v.toPrecision(3))}`;
  };
}

/** The links' colours, shared by the three charts. */
export function ChartLegend({ links }: { links: readonly string[] }) {
  return (
    <ul class="legend chart-legend" aria-label="Chart series">
      {links.map((id, i) => (
        <li key={id}>
          <span class="swatch" style={{ background: LINK_PALETTE[i % LINK_PALETTE.length] }} />
          {id}
        </li>
      ))}
    </ul>
  );
}

/** One chart; `data-testid="chart-<metric>"`. */
export function Chart({ title, metric, links, history, tick }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = links.join(',');
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fmt = valueFormat(metric);
    const make = (): uPlot => {
      const opts: Options = {
        width: Math.max(200, el.clientWidth),
        height: 160,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: false },
          y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] },
        },
        axes: [
          {
            stroke: '#94a3b8',
            grid: { stroke: '#1e293b' },
            ticks: { stroke: '#334155' },
            values: (_u, vs) => vs.map((v) => formatTime(v)),
          },
          {
            stroke: '#94a3b8',
            grid: { stroke: '#1e293b' },
            ticks: { stroke: '#334155' },
            size: 48,
            values: (_u, vs) => vs.map((v) => fmt(v)),
          },
        ],
        series: [
          { label: 'time', value: (_u, v) => (v === null ? '' : formatTime(v)) },
          ...links.map((id, i) => ({
            label: id,
            stroke: LINK_PALETTE[i % LINK_PALETTE.length]!,
            width: 1.5,
            spanGaps: false,
          })),
        ],
      };
      return new uPlot(opts, align(links, history, metric), el);
    };
    plot.current = make();
    const ro = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 160 }),
    );
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [key, metric]);
  useEffect(() => {
    plot.current?.setData(align(links, history, metric));
  }, [tick, key]);
  return (
    <section class="panel chart" data-testid={`chart-${metric}`}>
      <h2>{title}</h2>
      <div ref={box} class="plot" />
    </section>
  );
}
