import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { disjointPaths, shortestPath, type PathGraph } from './paths.ts';

function graph(n: number, edges: readonly (readonly [number, number])[]): PathGraph {
  const adjacency: [number, number][][] = Array.from({ length: n }, () => []);
  edges.forEach(([a, b], i) => {
    adjacency[a]!.push([i, b]);
    adjacency[b]!.push([i, a]);
  });
  return { nodeCount: n, adjacency };
}

const one = () => 1;

test('shortestPath follows the least total weight and skips excluded links', () => {
  // 0-1-3 (weights 1+1) vs 0-2-3 (weights 5+5); excluding link 0 forces the long way.
  const g = graph(4, [
    [0, 1],
    [1, 3],
    [0, 2],
    [2, 3],
  ]);
  const w = [1, 1, 5, 5];
  assert.deepEqual(shortestPath(g, 0, 3, (l) => w[l])?.nodes, [0, 1, 3]);
  assert.deepEqual(shortestPath(g, 0, 3, (l) => (l === 0 ? undefined : w[l]))?.nodes, [0, 2, 3]);
  assert.equal(
    shortestPath(g, 0, 3, () => undefined),
    undefined,
  );
});

test('disjointPaths finds two disjoint paths in the trap topology where greedy removal of the shortest fails', () => {
  // Suurballe's classic trap: the shortest path s-a-b-t uses the only crossing; removing its nodes leaves no
  // second path, but s-a-t and s-b... exist: s→a→t and s→c→b→t.
  const [s, a, b, c, t] = [0, 1, 2, 3, 4];
  const g = graph(5, [
    [s, a],
    [a, b],
    [b, t],
    [a, t],
    [s, c],
    [c, b],
  ]);
  const w = [1, 1, 1, 3, 3, 3];
  const greedy = shortestPath(g, s, t, (l) => w[l]);
  assert.deepEqual(greedy?.nodes, [s, a, b, t]);
  const paths = disjointPaths(g, s, t, 2, (l) => w[l]);
  assert.equal(paths.length, 2);
  // Excluding the crossing a–b leaves exactly the two disjoint paths; excluding a–t leaves one.
  assert.equal(disjointPaths(g, s, t, 2, (l) => (l === 1 ? undefined : w[l])).length, 2);
  const one = disjointPaths(g, s, t, 2, (l) => (l === 3 ? undefined : w[l]));
  assert.equal(one.length, 1);
  assert.ok(!one[0]!.links.includes(3));
  const mids = paths.flatMap((p) => p.nodes.slice(1, -1));
  assert.equal(new Set(mids).size, mids.length);
});

test('disjointPaths returns valid, node-disjoint paths, as many as a brute-force Menger count allows (k ≤ 2)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 3, max: 8 }).chain((n) =>
        fc.tuple(
          fc.constant(n),
          fc.uniqueArray(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), {
            maxLength: 16,
            selector: ([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`,
          }),
        ),
      ),
      ([n, raw]) => {
        const edges = raw.filter(([a, b]) => a !== b);
        const g = graph(n, edges);
        const paths = disjointPaths(g, 0, n - 1, 2, one);
        const seen = new Set<number>();
        for (const p of paths) {
          assert.equal(p.nodes[0], 0);
          assert.equal(p.nodes.at(-1), n - 1);
          p.links.forEach((li, j) => {
            const [x, y] = edges[li]!;
            const [u, v] = [p.nodes[j]!, p.nodes[j + 1]!];
            assert.ok((x === u && y === v) || (x === v && y === u));
          });
          for (const m of p.nodes.slice(1, -1)) {
            assert.ok(!seen.has(m), 'paths share an intermediate node');
            seen.add(m);
          }
        }
        // Menger's theorem: without the direct edge, two internally disjoint paths exist iff 0 and n-1 are
        // connected and no single intermediate node separates them; the direct edge adds one more path.
        const isDirect = ([a, b]: readonly [number, number]) =>
          (a === 0 && b === n - 1) || (b === 0 && a === n - 1);
        const rest = graph(
          n,
          edges.map((e) => (isDirect(e) ? ([0, 0] as const) : e)),
        );
        const reachable = (blocked: number) =>
          shortestPath(rest, 0, n - 1, one, new Set([blocked])) !== undefined;
        let withoutDirect = 0;
        if (reachable(-1)) {
          withoutDirect = 2;
          for (let m = 1; m < n - 1; m++) if (!reachable(m)) withoutDirect = 1;
        }
        const expected = Math.min(2, withoutDirect + (edges.some(isDirect) ? 1 : 0));
        assert.equal(paths.length, expected);
      },
    ),
    { seed: 66, numRuns: 400 },
  );
});
