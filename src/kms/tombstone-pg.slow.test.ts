/**
 * Erase-before-arrival and orphan reclaim on the PostgreSQL store (real PostgreSQL in a throwaway
 * cluster; fails, never skips, without its binaries): the suite of ./tombstone.fixture.ts, which
 * ./tombstone.test.ts runs on SQLite. Each store name is a database of the cluster; reopening it is a
 * restart (or another replica) of KME B.
 */
import { after, before } from 'node:test';
import { startTestPg, type TestPg } from './kme-pair.fixture.ts';
import { Keyring } from './store-crypto.ts';
import { PgKeyStore } from './store-pg.ts';
import { tombstoneSuite } from './tombstone.fixture.ts';

let pgdb: TestPg;
const ring = Keyring.generate();

before(async () => {
  pgdb = await startTestPg();
});
after(async () => {
  ring.destroy();
  await pgdb?.cleanup();
});

tombstoneSuite('PostgreSQL', async (name) => {
  // the store destroys its copy of the keyring at close
  const store = await PgKeyStore.open({
    url: await pgdb.database(name),
    keyring: ring.only(ring.versions()),
  });
  return {
    backend: store,
    tombstoneIds: () => store.tombstoneIds(),
    chunkIds: () => store.chunkIds(),
    keyIds: () => store.keyIds(),
    close: async () => void (await store.close()),
  };
});
