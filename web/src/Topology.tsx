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

function positions(state: DashboardState): Map<string, { x: number; y: number }> {
  const out = new Map<string, { x: number; y: number }>();
  const n = state.nodes.length;
  const lats = state.nodes.map((d) => d.lat);
  const spread = Math.max(...lats) - Math.min(...lats) + Math.max(...state.nodes.map((d) => Math.abs(d.lon)));
  if (!(spread > 0)) {
    state.nodes.forEach((d, i) => out.set(d.id, { x: 300 * Math.cos((2 * Math.PI * i) / n), y: 300 * Math.sin((2 * Math.PI * i) / n) }));
    return out;
  }
  const meanLat = lats.reduce((a, b) => a + b, 0) / n;
  const k = Math.cos((meanLat * Math.PI) / 180);
  for (const d of state.nodes) out.set(d.id, { x: d.lon * k * 1000, y: -d.lat * 1000 });
  return out;
}

function elements(state: DashboardState): ElementDefinition[] {
  const pos = positions(state);
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
        label: l.state === 'up' ? `${Math.round(fill * 100)}%${l.attack ? ' ⚠' : ''}` : l.state,
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
      'font-size': 13,
      'text-valign': 'bottom',
      'text-margin-y': 6,
      'text-outline-color': '#0b1220',
      'text-outline-width': 3,
      width: 22,
      height: 22,
      'border-width': 2,
      'border-color': '#0b1220',
    },
  },
  { selector: 'node[kind = "satellite"]', style: { shape: 'diamond', 'background-color': '#eab308' } },
  { selector: 'node[kind = "ground-station"]', style: { shape: 'round-rectangle' } },
  { selector: 'node[compromised = 1]', style: { 'border-color': '#ef4444', 'border-width': 5, 'background-color': '#7f1d1d' } },
  {
    selector: 'edge',
    style: {
      'line-color': 'data(colour)',
      width: 'data(width)',
      label: 'data(label)',
      color: '#cbd5e1',
      'font-size': 11,
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
      elements: elements(state),
      style: STYLE,
      layout: { name: 'preset', fit: true, padding: 40 },
      userZoomingEnabled: true,
      wheelSensitivity: 0.3,
      boxSelectionEnabled: false,
      autoungrabify: false,
    });
    c.on('tap', 'edge', (e) => onSelectLink(String(e.target.id()).slice('link:'.length)));
    c.on('tap', 'node', (e) => onSelectNode(String(e.target.id())));
    const ro = new ResizeObserver(() => {
      c.resize();
      c.fit(undefined, 40);
    });
    ro.observe(box.current);
    cy.current = c;
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
    c.batch(() => {
      for (const el of elements(state)) c.getElementById(String(el.data.id)).data(el.data);
    });
  }, [state]);
  return <div class="map" ref={box} role="img" aria-label="Network topology map" data-testid="topology" />;
}
