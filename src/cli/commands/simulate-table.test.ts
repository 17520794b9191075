import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from '../../network/index.ts';
import { mostCentralNode } from './simulate-table.ts';

// The table itself (100 seeds × every shipped scenario on worker threads) is regenerated and diffed by CI
// (.ci/run); here the choice of the compromised node, which the table's rows depend on.
test('the most central node relays the most applications: SECOQC BREI (St. Pölten and the video), metro hq', () => {
  assert.equal(mostCentralNode(loadScenario('scenarios/secoqc-vienna-2008.yaml')), 'BREI');
  assert.equal(mostCentralNode(loadScenario('scenarios/metro-demo.yaml')), 'hq');
  // A chain: every relay between Beijing and Jinan carries two apps (bank, grid); ties go to the id.
  assert.equal(mostCentralNode(loadScenario('scenarios/beijing-shanghai-backbone.yaml')), 'R01');
});
