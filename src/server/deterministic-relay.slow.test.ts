// `qkdnet up --deterministic-keys` with applications that need a relay: relay hops never use test keys
// as one-time pads, so those applications get no key over test-key links — and the operator is told so
// explicitly: one warning alert (and one stderr line) at start naming the applications, and the refusal
// reason in each relayed session's last error instead of a bare "no-link-key".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLiveNetwork } from './compose.ts';
import { RELAY_TEST_KEYS_ERROR } from './kme-sessions.ts';

test('up --deterministic-keys: relayed applications get an explicit alert and a named refusal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-det-relay-'));
  const net = await startLiveNetwork({
    scenarioPath: 'scenarios/metro-demo.yaml',
    dataDir: dir,
    speed: 50,
    seed: 7,
    keys: 'deterministic',
  });
  try {
    const alert = net.live.state().alerts.find((a) => a.kind === 'relay-refuses-test-keys');
    assert.ok(alert, 'no alert about relayed applications');
    assert.match(alert.message, /bank/);
    const bank = () => net.live.state().apps.find((a) => a.id === 'bank')!;
    const deadline = Date.now() + 240_000;
    while (bank().kme?.lastError !== RELAY_TEST_KEYS_ERROR) {
      if (Date.now() > deadline) assert.fail(`bank's session: ${JSON.stringify(bank().kme)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(bank().kme!.delivered, 0);
  } finally {
    await net.live.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
