import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, type Alert } from '../common/index.ts';
import { PRESETS } from '../physics/index.ts';
import { modelFromParams, siftedPerPulse } from './model.ts';
import { syntheticTelemetry } from './synthetic.ts';
import { DetectionEngine } from './engine.ts';
import { createDetectionMetrics } from './metrics.ts';

const model = modelFromParams(PRESETS.gys!.params, 25);
const pulses = Math.round(1e5 / siftedPerPulse(model));
const block = (i: number, qberShift = 0) =>
  syntheticTelemetry(
    model,
    { linkId: 'a-b', blockId: i, pulses, distortion: { qberShift } },
    createRng(`b${i}`),
  );

test('an attacked block is aborted, the link quarantined, and later blocks aborted until restored', () => {
  const calls: string[] = [];
  const engine = new DetectionEngine({
    hooks: {
      abortBlock: (link, id) => calls.push(`abort ${link} ${id}`),
      quarantineLink: (link, a) => calls.push(`quarantine ${link} ${a.kind}`),
    },
  });
  engine.addLink('a-b', model);
  const seen: Alert[] = [];
  const off = engine.subscribe((a) => seen.push(a));
  assert.equal(engine.observe(block(0)).abortBlock, false);
  const v = engine.observe(block(1, 0.0125));
  assert.equal(v.abortBlock, true);
  assert.equal(v.quarantined, true);
  assert.ok(calls.includes('abort a-b 1') && calls.some((c) => c.startsWith('quarantine a-b')));
  assert.equal(new Set(v.alerts.map((a) => a.kind)).size, v.alerts.length, 'one alert per kind');
  for (const a of v.alerts) {
    assert.equal(a.linkId, 'a-b');
    assert.equal(a.severity, 'critical');
    assert.ok(a.evidence.statistic && Number.isFinite(a.evidence.value) && a.evidence.window);
  }
  const after = engine.observe(block(2));
  assert.equal(after.abortBlock, true, 'quarantined link yields no key');
  assert.ok(calls.includes('abort a-b 2'));
  assert.equal(engine.restoreLink('a-b', 3)?.action, 'restore-link');
  assert.equal(engine.observe(block(3)).abortBlock, false);
  off();
  const n = seen.length;
  engine.observe(block(4, 0.05));
  assert.equal(seen.length, n, 'unsubscribed');
  assert.deepEqual(
    seen.map((a) => a.id),
    seen.map((_, i) => seen[i]!.id),
  );
});

test('the same seed gives the same alerts (deterministic ids and evidence)', () => {
  const run = () => {
    const e = new DetectionEngine();
    e.addLink('a-b', model);
    return [0, 1, 2].flatMap((i) => e.observe(block(i, i === 1 ? 0.02 : 0)).alerts);
  };
  assert.deepEqual(run(), run());
});

test('key-pool depletion calls the PQC-only hook; a throwing listener does not stop the others', () => {
  const pqc: string[] = [];
  const engine = new DetectionEngine({ hooks: { pqcOnly: (t, a) => pqc.push(`${t.linkId} ${a.kind}`) } });
  let got = 0;
  engine.subscribe(() => {
    throw new Error('listener bug');
  });
  engine.subscribe(() => got++);
  const v = engine.observe({ linkId: 'kme-a', timeNs: 0, keyPoolBits: 1000 });
  assert.deepEqual(pqc, ['kme-a key-exhaustion']);
  assert.equal(v.abortBlock, false);
  assert.equal(got, 1);
  assert.equal(engine.listenerErrors.length, 1);
});

test('Prometheus metrics count samples, aborts, alerts and quarantine', async () => {
  const engine = new DetectionEngine();
  engine.addLink('a-b', model);
  const metrics = createDetectionMetrics();
  metrics.instrument(engine);
  engine.observe({ ...block(0), qberZ: 0.03 });
  engine.observe(block(1, 0.05));
  const text = await metrics.registry.metrics();
  assert.match(text, /qkdnet_detect_samples_total\{link="a-b"\} 2/);
  assert.match(text, /qkdnet_detect_blocks_aborted_total\{link="a-b"\} 1/);
  assert.match(text, /qkdnet_detect_link_quarantined\{link="a-b"\} 1/);
  assert.match(
    text,
    /qkdnet_detect_alerts_total\{link="a-b",kind="qber-high",severity="critical",action="quarantine-link"\} 1/,
  );
  assert.match(text, /qkdnet_detect_qber\{link="a-b",basis="Z"\} 0.03/);
  assert.match(text, /qkdnet_detect_false_alarm_budget_per_block\{link="a-b"\} 0.001/);
});

test('with quarantineAfter 2 the first alarmed block is only aborted, the second quarantines', () => {
  const engine = new DetectionEngine({ quarantineAfter: 2, escalationWindowBlocks: 5 });
  engine.addLink('a-b', model);
  const first = engine.observe(block(10, 0.0125));
  assert.equal(first.abortBlock, true);
  assert.equal(first.quarantined, false);
  assert.ok(first.alerts.every((a) => a.action === 'abort-block'));
  assert.equal(engine.observe(block(11)).abortBlock, false);
  const second = engine.observe(block(12, 0.0125));
  assert.equal(second.quarantined, true);
  assert.ok(second.alerts.some((a) => a.action === 'quarantine-link'));
  assert.throws(() => new DetectionEngine({ quarantineAfter: 0 }), RangeError);
});
