/**
 * The topology map (Cytoscape.js): nodes placed by longitude/latitude (equirectangular, scaled by
 * cos(mean latitude) so distances look right at metro scale), links coloured by health and drawn
 * thicker the fuller their key pool, labelled with the pool level. Compromised nodes get a red ring,
 * satellites a diamond. Clicking a link or node selects it in the control panel.
 */
import cytoscape, { type Core, type ElementDefinition } from 'cytoscape';
import { useEffect, useRef } from 'preact/hooks';
import { HEALTH_COLOUR, type DashboardState } from './live.ts';

interface Props {
  readonly state: DashboardState;
  readonly onSelectLink: (id: string) => void;
  readonly onSelectNode: (id: string) => void;
}

/** Node positions in pixels of a `width`×`height` box: equirectangular, aspect kept, 40 px margin. */
function positions(
  state: DashboardState,
  width: number,
  height: number,
): Map<string, { x: number; y: number }> {
  const out = new Map<string, { x: number; y: number }>();
  const n = state.nodes.length;
  const meanLat = state.nodes.reduce((a, d) => a + d.lat, 0) / Math.max(1, n);
  const k = Math.cos((meanLat * Math.PI) / 180);
  const xs = state.nodes.map((d) => d.lon * k);
  const ys = state.nodes.map((d) => -d.lat);
  const spanX = Math.max(...xs) - Math.min(...xs);
  const spanY = Math.max(...ys) - Math.min(...ys);
  const m = 40;
  if (!(spanX > 0 || spanY > 0)) {
    const r = Math.max(40, Math.min(width, height) / 2 - m);
    state.nodes.forEach((d, i) =>
      out.set(d.id, {
        x: width / 2 + r * Math.cos((2 * Math.PI * i) / n),
        y: height / 2 + r * Math.sin((2 * Math.PI * i) / n),
      }),
    );
    return out;
  }
  const scale = Math.min((width - 2 * m) / (spanX || 1), (height - 2 * m) / (spanY || 1));
  const ox = (width - scale * spanX) / 2 - scale * Math.min(...xs);
  const oy = (height - scale * spanY) / 2 - scale * Math.min(...ys);
  state.nodes.forEach((d, i) => out.set(d.id, { x: ox + scale * xs[i]!, y: oy + scale * ys[i]! }));
  return out;
}

/** A link's label: pool level, and the attack the detectors named when they raised an alarm on it. */
function edgeLabel(l: DashboardState['links'][number], fill: number): string {
  const named = l.attributedAttack ? `⚠ ${l.attributedAttack}` : l.attack ? '⚠' : '';
  const what = l.state === 'up' ? `${Math.round(fill * 100)}%` : l.state === 'down' ? 'cut' : 'quarantined';
  return named ? `${what} ${named}` : what;
}

type Box = { x1: number; y1: number; x2: number; y2: number };
const overlaps = (a: Box, b: Box) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
const labelBox = (e: cytoscape.NodeSingular | cytoscape.EdgeSingular): Box =>
  e.boundingBox({
    includeNodes: false,
    includeEdges: false,
    includeLabels: true,
  } as cytoscape.BoundingBoxOptions);

/** Candidate label offsets (px) tried in order: node labels around the node, edge labels along the normal. */
const NODE_SPOTS: readonly [string, string, number, number][] = [
  ['bottom', 'center', 0, 4],
  ['top', 'center', 0, -4],
  ['center', 'right', 6, 0],
  ['center', 'left', -6, 0],
  ['bottom', 'center', 0, 20],
  ['top', 'center', 0, -20],
  ['bottom', 'right', 8, 8],
  ['top', 'left', -8, -8],
  ['bottom', 'left', -8, 8],
  ['top', 'right', 8, -8],
  ['bottom', 'center', 0, 36],
  ['top', 'center', 0, -36],
];
const EDGE_SPOTS: readonly [number, number][] = [
  [0, 0],
  [0, -14],
  [0, 14],
  [0, -28],
  [0, 28],
  [-24, 0],
  [24, 0],
  [-24, -14],
  [24, 14],
  [0, -42],
  [0, 42],
];

/**
 * Places every label so that no two label boxes intersect and no label covers a node: each label tries its
 * spots in order and keeps the first free one; a label with no free spot is hidden (its figures stay in
 * the tables). Runs after every layout change and label update.
 */
function placeLabels(c: Core): void {
  const placed: Box[] = c.nodes().map((n) => n.boundingBox({ includeLabels: false }));
  c.batch(() => {
    c.elements().style('text-opacity', 1);
  });
  /** Tries each spot (a style to apply) in order; keeps the first whose label box is free, else hides. */
  const place = (
    e: cytoscape.NodeSingular | cytoscape.EdgeSingular,
    spots: readonly Record<string, string | number>[],
  ) => {
    for (const spot of spots) {
      e.style(spot);
      const b = labelBox(e);
      if (b.x2 > b.x1 && !placed.some((p) => overlaps(p, b))) {
        placed.push(b);
        return;
      }
    }
    e.style('text-opacity', 0);
  };
  const nodeSpots = NODE_SPOTS.map(([v, h, mx, my]) => ({
    'text-valign': v,
    'text-halign': h,
    'text-margin-x': mx,
    'text-margin-y': my,
  }));
  const edgeSpots = EDGE_SPOTS.map(([mx, my]) => ({ 'text-margin-x': mx, 'text-margin-y': my }));
  for (const n of c.nodes()) place(n, nodeSpots);
  for (const e of c.edges()) if (e.data('label')) place(e, edgeSpots);
}

function elements(state: DashboardState, width = 600, height = 300): ElementDefinition[] {
  const pos = positions(state, width, height);
  const nodes: ElementDefinition[] = state.nodes.map((d) => ({
    group: 'nodes',
    data: { id: d.id, label: d.name, kind: d.kind, compromised: d.compromised ? 1 : 0 },
    position: pos.get(d.id)!,
  }));
  const edges: ElementDefinition[] = state.links.map((l) => {
    const fill = l.capacityBits > 0 ? Math.min(1, l.poolBits / l.capacityBits) : 0;
    return {
      group: 'edges',
      data: {
        id: `link:${l.id}`,
        source: l.from,
        target: l.to,
        colour: HEALTH_COLOUR[l.health],
        width: 2 + 8 * fill,
        dashed: l.state === 'up' ? 0 : 1,
        label: edgeLabel(l, fill),
      },
    };
  });
  return [...nodes, ...edges];
}

const STYLE: cytoscape.StylesheetJson = [
  {
    selector: 'node',
    style: {
      'background-color': '#0ea5e9',
      label: 'data(label)',
      color: '#e2e8f0',
      'font-size': 12,
      'text-valign': 'bottom',
      'text-margin-y': 4,
      'text-outline-color': '#0b1220',
      'text-outline-width': 3,
      width: 18,
      height: 18,
      'border-width': 2,
      'border-color': '#0b1220',
    },
  },
  { selector: 'node[kind = "satellite"]', style: { shape: 'diamond', 'background-color': '#eab308' } },
  { selector: 'node[kind = "ground-station"]', style: { shape: 'round-rectangle' } },
  {
    selector: 'node[compromised = 1]',
    style: { 'border-color': '#ef4444', 'border-width': 5, 'background-color': '#7f1d1d' },
  },
  {
    selector: 'edge',
    style: {
      'line-color': 'data(colour)',
      width: 'data(width)',
      label: 'data(label)',
      color: '#cbd5e1',
      'font-size': 10,
      'text-background-color': '#0b1220',
      'text-background-opacity': 0.85,
      'text-background-padding': '2px',
      'curve-style': 'bezier',
    },
  },
  { selector: 'edge[dashed = 1]', style: { 'line-style': 'dashed' } },
  { selector: ':selected', style: { 'overlay-color': '#38bdf8', 'overlay-opacity': 0.25 } },
];

/** The map; updates element data in place so the view does not jump on every state frame. */
export function Topology({ state, onSelectLink, onSelectNode }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const cy = useRef<Core | null>(null);
  const shape = state.nodes.map((n) => n.id).join(',') + '|' + state.links.map((l) => l.id).join(',');
  useEffect(() => {
    if (!box.current) return;
    const c = cytoscape({
      container: box.current,
      elements: elements(state, box.current.clientWidth, box.current.clientHeight),
      style: STYLE,
      layout: { name: 'preset', fit: false },
      minZoom: 0.3,
      maxZoom: 3,
      userZoomingEnabled: true,
      wheelSensitivity: 0.3,
      boxSelectionEnabled: false,
      autoungrabify: false,
    });
    c.on('tap', 'edge', (e) => onSelectLink(String(e.target.id()).slice('link:'.length)));
    c.on('tap', 'node', (e) => onSelectNode(String(e.target.id())));
    const ro = new ResizeObserver(() => {
      const el = box.current;
      if (!el) return;
      c.resize();
      const pos = positions(state, el.clientWidth, el.clientHeight);
      c.nodes().positions((n) => pos.get(n.id()) ?? n.position());
      c.zoom(1);
      c.pan({ x: 0, y: 0 });
      placeLabels(c);
    });
    ro.observe(box.current);
    cy.current = c;
    placeLabels(c);
    (window as unknown as { __qkdnetCy?: Core }).__qkdnetCy = c;
    return () => {
      ro.disconnect();
      c.destroy();
      cy.current = null;
    };
  }, [shape]);
  useEffect(() => {
    const c = cy.current;
    if (!c) return;
    let relabel = false;
    c.batch(() => {
      for (const el of elements(state)) {
        const e = c.getElementById(String(el.data.id));
        if (e.data('label') !== el.data.label) relabel = true;
        e.data(el.data);
      }
    });
    if (relabel) placeLabels(c);
  }, [state]);
  return (
    <>
      <div class="map" ref={box} role="img" aria-label="Network topology map" data-testid="topology" />
      <ul class="legend map-legend" aria-label="Link colours">
        {(Object.keys(HEALTH_COLOUR) as (keyof typeof HEALTH_COLOUR)[]).map((h) => (
          <li key={h}>
            <span class="swatch" style={{ background: HEALTH_COLOUR[h] }} />
            {h}
          </li>
        ))}
        <li class="hint">thickness and % = key pool level</li>
      </ul>
    </>
  );
}
