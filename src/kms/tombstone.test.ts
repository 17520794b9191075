// Erase-before-arrival and orphan reclaim on the SQLite store (a file in a temp directory, reopened for
// the durability checks, behind the group-committed interface the KME core uses): the suite of
// ./tombstone.fixture.ts, which ./tombstone-pg.slow.test.ts runs on PostgreSQL.
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyStore } from './store.ts';
import { SqliteBackend } from './store-backend.ts';
import { tombstoneSuite } from './tombstone.fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'qkdnet-tomb-'));
after(() => rmSync(dir, { recursive: true, force: true }));

tombstoneSuite('SQLite', async (name) => {
  const store = KeyStore.open({ path: join(dir, `${name}.db`) });
  const backend = new SqliteBackend(store);
  return {
    backend,
    tombstoneIds: async () => store.tombstoneIds(),
    chunkIds: async () => store.chunkIds(),
    keyIds: async () => store.keyIds(),
    close: async () => void (await backend.close(Date.now())),
  };
});
