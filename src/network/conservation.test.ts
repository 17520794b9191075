import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseScenario } from './scenario.ts';
import { NetworkSimulation } from './simulation.ts';

/** A random connected network: a ring of n nodes plus chords, random rates, pools, apps and events. */
const scenarioArb = fc
  .record({
    n: fc.integer({ min: 3, max: 6 }),
    chords: fc.array(fc.tuple(fc.nat(5), fc.nat(5)), { maxLength: 4 }),
    rates: fc.array(fc.integer({ min: 20, max: 2000 }), { minLength: 10, maxLength: 10 }),
    capacity: fc.integer({ min: 256, max: 200_000 }),
    initial: fc.integer({ min: 0, max: 200_000 }),
    apps: fc.array(
      fc.record({
        from: fc.nat(5),
        to: fc.nat(5),
        rate: fc.integer({ min: 8, max: 3000 }),
        policy: fc.constantFrom('pqc', 'qkd-relayed', 'hybrid'),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    events: fc.array(
      fc.record({
        at: fc.integer({ min: 0, max: 3600 }),
        kind: fc.constantFrom('fail', 'restore', 'compromise', 'attack'),
        i: fc.nat(9),
      }),
      { maxLength: 6 },
    ),
    seed: fc.integer({ min: 1, max: 1000 }),
  })
  .map((r) => {
    const links: [number, number][] = [];
    for (let i = 0; i < r.n; i++) links.push([i, (i + 1) % r.n]);
    for (const [a, b] of r.chords) if (a % r.n !== b % r.n) links.push([a % r.n, b % r.n]);
    const apps = r.apps
      .map((a, i) => ({ ...a, id: `app${i}`, from: a.from % r.n, to: a.to % r.n }))
      .filter((a) => a.from !== a.to);
    const text = [
      'name: random',
      'title: random',
      'sources: [generated]',
      `defaults: { block: 10s, request_interval: 10s, pool_capacity_bits: ${r.capacity}, initial_pool_bits: ${r.initial} }`,
      'nodes:',
      ...Array.from({ length: r.n }, (_, i) => `  - { id: n${i}, lat: 0, lon: ${i} }`),
      'links:',
      ...links.map(([a, b], i) => `  - { id: l${i}, from: n${a}, to: n${b}, rate_bps: ${r.rates[i % 10]} }`),
      'apps:',
      ...apps.map(
        (a) =>
          `  - { id: ${a.id}, from: n${a.from}, to: n${a.to}, rate_bps: ${a.rate}, min_provenance: ${a.policy}${a.policy === 'hybrid' ? ', hybrid: true' : ''} }`,
      ),
    ].join('\n');
    return { text, links: links.length, events: r.events, seed: r.seed, apps: apps.length };
  })
  .filter((r) => r.apps > 0);

test('conservation over random scenarios: per link initial + generated = consumed + discarded + end; per app demand = served + unserved', () => {
  fc.assert(
    fc.property(scenarioArb, (r) => {
      const s = parseScenario(r.text);
      const net = new NetworkSimulation(s, { seed: r.seed, durationS: 3600, materializeKeys: false });
      for (const e of r.events) {
        const link = `l${e.i % r.links}`;
        if (e.kind === 'compromise')
          net.scheduleEvent({ atS: e.at, kind: 'compromise', target: `n${e.i % s.nodes.length}` });
        else if (e.kind === 'attack')
          net.kernel.at(e.at * 1e9, () => net.injectAttack(link, { kind: 'intercept-resend', param: 1 }));
        else net.scheduleEvent({ atS: e.at, kind: e.kind, target: link });
      }
      net.run();
      const sum = net.summary(0);
      for (const l of sum.links) {
        assert.equal(
          l.initial_pool_bits + l.generated_bits,
          l.consumed_bits + l.discarded_bits + l.end_pool_bits,
          l.id,
        );
        assert.ok(l.end_pool_bits >= 0 && l.discarded_bits >= 0 && l.utilisation >= 0);
      }
      let demand = 0;
      let changes = 0;
      let exposed = 0;
      for (const a of sum.apps) {
        const byProv = Object.values(a.served_by_provenance).reduce((x, y) => x + y, 0);
        assert.equal(a.served_bits, byProv, a.id);
        assert.equal(a.demand_bits, a.served_bits + a.unserved_bits, a.id);
        assert.equal(
          a.keys_exposed_bits,
          a.keys_exposed_by_cause.relay_node + a.keys_exposed_by_cause.endpoint,
        );
        assert.ok(a.keys_exposed_bits + a.hybrid_relay_exposed_bits <= a.served_bits);
        demand += a.demand_bits;
        changes += a.route_changes;
        exposed += a.keys_exposed_bits;
      }
      assert.equal(sum.demand_bits, demand);
      assert.equal(sum.unserved_bits, sum.demand_bits - sum.served_bits);
      assert.equal(sum.route_changes.total, changes);
      assert.equal(sum.reroutes, changes);
      assert.equal(sum.keys_exposed_bits, exposed);
      assert.equal(sum.plaintext_bits, 0);
      assert.ok(sum.served_fraction_qkd <= sum.served_fraction + 1e-12);
    }),
    { numRuns: 40, seed: 20231 },
  );
});
