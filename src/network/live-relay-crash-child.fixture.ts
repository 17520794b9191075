/**
 * Test fixture (run as its own process by live-relay-durability.slow.test.ts, never by production code):
 * one KME `kme-a` whose only peer `kme-b` is the test's socket, a 4096-byte block supplied for that link,
 * then one live relay A→B. After every WAL sync the store's WAL size is appended to `<dir>/synced.log`
 * — what a power loss would keep. The test kills this process with SIGKILL when the relay's first
 * connection to B opens, i.e. after the hop's link key was consumed and before any ciphertext left.
 * Usage: node --import tsx live-relay-crash-child.fixture.ts <dir> <peer port>
 */
import { appendFileSync, fstatSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { startKme } from '../kms/index.ts';
import { fixtureBlock } from './live-relay.fixture.ts';
import { attachLiveRelay } from './live-relay.ts';

const [dir, peerPort] = process.argv.slice(2) as [string, string];
const kme = await startKme({
  id: 'kme-a',
  tls: { cert: join(dir, 'kme-a.pem'), key: join(dir, 'kme-a.key'), ca: join(dir, 'ca.pem') },
  store: join(dir, 'kme-a.db'),
  saes: [{ id: 'sae-a' }],
  peers: [{ id: 'kme-b', url: `https://127.0.0.1:${peerPort}`, saes: ['sae-b'] }],
  logLevel: 'silent',
});
const wal = openSync(join(dir, 'kme-a.db-wal'), 'r');
const record = () => appendFileSync(join(dir, 'synced.log'), `${fstatSync(wal).size}\n`);
const store = kme.store;
const syncWal = store.syncWal.bind(store);
store.syncWal = async () => {
  await syncWal();
  record();
};
kme.supply('kme-b', fixtureBlock('kme-a~kme-b'));
await kme.settled(); // stored and synced (supply is synced off the event loop)
process.stdout.write(
  `${JSON.stringify({ chunks: store.chunkIds(), mineBytes: store.level('kme-b').mineBytes })}\n`,
);
await attachLiveRelay(kme).relayKey([['kme-a', 'kme-b']]);
process.stdout.write('relay returned\n'); // never reached when the test kills us in time
