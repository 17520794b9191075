/**
 * Test fixture (run as its own process by live-relay-orphan.slow.test.ts, never by production code): KME
 * `kme-a`, the source of a live relay to `kme-b` (the test's KME, at <peer url>).
 * Mode `relay`: supplies the link's block, relays one key and, once the destination's confirmation
 * matched — before this KME stores its own copy — prints `confirmed <key id>` and waits to be killed.
 * Mode `restart`: starts on the same store and prints `started` (the start-up reconciliation runs).
 * Usage: node --import tsx live-relay-orphan-child.fixture.ts <dir> <peer url> relay|restart
 */
import { join } from 'node:path';
import { startKme } from '../kms/index.ts';
import { fixtureBlock } from './live-relay.fixture.ts';
import { attachLiveRelay } from './live-relay.ts';

const [dir, peerUrl, mode] = process.argv.slice(2) as [string, string, string];
const kme = await startKme({
  id: 'kme-a',
  tls: { cert: join(dir, 'kme-a.pem'), key: join(dir, 'kme-a.key'), ca: join(dir, 'ca.pem') },
  store: join(dir, 'kme-a.db'),
  saes: [{ id: 'sae-a' }],
  peers: [{ id: 'kme-b', url: peerUrl, saes: ['sae-b'] }],
  logLevel: 'silent',
});
if (mode === 'restart') {
  process.stdout.write('started\n');
} else {
  kme.supply('kme-b', fixtureBlock('kme-a~kme-b'));
  await kme.settled();
  const relay = attachLiveRelay(kme, {
    onConfirmed: async (keyId) => {
      process.stdout.write(`confirmed ${keyId}\n`);
      await new Promise(() => undefined); // killed here
    },
  });
  await relay.relayKey([['kme-a', 'kme-b']]);
  process.stdout.write('relay returned\n'); // never reached when the test kills us in time
}
