/**
 * A dependency-free SVG line plot for figures in reports and papers: linear or logarithmic axes (decades
 * labelled 10ⁿ with minor ticks), grid, several series with a legend, dashed series (bounds), and the
 * Okabe–Ito colour-blind-safe palette (M. Okabe, K. Ito, "Color Universal Design", 2008). Points that
 * cannot be drawn (NaN, ±Infinity, or ≤ 0 on a log axis) break the line rather than bend it. Used by
 * `qkdnet keyrate --plot` and by other commands for ROC curves and reports.
 */

/** One line of the plot. */
export interface PlotSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  readonly dashed?: boolean;
}

/** What to draw. */
export interface LinePlotSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xLog?: boolean;
  readonly yLog?: boolean;
  readonly series: readonly PlotSeries[];
  /** Pixels (default 720 × 480). */
  readonly width?: number;
  readonly height?: number;
}

/** Okabe–Ito palette without yellow (too faint on white), then Paul Tol's wine and grey: 9 distinct lines. */
export const PLOT_COLOURS = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#000000',
  '#882255',
  '#888888',
];

const SUPERSCRIPT: Record<string, string> = {
  '-': '⁻',
  '0': '⁰',
  '1': '¹',
  '2': '²',
  '3': '³',
  '4': '⁴',
  '5': '⁵',
  '6': '⁶',
  '7': '⁷',
  '8': '⁸',
  '9': '⁹',
};

/** XML-escapes text for an SVG element or attribute. */
export function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}

/** "10⁻³" for exponent −3. */
export function decadeLabel(exp: number): string {
  return `10${String(exp)
    .split('')
    .map((c) => SUPERSCRIPT[c] ?? c)
    .join('')}`;
}

/** A short label for a linear tick value. */
function linearLabel(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(6)));
}

interface Axis {
  readonly map: (v: number) => number;
  readonly major: { v: number; label: string }[];
  readonly minor: number[];
  readonly valid: (v: number) => boolean;
}

/** Nice linear ticks (steps 1, 2, 5 × 10ⁿ) covering [lo, hi]. */
function linearAxis(lo: number, hi: number, p0: number, p1: number): Axis {
  if (lo === hi) [lo, hi] = lo === 0 ? [-1, 1] : [lo - Math.abs(lo) * 0.1, hi + Math.abs(hi) * 0.1];
  const raw = (hi - lo) / 6;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((s) => s * mag).find((s) => s >= raw)!;
  const a = Math.floor(lo / step + 1e-9) * step;
  const b = Math.ceil(hi / step - 1e-9) * step;
  const major: { v: number; label: string }[] = [];
  for (let v = a; v <= b + step * 1e-6; v += step)
    major.push({ v: Math.abs(v) < step * 1e-9 ? 0 : v, label: '' });
  for (const t of major) t.label = linearLabel(t.v);
  const map = (v: number) => p0 + ((v - a) / (b - a)) * (p1 - p0);
  return { map, major, minor: [], valid: Number.isFinite };
}

/** Decade ticks covering [lo, hi] (both > 0); minor ticks 2..9 when there are few decades. */
function logAxis(lo: number, hi: number, p0: number, p1: number): Axis {
  let a = Math.floor(Math.log10(lo) + 1e-9);
  let b = Math.ceil(Math.log10(hi) - 1e-9);
  if (a === b) [a, b] = [a - 1, b + 1];
  const decades = b - a;
  const every = Math.max(1, Math.ceil(decades / 10));
  const major: { v: number; label: string }[] = [];
  const minor: number[] = [];
  for (let e = a; e <= b; e++) {
    if ((e - a) % every === 0) major.push({ v: Math.pow(10, e), label: decadeLabel(e) });
    else minor.push(Math.pow(10, e));
    if (decades <= 8 && e < b) for (let k = 2; k <= 9; k++) minor.push(k * Math.pow(10, e));
  }
  const map = (v: number) => p0 + ((Math.log10(v) - a) / (b - a)) * (p1 - p0);
  return { map, major, minor, valid: (v) => Number.isFinite(v) && v > 0 };
}

function range(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return Number.isFinite(lo) ? [lo, hi] : [1, 10];
}

/** Renders the plot as a standalone SVG document. */
export function renderLinePlot(spec: LinePlotSpec): string {
  const W = spec.width ?? 720;
  const H = spec.height ?? 480;
  const m = { left: 84, right: 24, top: 44, bottom: 60 };
  const [x0, x1, y0, y1] = [m.left, W - m.right, H - m.bottom, m.top];
  const okX = (v: number) => Number.isFinite(v) && (!spec.xLog || v > 0);
  const okY = (v: number) => Number.isFinite(v) && (!spec.yLog || v > 0);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of spec.series)
    for (const [x, y] of s.points)
      if (okX(x) && okY(y)) {
        xs.push(x);
        ys.push(y);
      }
  const [xlo, xhi] = range(xs);
  const [ylo, yhi] = range(ys);
  const ax = spec.xLog ? logAxis(xlo, xhi, x0, x1) : linearAxis(xlo, xhi, x0, x1);
  const ay = spec.yLog ? logAxis(ylo, yhi, y0, y1) : linearAxis(ylo, yhi, y0, y1);
  const f = (v: number) => v.toFixed(2);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<defs><clipPath id="plot-area"><rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}"/></clipPath></defs>`,
    `<text x="${f((x0 + x1) / 2)}" y="26" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(spec.title)}</text>`,
  );
  for (const v of ax.minor)
    out.push(`<line x1="${f(ax.map(v))}" x2="${f(ax.map(v))}" y1="${y0}" y2="${y0 - 4}" stroke="#000"/>`);
  for (const v of ay.minor)
    out.push(`<line x1="${x0}" x2="${x0 + 4}" y1="${f(ay.map(v))}" y2="${f(ay.map(v))}" stroke="#000"/>`);
  for (const t of ax.major) {
    const x = f(ax.map(t.v));
    out.push(
      `<line x1="${x}" x2="${x}" y1="${y1}" y2="${y0}" stroke="#e3e3e3"/>`,
      `<line x1="${x}" x2="${x}" y1="${y0}" y2="${y0 - 7}" stroke="#000"/>`,
      `<text x="${x}" y="${y0 + 20}" text-anchor="middle">${escapeXml(t.label)}</text>`,
    );
  }
  for (const t of ay.major) {
    const y = f(ay.map(t.v));
    out.push(
      `<line x1="${x0}" x2="${x1}" y1="${y}" y2="${y}" stroke="#e3e3e3"/>`,
      `<line x1="${x0}" x2="${x0 + 7}" y1="${y}" y2="${y}" stroke="#000"/>`,
      `<text x="${x0 - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(t.label)}</text>`,
    );
  }
  out.push(
    `<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#000"/>`,
    `<text x="${f((x0 + x1) / 2)}" y="${H - 16}" text-anchor="middle" font-size="14">${escapeXml(spec.xLabel)}</text>`,
    `<text transform="translate(20 ${f((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle" font-size="14">${escapeXml(spec.yLabel)}</text>`,
  );
  spec.series.forEach((s, i) => {
    const colour = PLOT_COLOURS[i % PLOT_COLOURS.length]!;
    const segments: string[][] = [[]];
    for (const [x, y] of s.points) {
      if (okX(x) && okY(y)) segments[segments.length - 1]!.push(`${f(ax.map(x))},${f(ay.map(y))}`);
      else if (segments[segments.length - 1]!.length > 0) segments.push([]);
    }
    const dash = s.dashed ? ' stroke-dasharray="7 5"' : '';
    for (const seg of segments)
      if (seg.length > 0)
        out.push(
          `<polyline clip-path="url(#plot-area)" fill="none" stroke="${colour}" stroke-width="2"${dash} points="${seg.join(' ')}"/>`,
        );
  });
  const lw = Math.min(340, 52 + 7.6 * Math.max(...spec.series.map((s) => s.name.length), 4));
  const lx = x1 - lw - 10;
  const ly = y1 + 10;
  out.push(
    `<rect x="${lx}" y="${ly}" width="${lw}" height="${10 + 20 * spec.series.length}" fill="#ffffff" fill-opacity="0.9" stroke="#999"/>`,
  );
  spec.series.forEach((s, i) => {
    const colour = PLOT_COLOURS[i % PLOT_COLOURS.length]!;
    const y = ly + 15 + 20 * i;
    const dash = s.dashed ? ' stroke-dasharray="7 5"' : '';
    out.push(
      `<line x1="${lx + 8}" x2="${lx + 36}" y1="${y}" y2="${y}" stroke="${colour}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 44}" y="${y}" dominant-baseline="middle">${escapeXml(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
