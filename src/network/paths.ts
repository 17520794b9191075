/**
 * Path finding on the trusted-node graph: key-aware shortest paths (Dijkstra, E. W. Dijkstra, Numer. Math.
 * 1, 269 (1959)) and k node-disjoint paths of least total weight by successive shortest augmenting paths
 * on the node-split graph (min-cost flow; J. W. Suurballe, Networks 4, 125 (1974) solves k = 2 the same
 * way). Link weights come from the caller, which encodes key awareness: an unusable link (down,
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
 * on the split graph (node v → v_in = 2v, v_out = 2v + 1, capacity 1) with SPFA (Bellman–Ford queue)
 * because residual arcs carry negative cost.
 */
export function disjointPaths(
  g: PathGraph,
  src: number,
  dst: number,
  k: number,
  weight: LinkWeight,
): GraphPath[] {
  if (src === dst || k < 1) return [];
  const to: number[] = [];
  const cap: number[] = [];
  const cost: number[] = [];
  const link: number[] = [];
  const head = new Int32Array(2 * g.nodeCount).fill(-1);
  const next: number[] = [];
  const addArc = (u: number, v: number, c: number, w: number, li: number) => {
    for (const [a, b, cc, ww] of [
      [u, v, c, w],
      [v, u, 0, -w],
    ] as const) {
      to.push(b);
      cap.push(cc);
      cost.push(ww);
      link.push(li);
      next.push(head[a]!);
      head[a] = to.length - 1;
    }
  };
  for (let v = 0; v < g.nodeCount; v++) addArc(2 * v, 2 * v + 1, v === src || v === dst ? k : 1, 0, -1);
  for (let u = 0; u < g.nodeCount; u++) {
    for (const [li, v] of g.adjacency[u]!) {
      const w = weight(li);
      if (w !== undefined) addArc(2 * u + 1, 2 * v, 1, w, li);
    }
  }
  const s = 2 * src + 1;
  const t = 2 * dst;
  const n = 2 * g.nodeCount;
  let flow = 0;
  while (flow < k) {
    const dist = new Float64Array(n).fill(Infinity);
    const inQueue = new Uint8Array(n);
    const prevArc = new Int32Array(n).fill(-1);
    const queue = [s];
    dist[s] = 0;
    for (let qi = 0; qi < queue.length; qi++) {
      const u = queue[qi]!;
      inQueue[u] = 0;
      for (let e = head[u]!; e !== -1; e = next[e]!) {
        if (cap[e]! <= 0) continue;
        const v = to[e]!;
        const nd = dist[u]! + cost[e]!;
        if (nd < dist[v]! - 1e-12) {
          dist[v] = nd;
          prevArc[v] = e;
          if (!inQueue[v]) {
            inQueue[v] = 1;
            queue.push(v);
          }
        }
      }
    }
    if (dist[t] === Infinity) break;
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
