/**
 * Path finding on the trusted-node graph: key-aware shortest paths (Dijkstra, E. W. Dijkstra, Numer. Math.
 * 1, 269 (1959)) and k node-disjoint paths of least total weight by successive shortest augmenting paths
 * on the node-split graph (min-cost flow with Johnson potentials, so every augmentation is a Dijkstra;
 * J. W. Suurballe, Networks 4, 125 (1974) solves k = 2 the same way). Link weights come from the caller, which encodes key awareness: an unusable link (down,
 * quarantined, too little key) has weight undefined and is skipped.
 */

/** The graph the path finders need: nodes 0..n-1 and undirected links (a, b). */
export interface PathGraph {
  readonly nodeCount: number;
  /** Per node, the incident links as [linkIndex, neighbourNode]. */
  readonly adjacency: readonly (readonly (readonly [number, number])[])[];
}

/** A path: its nodes (src … dst) and the links between them, as indices. */
export interface GraphPath {
  readonly nodes: readonly number[];
  readonly links: readonly number[];
}

/** Weight of a link, or undefined to exclude it. */
export type LinkWeight = (linkIndex: number) => number | undefined;

/** Least-weight path from src to dst avoiding `blockedNodes` (as intermediates); undefined if none. */
export function shortestPath(
  g: PathGraph,
  src: number,
  dst: number,
  weight: LinkWeight,
  blockedNodes?: ReadonlySet<number>,
): GraphPath | undefined {
  const dist = new Float64Array(g.nodeCount).fill(Infinity);
  const prevLink = new Int32Array(g.nodeCount).fill(-1);
  const prevNode = new Int32Array(g.nodeCount).fill(-1);
  const heap: [number, number][] = [[0, src]];
  dist[src] = 0;
  while (heap.length > 0) {
    const [d, u] = heapPop(heap);
    if (d > dist[u]!) continue;
    if (u === dst) break;
    if (u !== src && blockedNodes?.has(u)) continue;
    for (const [li, v] of g.adjacency[u]!) {
      const w = weight(li);
      if (w === undefined) continue;
      const nd = d + w;
      if (nd < dist[v]!) {
        dist[v] = nd;
        prevLink[v] = li;
        prevNode[v] = u;
        heapPush(heap, [nd, v]);
      }
    }
  }
  if (dist[dst] === Infinity) return undefined;
  const nodes = [dst];
  const links: number[] = [];
  for (let v = dst; v !== src; v = prevNode[v]!) {
    links.push(prevLink[v]!);
    nodes.push(prevNode[v]!);
  }
  return { nodes: nodes.reverse(), links: links.reverse() };
}

/**
 * Up to k node-disjoint src–dst paths of least total weight (fewer if the graph has fewer). Min-cost flow
 * on the split graph (node v → v_in = 2v, v_out = 2v + 1, capacity 1); residual arcs carry negative cost,
 * which the potentials absorb.
 */
export function disjointPaths(
  g: PathGraph,
  src: number,
  dst: number,
  k: number,
  weight: LinkWeight,
): GraphPath[] {
  if (src === dst || k < 1) return [];
  const { to, link, next, head } = splitGraph(g);
  // Per call: capacities and costs from the current weights (arc 2i forward, 2i + 1 its residual twin).
  const cap = new Int32Array(to.length);
  const cost = new Float64Array(to.length);
  for (let e = 0; e < to.length; e += 2) {
    const li = link[e]!;
    if (li < 0) {
      const v = to[e]! >> 1;
      cap[e] = v === src || v === dst ? k : 1;
      continue;
    }
    const w = weight(li);
    if (w === undefined) {
      cap[e] = -1; // excluded: never carries flow (and is not mistaken for used flow below)
      continue;
    }
    cap[e] = 1;
    cost[e] = w;
    cost[e + 1] = -w;
  }
  const s = 2 * src + 1;
  const t = 2 * dst;
  const n = 2 * g.nodeCount;
  // Successive shortest paths with Johnson potentials (Suurballe): reduced costs c + π(u) − π(v) stay
  // ≥ 0 on residual arcs, so each augmentation is one Dijkstra instead of a Bellman–Ford.
  const potential = new Float64Array(n);
  let flow = 0;
  while (flow < k) {
    const dist = new Float64Array(n).fill(Infinity);
    const prevArc = new Int32Array(n).fill(-1);
    const done = new Uint8Array(n);
    const heap: [number, number][] = [[0, s]];
    dist[s] = 0;
    while (heap.length > 0) {
      const [d, u] = heapPop(heap);
      if (done[u] || d > dist[u]!) continue;
      done[u] = 1;
      for (let e = head[u]!; e !== -1; e = next[e]!) {
        if (cap[e]! <= 0) continue;
        const v = to[e]!;
        const nd = d + cost[e]! + potential[u]! - potential[v]!;
        if (nd < dist[v]! - 1e-12) {
          dist[v] = nd;
          prevArc[v] = e;
          heapPush(heap, [nd, v]);
        }
      }
    }
    if (dist[t] === Infinity) break;
    for (let v = 0; v < n; v++) potential[v] = potential[v]! + (dist[v] === Infinity ? dist[t]! : dist[v]!);
    for (let v = t; v !== s; v = to[prevArc[v]! ^ 1]!) {
      cap[prevArc[v]!]!--;
      cap[prevArc[v]! ^ 1]!++;
    }
    flow++;
  }
  // Decompose the flow into paths: follow saturated link arcs from src.
  const paths: GraphPath[] = [];
  for (let f = 0; f < flow; f++) {
    const nodes = [src];
    const links: number[] = [];
    let u = src;
    while (u !== dst) {
      let moved = false;
      for (let e = head[2 * u + 1]!; e !== -1; e = next[e]!) {
        if (e % 2 === 0 && link[e]! >= 0 && cap[e] === 0) {
          cap[e] = 1; // consume this unit of flow so the next path takes another arc
          links.push(link[e]!);
          u = to[e]! >> 1;
          nodes.push(u);
          moved = true;
          break;
        }
      }
      if (!moved) throw new Error('disjointPaths: flow decomposition lost its way (bug)');
    }
    paths.push({ nodes, links });
  }
  return paths;
}

interface SplitGraph {
  readonly to: Int32Array;
  readonly link: Int32Array;
  readonly next: Int32Array;
  readonly head: Int32Array;
}

const SPLIT_CACHE = new WeakMap<PathGraph, SplitGraph>();

/** The node-split arc structure of a graph (built once per graph, weights applied per call). */
function splitGraph(g: PathGraph): SplitGraph {
  const hit = SPLIT_CACHE.get(g);
  if (hit) return hit;
  let arcs = 2 * g.nodeCount;
  for (const adj of g.adjacency) arcs += 2 * adj.length;
  const to = new Int32Array(arcs);
  const link = new Int32Array(arcs);
  const next = new Int32Array(arcs);
  const head = new Int32Array(2 * g.nodeCount).fill(-1);
  let e = 0;
  const addPair = (u: number, v: number, li: number) => {
    to[e] = v;
    link[e] = li;
    next[e] = head[u]!;
    head[u] = e++;
    to[e] = u;
    link[e] = li;
    next[e] = head[v]!;
    head[v] = e++;
  };
  for (let v = 0; v < g.nodeCount; v++) addPair(2 * v, 2 * v + 1, -1);
  for (let u = 0; u < g.nodeCount; u++) for (const [li, v] of g.adjacency[u]!) addPair(2 * u + 1, 2 * v, li);
  const sg = { to, link, next, head };
  SPLIT_CACHE.set(g, sg);
  return sg;
}

function heapPush(h: [number, number][], x: [number, number]): void {
  h.push(x);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p]![0] <= x[0]) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = x;
}

function heapPop(h: [number, number][]): [number, number] {
  const top = h[0]!;
  const last = h.pop()!;
  if (h.length > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const c = l + 1 < h.length && h[l + 1]![0] < h[l]![0] ? l + 1 : l;
      if (h[c]![0] >= last[0]) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
  return top;
}
