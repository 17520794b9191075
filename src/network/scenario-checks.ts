/**
 * Feasibility checks of a resolved scenario, run by the loader after every field is valid: each application's
 * endpoints must be joined by a chain of QKD links; an application asking for k node-disjoint paths must have
 * k of them in the full network; and demand above what the links can carry is a warning (loadable — planning
 * an overloaded network is legitimate — but said). The carrying capacity of an application is the maximum
 * flow between its endpoints with each link's capacity its average key rate (rate × pass duty cycle): every
 * relayed key bit costs one bit on every hop, so no routing serves more (max-flow min-cut theorem, L. R. Ford,
 * D. R. Fulkerson, Can. J. Math. 8, 399 (1956); augmenting paths of J. Edmonds, R. M. Karp, JACM 19, 248
 * (1972)).
 */
import { disjointPaths, shortestPath, type PathGraph } from './paths.ts';

/** What the checks read of a scenario. */
export interface FeasibilityInput {
  readonly nodes: readonly string[];
  readonly links: readonly {
    readonly id: string;
    readonly from: string;
    readonly to: string;
    readonly rateBps: number;
    readonly passes: { readonly periodS: number; readonly durationS: number } | undefined;
  }[];
  readonly apps: readonly {
    readonly id: string;
    readonly from: string;
    readonly to: string;
    readonly rateBps: number;
    readonly multipath: number;
  }[];
  readonly durationS: number;
}

/** Average key rate of a link over time (a satellite link only inside its passes), bit/s. */
export function averageRateBps(l: FeasibilityInput['links'][number]): number {
  return l.passes ? (l.rateBps * l.passes.durationS) / l.passes.periodS : l.rateBps;
}

/**
 * Throws `refuse(message)` for the first impossible application; returns warnings for demand above capacity
 * (per application, and for the network when the sum of demands exceeds the sum of average link rates).
 */
export function checkFeasible(s: FeasibilityInput, refuse: (message: string) => Error): string[] {
  const index = new Map(s.nodes.map((id, i) => [id, i]));
  const adjacency: [number, number][][] = s.nodes.map(() => []);
  s.links.forEach((l, li) => {
    adjacency[index.get(l.from)!]!.push([li, index.get(l.to)!]);
    adjacency[index.get(l.to)!]!.push([li, index.get(l.from)!]);
  });
  const g: PathGraph = { nodeCount: s.nodes.length, adjacency };
  const warnings: string[] = [];
  for (const a of s.apps) {
    const src = index.get(a.from)!;
    const dst = index.get(a.to)!;
    if (!shortestPath(g, src, dst, () => 1))
      throw refuse(`app ${a.id}: nodes ${a.from} and ${a.to} are not joined by any chain of QKD links`);
    if (a.multipath >= 2) {
      const k = disjointPaths(g, src, dst, a.multipath, () => 1).length;
      if (k < a.multipath)
        throw refuse(
          `app ${a.id}: multipath ${a.multipath} but the network has only ${k} node-disjoint path${k === 1 ? '' : 's'} from ${a.from} to ${a.to}`,
        );
    }
    const capacity = maxFlow(g, src, dst, s.links.map(averageRateBps));
    if (a.rateBps > capacity)
      warnings.push(
        `app ${a.id} asks ${fmt(a.rateBps)} bit/s but the links between ${a.from} and ${a.to} carry at most ${fmt(capacity)} bit/s on average`,
      );
  }
  const demand = s.apps.reduce((t, a) => t + a.rateBps, 0);
  const supply = s.links.reduce((t, l) => t + averageRateBps(l), 0);
  if (demand > supply)
    warnings.push(
      `total demand ${fmt(demand)} bit/s exceeds the sum of every link's average rate (${fmt(supply)} bit/s)`,
    );
  return warnings;
}

function fmt(v: number): string {
  return Number(v.toPrecision(3)).toString();
}

/** Maximum flow from src to dst with undirected link capacities (Edmonds–Karp: BFS augmenting paths). */
export function maxFlow(g: PathGraph, src: number, dst: number, capacity: readonly number[]): number {
  // Residual capacity per direction: [2·li] from the lower-indexed end a→b, [2·li + 1] b→a.
  const residual = new Float64Array(2 * capacity.length);
  const ends: [number, number][] = [];
  g.adjacency.forEach((adj, u) => {
    for (const [li, v] of adj) if (u < v || (u === v && !ends[li])) ends[li] = [u, v];
  });
  capacity.forEach((c, li) => {
    residual[2 * li] = c;
    residual[2 * li + 1] = c;
  });
  const dir = (li: number, from: number) => 2 * li + (ends[li]![0] === from ? 0 : 1);
  let total = 0;
  for (;;) {
    const prev = new Int32Array(g.nodeCount).fill(-1);
    const prevLink = new Int32Array(g.nodeCount).fill(-1);
    prev[src] = src;
    const queue = [src];
    for (let q = 0; q < queue.length && prev[dst] === -1; q++) {
      const u = queue[q]!;
      for (const [li, v] of g.adjacency[u]!) {
        if (prev[v] !== -1 || residual[dir(li, u)]! <= 1e-12) continue;
        prev[v] = u;
        prevLink[v] = li;
        queue.push(v);
      }
    }
    if (prev[dst] === -1) return total;
    let push = Infinity;
    for (let v = dst; v !== src; v = prev[v]!) push = Math.min(push, residual[dir(prevLink[v]!, prev[v]!)]!);
    for (let v = dst; v !== src; v = prev[v]!) {
      residual[dir(prevLink[v]!, prev[v]!)]! -= push;
      residual[dir(prevLink[v]!, v)]! += push;
    }
    total += push;
  }
}
