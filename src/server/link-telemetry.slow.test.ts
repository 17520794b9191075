import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alert } from '../common/index.ts';
import { loadScenario } from '../network/index.ts';
import { LinkTelemetry, scenarioLinkParams } from './link-telemetry.ts';

// The `metro` preset has 4 % afterpulses (docs/physics.md), which spread the counts more than binomially.
const SCENARIO = `name: afterpulsing-pair
title: Afterpulsing pair
description: one metro-preset link, for detector calibration
sources: ['test fixture']
defaults: { model: bb84-decoy-infinite, preset: metro, rate_model: asymptotic }
nodes:
  - { id: a, name: A, lat: 46.2, lon: 6.1 }
  - { id: b, name: B, lat: 46.3, lon: 6.2 }
links:
  - { id: a-b, from: a, to: b, length_km: 20 }
apps: []
`;

function withScenario<T>(fn: (path: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-lt-'));
  const path = join(dir, 'pair.yaml');
  writeFileSync(path, SCENARIO);
  try {
    return fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('on an afterpulsing link the detectors, calibrated from attack-free blocks, stay within their false-alarm budget and still see intercept-resend', () => {
  withScenario((path) => {
    const alerts: Alert[] = [];
    const quarantined: string[] = [];
    const scenario = loadScenario(path);
    const lt = new LinkTelemetry(scenario, scenarioLinkParams(scenario), {
      seed: 11,
      quarantine: (id) => quarantined.push(id),
      onAlert: (a) => alerts.push(a),
    });
    try {
      const blocks = 300;
      let blocksWithAlarm = 0;
      for (let i = 0; i < blocks; i++) {
        const before = alerts.length;
        lt.step('a-b', i * 1e9);
        if (alerts.length > before) blocksWithAlarm++;
      }
      // Budget 1e-3 per block (src/detect default) → 0.3 expected alarms in 300 blocks; P(≥ 4) ≈ 3e-4
      // under Poisson(0.3). The analytic model alone, without the dispersion of afterpulses, alarms on a
      // large share of these blocks.
      assert.ok(blocksWithAlarm <= 3, `${blocksWithAlarm} of ${blocks} attack-free blocks raised alarms`);
      lt.setAttack('a-b', 'intercept-resend');
      let detected = false;
      for (let i = 0; i < 3 && !detected; i++) {
        const before = alerts.length;
        lt.step('a-b', (blocks + i) * 1e9);
        detected = alerts.length > before;
      }
      assert.ok(detected, 'intercept-resend not detected within 3 blocks');
    } finally {
      lt.close();
    }
  });
});
