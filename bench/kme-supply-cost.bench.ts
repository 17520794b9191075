/**
 * `npm run bench -- kme-supply-cost [chunks]`: where the supply worker's time per 32-byte chunk goes
 * (10 Mbit/s of supply is 39,063 chunks/s: ≤ 25.6 µs per chunk, everything included).
 *
 * In this process, on fresh SQLite stores in a temporary directory (WAL, synchronous NORMAL, no fsync
 * timed — the pump syncs off the transaction), `chunks` chunks (default 400,000) each:
 *  - cut: chunk IDs (block-ordered UUIDv8) and material copies (./src/kms/supply.ts `chunkCutter`);
 *  - seal: `Keyring.seal` alone on one 32-byte chunk (AES-256-GCM, a key per row: the per-chunk cost before
 *    runs);
 *  - store: `KeyStore.storeItemSlice` as the supply pump calls it (slices of 64 chunks, 256-chunk
 *    transactions, role `supply`; a chunk row each, their bytes in runs of 32 sealed as one value,
 *    ./src/kms/store-runs.ts), with a store key and without, per quarter of the run (the store grows);
 *  - sql: one INSERT per chunk on the store's own schema (`SCHEMA_SQL`, 64 MiB page cache as the supply
 *    role sets) with 256 / 8,000 chunks per transaction, sorted by ID or not, and without the UNIQUE index
 *    on the chunk ID (not a schema the store may use: it shows what that index costs); IDs either one
 *    hash per chunk (the version-5 IDs chunks had before) or block-ordered (`chunkIds`, what `store` uses
 *    now: a hash per 256-chunk block, then the index).
 * Figures are wall µs per chunk; CPU time of the whole run beside. Results: bench/results/kme-supply-cost.json.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { KeyStore } from '../src/kms/store.ts';
import { Keyring } from '../src/kms/store-crypto.ts';
import { SCHEMA_SQL } from '../src/kms/store-sql.ts';
import { chunkCutter, chunkIds } from '../src/kms/supply.ts';
import { benchContext, writeBenchResult } from './meta.ts';

const arg = process.argv[2];
const N = arg === undefined ? 400_000 : Number(arg);
if (!Number.isInteger(N) || N < 4096) {
  console.error('kme-supply-cost: chunks must be an integer ≥ 4096');
  process.exit(2);
}
const round = (x: number) => Math.round(x * 10) / 10;
const perChunk = (ms: number, n: number) => round((ms * 1000) / n);
const loadBefore = loadavg();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const dir = mkdtempSync(join(tmpdir(), 'qkdnet-supply-cost-'));
const BLOCK = 8192; // bytes: one 64-Kibit block, 256 chunks

/** A link block as the device file carries it. */
const block = (i: number) => {
  const key = randomBytes(BLOCK);
  return { linkId: 'L', blockId: `b${i}`, key, bits: BLOCK * 8, estimates: {} };
};

// cut
let t = performance.now();
for (let i = 0, n = 0; n < N; i++) n += chunkCutter('A', 'B', block(i) as never).slice(0, 256).length;
const cutUs = perChunk(performance.now() - t, N);

// seal
const ring = new Keyring(new Map([[1, randomBytes(32)]]));
const plain = randomBytes(32);
t = performance.now();
for (let i = 0; i < N; i++) ring.seal(plain, `chunks:${i}:B:1`);
const sealUs = perChunk(performance.now() - t, N);

// store, as the pump does
function store(sealed: boolean): number[] {
  const s = KeyStore.open({
    path: join(dir, `store-${sealed}.db`),
    role: 'supply',
    keyring: sealed ? ring : null,
    maxChunksPerPeer: 1e9,
  } as never);
  const quarters: number[] = [];
  let n = 0;
  let ms = 0;
  let qn = 0;
  for (let i = 0; n < N; i++) {
    const c = chunkCutter('A', 'B', block(i) as never);
    const ch = c.slice(0, c.total);
    const a = performance.now();
    s.transaction(() => {
      s.beginItem('B', c.blockId);
      for (let f = 0; f < ch.length; f += 64)
        s.storeItemSlice('B', c.blockId, ch.slice(f, f + 64), Math.min(f + 64, ch.length), ch.length);
    });
    ms += performance.now() - a;
    n += ch.length;
    qn += ch.length;
    if (qn >= N / 4 || n >= N) {
      quarters.push(perChunk(ms, qn));
      ms = 0;
      qn = 0;
    }
  }
  s.close();
  return quarters;
}
const storeSealed = store(true);
const storeUnsealed = store(false);

// sql
const mat = randomBytes(32 + 41);
const uuid = (i: number) => {
  const h = createHash('sha1').update(`x:${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
const hashIds = Array.from({ length: N }, (_, i) => uuid(i));
const blockIds: string[] = [];
for (let b = 0; blockIds.length < N; b++) {
  const id = chunkIds(`x:${b}`);
  for (let i = 0; i < 256 && blockIds.length < N; i++) blockIds.push(id(i));
}
function sql(name: string, perTx: number, sorted: boolean, unique: boolean, blockOrdered = false) {
  const ids = blockOrdered ? blockIds : hashIds;
  const db = new Database(join(dir, `${name}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('secure_delete = ON');
  db.exec(unique ? SCHEMA_SQL : SCHEMA_SQL.replace('id TEXT NOT NULL UNIQUE', 'id TEXT NOT NULL'));
  db.pragma('cache_size = -65536');
  db.pragma('wal_autocheckpoint = 16384');
  const st = db.prepare(
    'INSERT OR IGNORE INTO chunks (id, peer, mine, material, prov_rank, path, exposed, block_id) VALUES (?,?,?,?,?,?,?,?)',
  );
  const a = performance.now();
  for (let f = 0; f < N; f += perTx) {
    const idx = Array.from({ length: Math.min(perTx, N - f) }, (_, k) => f + k);
    if (sorted) idx.sort((x, y) => (ids[x]! < ids[y]! ? -1 : 1));
    db.transaction(() => {
      for (const i of idx) st.run(ids[i], 'B', i & 1, mat, 0, '["A","B"]', '["A","B"]', `b${i >> 8}`);
    }).immediate();
  }
  const us = perChunk(performance.now() - a, N);
  db.close();
  return {
    variant: name,
    chunks_per_transaction: perTx,
    sorted_by_id: sorted,
    unique_id_index: unique,
    ids: blockOrdered ? 'block-ordered' : 'hash per chunk',
    us_per_chunk: us,
  };
}
const sqlRows = [
  sql('tx256', 256, false, true),
  sql('tx256-sorted', 256, true, true),
  sql('tx8000-sorted', 8000, true, true),
  sql('tx256-no-unique', 256, false, false),
  sql('tx256-block-ids', 256, false, true, true),
];
rmSync(dir, { recursive: true, force: true });
const cpu = process.cpuUsage(cpu0);
const result = {
  benchmark: 'kme-supply-cost',
  what: 'wall µs per 32-byte supply chunk: cutting, sealing, KeyStore.storeItemSlice as the supply pump calls it, and plain INSERTs on the store schema (no fsync timed)',
  chunks: N,
  budget_us_per_chunk_at_10_mbit_s: 25.6,
  cut_us: cutUs,
  seal_us: sealUs,
  store_sealed_us_by_quarter: storeSealed,
  store_unsealed_us_by_quarter: storeUnsealed,
  sql: sqlRows,
  wall_s: round((performance.now() - t0) / 1000),
  cpu_s: round((cpu.user + cpu.system) / 1e6),
  loadavg_before: loadBefore,
  ...benchContext(),
};
console.log(JSON.stringify(result, null, 2));
writeBenchResult('kme-supply-cost', result);
