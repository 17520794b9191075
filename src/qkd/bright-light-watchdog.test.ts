import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../common/index.ts';
import { PRESETS } from '../physics/index.ts';
import {
  BLINDING_POWER_W,
  hasWatchdog,
  WATCHDOG_FALSE_TRIP,
  WATCHDOG_NOISE_W,
  WATCHDOG_TAP,
  WATCHDOG_THRESHOLD_SIGMA,
  WATCHDOG_WINDOW_S,
  watchdogReading,
} from './bright-light-watchdog.ts';
import { sampleBlockCounts } from './count-sampler.ts';
import type { LinkBlockConfig } from './types.ts';

const metro = PRESETS.metro!.params;
const gys = PRESETS.gys!.params;
const cfg = (o: Partial<LinkBlockConfig> = {}): LinkBlockConfig => ({
  linkId: 'l',
  blockId: 1,
  pulses: 5e6,
  params: { ...gys, brightLightWatchdog: 1 },
  distanceKm: 25,
  ...o,
});

test('the false-trip probability is the Gaussian upper tail at the threshold (Q(6), by quadrature)', () => {
  // Simpson's rule on the standard normal density over [6, 12]
  const n = 6000;
  const h = 6 / n;
  const phi = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
  let sum = phi(6) + phi(12);
  for (let i = 1; i < n; i++) sum += (i % 2 ? 4 : 2) * phi(6 + i * h);
  assert.ok(Math.abs((sum * h) / 3 / WATCHDOG_FALSE_TRIP - 1) < 1e-6);
  assert.equal(WATCHDOG_THRESHOLD_SIGMA, 6);
});

test('the metro preset has the watchdog, GYS does not; an attack-free block almost never trips', () => {
  assert.equal(hasWatchdog({ ...cfg(), params: metro }), true);
  assert.equal(hasWatchdog({ ...cfg(), params: gys }), false);
  const c = cfg(); // 2.5 s at 2 MHz: 625,000 windows, 6·10⁻⁴ false trips expected
  let trips = 0;
  for (let i = 0; i < 200; i++) trips += watchdogReading(c, createRng(`null:${i}`)).trips;
  assert.equal(watchdogReading(c, createRng(1)).windows, Math.ceil(2.5 / WATCHDOG_WINDOW_S));
  assert.ok(trips <= 2, `${trips} trips in 200 attack-free blocks`);
});

test('blinding a fraction f of the block trips every window it covers; a stretch too short to cross the threshold does not', () => {
  const c = cfg({ attack: { kind: 'blinding', param: 0.01 } });
  const r = watchdogReading(c, createRng(2));
  assert.ok(r.trips >= Math.ceil((0.01 * 2.5) / WATCHDOG_WINDOW_S));
  // shortest stretch that still trips one window: its share of the window's energy reaches the threshold
  const minLitS =
    (WATCHDOG_THRESHOLD_SIGMA * WATCHDOG_NOISE_W * WATCHDOG_WINDOW_S) / (WATCHDOG_TAP * BLINDING_POWER_W);
  const f = (x: number) => (x * minLitS) / 2.5;
  assert.ok(watchdogReading(cfg({ attack: { kind: 'blinding', param: f(2) } }), createRng(3)).trips >= 1);
  assert.equal(watchdogReading(cfg({ attack: { kind: 'blinding', param: f(0.5) } }), createRng(3)).trips, 0);
});

test('a link without the watchdog samples the same block as before; with it, the block only gains the readings', () => {
  const off = sampleBlockCounts({ ...cfg(), params: gys }, createRng(9)).telemetry;
  const on = sampleBlockCounts(cfg(), createRng(9)).telemetry;
  assert.equal(off.watchdogWindows, undefined);
  const { watchdogWindows, watchdogTrips, ...rest } = on;
  assert.ok(watchdogWindows! > 0 && watchdogTrips !== undefined);
  assert.deepEqual(rest, off);
});
