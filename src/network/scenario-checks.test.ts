import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from './scenario.ts';

/** A square a–b–c–d–a plus an isolated node e; one app a→c. */
const BASE = `
name: t
title: T
sources: [test]
nodes:
  - { id: a, lat: 0, lon: 0 }
  - { id: b, lat: 0, lon: 1 }
  - { id: c, lat: 1, lon: 1 }
  - { id: d, lat: 1, lon: 0 }
  - { id: e, lat: 2, lon: 2 }
links:
  - { id: ab, from: a, to: b, rate_bps: 1000 }
  - { id: bc, from: b, to: c, rate_bps: 1000 }
  - { id: cd, from: c, to: d, rate_bps: 1000 }
  - { id: da, from: d, to: a, rate_bps: 1000 }
apps:
  - { id: x, from: a, to: c, rate_bps: 10 }
`;

/** Loads BASE with `edit` applied and returns the one-line error, or '' if it loaded. */
function refusal(edit: (s: string) => string): string {
  try {
    parseScenario(edit(BASE));
    return '';
  } catch (e) {
    const m = (e as Error).message;
    assert.ok(!m.includes('\n'), `one line: ${m}`);
    assert.equal((e as { code?: string }).code, 'SCENARIO_INVALID');
    return m;
  }
}

test('the base scenario loads with no warning', () => {
  assert.equal(
    refusal((s) => s),
    '',
  );
  assert.deepEqual(parseScenario(BASE).warnings, []);
});

test('an application whose endpoints no chain of QKD links joins is refused', () => {
  assert.match(
    refusal((s) => s.replace('{ id: x, from: a, to: c', '{ id: x, from: a, to: e')),
    /app x: nodes a and e are not joined by any chain of QKD links/,
  );
});

test('a link of rate 0 is refused: measured 0, or a model that gives no key at that length', () => {
  assert.match(
    refusal((s) =>
      s.replace('id: ab, from: a, to: b, rate_bps: 1000', 'id: ab, from: a, to: b, rate_bps: 0'),
    ),
    /link ab: rate 0 bit\/s/,
  );
  assert.match(
    refusal((s) =>
      s.replace(
        'id: ab, from: a, to: b, rate_bps: 1000',
        'id: ab, from: a, to: b, length_km: 500, model: bb84-decoy-infinite, preset: gys',
      ),
    ),
    /link ab: rate 0 bit\/s \(bb84-decoy-infinite gives no key over 500 km with preset gys\)/,
  );
  assert.match(
    refusal((s) =>
      s.replace(
        'id: ab, from: a, to: b, rate_bps: 1000',
        'id: ab, from: a, to: b, length_km: 60, preset: gys',
      ),
    ),
    /link ab: the finite-key rate is 0 at blocks of 1000000000 pulses \(500 s\); set a larger event_pulses or rate_model: asymptotic/,
  );
});

test('a pool of capacity 0 is refused (per link or by default)', () => {
  assert.match(
    refusal((s) => s.replace('rate_bps: 1000 }', 'rate_bps: 1000, pool_capacity_bits: 0 }')),
    /link ab: pool_capacity_bits is 0/,
  );
  assert.match(
    refusal((s) => s.replace('sources: [test]', 'sources: [test]\ndefaults: { pool_capacity_bits: 0 }')),
    /pool_capacity_bits is 0/,
  );
});

test('multipath wider than the node-disjoint paths available is refused', () => {
  assert.equal(
    refusal((s) => s.replace('rate_bps: 10 }', 'rate_bps: 10, multipath: 2 }')),
    '',
  );
  assert.match(
    refusal((s) => s.replace('rate_bps: 10 }', 'rate_bps: 10, multipath: 3 }')),
    /app x: multipath 3 but the network has only 2 node-disjoint paths from a to c/,
  );
});

test('demand above what the links can carry loads, with a warning naming the app and the capacity', () => {
  const s = parseScenario(BASE.replace('rate_bps: 10 }', 'rate_bps: 1e12 }'));
  assert.equal(s.warnings.length, 2);
  assert.match(
    s.warnings[0]!,
    /app x asks 1000000000000 bit\/s but the links between a and c carry at most 2000 bit\/s on average/,
  );
  assert.match(
    s.warnings[1]!,
    /total demand 1000000000000 bit\/s exceeds the sum of every link's average rate \(4000 bit\/s\)/,
  );
  // A satellite link counts at its pass duty cycle: 1000 bit/s for 1 h a day ≈ 41.7 bit/s.
  const sat = parseScenario(
    BASE.replace(
      'rate_bps: 1000 }',
      'rate_bps: 1000, passes: { first: 0, period: 24h, duration: 1h } }',
    ).replace('{ id: x, from: a, to: c, rate_bps: 10 }', '{ id: x, from: a, to: b, rate_bps: 1100 }'),
  );
  assert.match(sat.warnings[0]!, /carry at most 1040 bit\/s/);
});

test('a bad event time names the field and the accepted forms', () => {
  const withEvent = (at: string) => (s: string) => `${s}events:\n  - { at: ${at}, fail: ab }\n`;
  assert.equal(refusal(withEvent('90s')), '');
  assert.match(
    refusal(withEvent('soon')),
    /\/events\/0\/at: "soon" is not accepted; expected seconds, or a string such as 90s, 15m, 24h, 2d/,
  );
  assert.match(
    refusal(withEvent('"5 parsecs"')),
    /events\[0\]\.at: "5 parsecs" is not a duration \(e\.g\. 90s, 15m, 24h\)/,
  );
});
