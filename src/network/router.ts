/**
 * Key-aware routing (the controller's path choice; cf. ITU-T Y.3803 §9 "routing" and the key-pool-aware
 * metrics of SECOQC, Peev et al. 2009, §5): a link is usable only if it is up, not quarantined and its
 * pool holds the bits the request needs; among usable links the weight grows as the pool empties, so
 * traffic drifts to links with key to spare. Multipath routing asks for k node-disjoint paths of least
 * total weight. The application's policy (minimum provenance) decides which routes it accepts.
 */
import { PROVENANCE_ORDER, type Provenance } from '../common/index.ts';
import { disjointPaths, shortestPath, type GraphPath, type PathGraph } from './paths.ts';

/** A route: its QKD provenance and its paths (node and link indices). */
export interface Route {
  readonly provenance: 'qkd' | 'qkd-relayed' | 'qkd-multipath';
  readonly paths: readonly GraphPath[];
}

/** What the router needs to know about a link now. */
export interface LinkLevels {
  /** True if the link may carry key now (up, not quarantined). */
  usable(linkIndex: number): boolean;
  /** Bits in the link's pool. */
  levelBits(linkIndex: number): number;
}

/** True if provenance `p` satisfies a policy whose weakest accepted provenance is `min`. */
export function admits(min: Provenance, p: Provenance): boolean {
  return PROVENANCE_ORDER.indexOf(p) <= PROVENANCE_ORDER.indexOf(min);
}

/** Weight of a link for a request of `bits` per hop: 1 + 2·exp(−level / (50·bits)); undefined if unusable. */
export function keyAwareWeight(links: LinkLevels, bits: number): (li: number) => number | undefined {
  return (li) => {
    if (!links.usable(li)) return undefined;
    const level = links.levelBits(li);
    if (level < bits) return undefined;
    return 1 + 2 * Math.exp(-level / (50 * Math.max(bits, 1)));
  };
}

/**
 * True if a route keeps its key from the nodes in `avoid` (known compromised): a single path must not
 * pass through one; a multipath route needs one path that does not (its XOR share stays secret).
 */
export function routeTrusted(route: Route, avoid: ReadonlySet<number>): boolean {
  if (avoid.size === 0) return true;
  const clean = (p: GraphPath) => p.nodes.slice(1, -1).every((n) => !avoid.has(n));
  return route.paths.length === 1 ? clean(route.paths[0]!) : route.paths.some(clean);
}

/** True if every hop of every path can give `bits` now. */
export function routeStillUsable(route: Route, links: LinkLevels, bits: number): boolean {
  for (const p of route.paths) {
    for (const li of p.links) if (!links.usable(li) || links.levelBits(li) < bits) return false;
  }
  return true;
}

/**
 * The best route for a request of `bits` per hop from `src` to `dst` under the policy, or undefined when
 * no QKD route the policy accepts has key. `hybrid` apps are judged on the provenance 'hybrid'.
 */
export function findRoute(
  g: PathGraph,
  links: LinkLevels,
  src: number,
  dst: number,
  bits: number,
  policy: { readonly minProvenance: Provenance; readonly multipath: number; readonly hybrid: boolean },
  avoid: ReadonlySet<number> = new Set(),
): Route | undefined {
  const weight = keyAwareWeight(links, bits);
  const ok = (p: Route['provenance']) => admits(policy.minProvenance, policy.hybrid ? 'hybrid' : p);
  if (policy.multipath >= 2 && ok('qkd-multipath')) {
    const paths = disjointPaths(g, src, dst, policy.multipath, weight);
    const route: Route = { provenance: 'qkd-multipath', paths };
    if (paths.length >= policy.multipath && routeTrusted(route, avoid)) return route;
  }
  const p = shortestPath(g, src, dst, weight, avoid);
  if (!p) return undefined;
  const provenance = p.links.length === 1 ? 'qkd' : 'qkd-relayed';
  return ok(provenance) ? { provenance, paths: [p] } : undefined;
}
