/**
 * KME replicas on real PostgreSQL, each KME a separate `qkdnet kme serve` process: KME A as two replicas
 * (A1, A2) sharing one database, KME B on its own. Concurrent enc_keys at both replicas of A and dec_keys
 * at B, then
 *  - replica crash: A1 is killed with SIGKILL mid-load; the SAE clients (given both URLs) continue
 *    through A2;
 *  - database crash: `pg_ctl stop -m immediate` under load; every failed answer is a 503 in the spec's
 *    Error shape (never another 5xx, never a stack, never a wrong key); when the database is back the
 *    KMEs recover by themselves.
 * Afterwards in both: no key_ID delivered twice per role (clients and the delivery logs), master and
 * slave bytes equal for every delivered key, and every byte of A's pool accounted for: delivered to a
 * master, discarded by the lease rule, or still stored.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Etsi014Client } from './client.ts';
import { requestJson } from './https-json.ts';
import { freePort } from './pg-cluster.ts';
import { Keyring } from './store-crypto.ts';
import {
  agentsFor,
  makeTestPki,
  startTestPg,
  testBlock,
  type TestPg,
  type TestPki,
} from './kme-pair.fixture.ts';

const BLOCKS = 24;
const BLOCK_BYTES = 4096;
let pki: TestPki;
let db: TestPg;
let dir: string;
let agents: ReturnType<typeof agentsFor>;
const procs = new Set<ChildProcess>();

before(async () => {
  pki = await makeTestPki();
  agents = agentsFor(pki);
  db = await startTestPg();
  dir = mkdtempSync(join(tmpdir(), 'qkdnet-replicas-'));
  const lines: string[] = [];
  for (let i = 0; i < BLOCKS; i++) {
    const b = testBlock(23, `rep-${i}`, BLOCK_BYTES);
    lines.push(JSON.stringify({ block_id: b.blockId, key_hex: Buffer.from(b.key).toString('hex') }));
  }
  writeFileSync(join(dir, 'keys.jsonl'), `${lines.join('\n')}\n`);
});

after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  agents.destroy();
  await db.cleanup();
  rmSync(dir, { recursive: true, force: true });
  pki.cleanup();
});

/** Starts `qkdnet kme serve --config file`; resolves once it listens. */
async function serve(config: string): Promise<ChildProcess> {
  const p = spawn(process.execPath, ['bin/qkdnet.js', 'kme', 'serve', '--config', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  procs.add(p);
  let err = '';
  p.on('exit', (code) => {
    procs.delete(p);
    // A KME that ends by itself (not by the test's signal) shows why.
    if (code !== null && code !== 0) console.log(`${config} exited ${code}:\n${err.slice(-2000)}`);
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${config} did not start: ${err}`)), 120_000);
    p.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/serving ETSI GS QKD 014/.test(err)) (clearTimeout(t), resolve());
    });
    p.on('exit', (code) => (clearTimeout(t), reject(new Error(`${config} exited ${code}: ${err}`))));
  });
  return p;
}

function stop(p: ChildProcess, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    p.once('exit', () => r());
    p.kill(sig);
  });
}

interface Net {
  readonly a1: ChildProcess;
  readonly a2: ChildProcess;
  readonly b: ChildProcess;
  readonly urlA: readonly [string, string];
  readonly urlB: string;
  readonly dbA: string;
  readonly dbB: string;
}

/** KME A as two replicas on database `<prefix>_a`, KME B on `<prefix>_b`, all fed the same device file. */
async function startNet(prefix: string): Promise<Net> {
  const [dbA, dbB] = [await db.database(`${prefix}_a`), await db.database(`${prefix}_b`)];
  const [p1, p2, pb] = [await freePort(), await freePort(), await freePort()];
  const url = (p: number) => `https://127.0.0.1:${p}`;
  for (const k of ['a', 'b'])
    writeFileSync(join(dir, `${prefix}-${k}.key`), Keyring.generate().format(), { mode: 0o600 });
  const yaml = (name: string, id: string, port: number, store: string, rest: string[]) => {
    const t = pki.tls(id);
    const path = join(dir, `${prefix}-${name}.yaml`);
    writeFileSync(
      path,
      [
        `id: ${id}`,
        `port: ${port}`,
        `tls: { cert: ${t.cert}, key: ${t.key}, ca: ${t.ca} }`,
        `store: "${store}"`,
        `storeKey: { file: ${prefix}-${id.slice(-1)}.key }`,
        'supply: [{ peer: ' + (id === 'kme-a' ? 'kme-b' : 'kme-a') + ', file: keys.jsonl }]',
        'logLevel: warn',
        ...rest,
        '',
      ].join('\n'),
    );
    return path;
  };
  const aRest = [
    'saes: [{ id: sae-a }, { id: sae-c }]',
    `peers: [{ id: kme-b, url: "${url(pb)}", saes: [sae-b] }]`,
  ];
  const [a1, a2, b] = await Promise.all([
    serve(yaml('a1', 'kme-a', p1, dbA, aRest)),
    serve(yaml('a2', 'kme-a', p2, dbA, aRest)),
    serve(
      yaml('b', 'kme-b', pb, dbB, [
        'saes: [{ id: sae-b }]',
        `peers: [{ id: kme-a, url: "${url(p1)}", urls: ["${url(p2)}"], saes: [sae-a, sae-c] }]`,
      ]),
    ),
  ]);
  return { a1, a2, b, urlA: [url(p1), url(p2)], urlB: url(pb), dbA, dbB };
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

/** Waits until `cond` holds (polled), failing after `ms`. */
async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** What the SAEs saw: master and slave keys by key_ID (base64), and every failure. */
class Ledger {
  readonly master = new Map<string, string>();
  readonly slave = new Map<string, string>();
  readonly queue: string[] = [];
  readonly failures: string[] = [];
  gotMaster(id: string, key: string): void {
    assert.ok(!this.master.has(id), `key ${id} delivered twice to the master`);
    this.master.set(id, key);
    this.queue.push(id);
  }
  gotSlave(id: string, key: string): void {
    assert.ok(!this.slave.has(id), `key ${id} delivered twice to the slave`);
    this.slave.set(id, key);
  }
}

/** Runs master workers `masters` and two slave workers until `stop()` says so; then drains the slaves. */
async function load(
  ledger: Ledger,
  masters: (() => Promise<{ keyId: string; key: string }[]>)[],
  slaveFetch: (ids: string[]) => Promise<{ keyId: string; key: string }[]>,
  stop: () => boolean,
): Promise<void> {
  let done = false;
  const masterLoop = async (m: () => Promise<{ keyId: string; key: string }[]>) => {
    while (!stop()) {
      try {
        for (const k of await m()) ledger.gotMaster(k.keyId, k.key);
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        ledger.failures.push(`master: ${(e as Error).message}`);
        await sleep(20);
      }
    }
  };
  const slaveLoop = async () => {
    while (!done || ledger.queue.length > 0) {
      const ids = ledger.queue.splice(0, 4);
      if (ids.length === 0) {
        await sleep(10);
        continue;
      }
      try {
        for (const k of await slaveFetch(ids)) ledger.gotSlave(k.keyId, k.key);
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        ledger.failures.push(`slave: ${(e as Error).message}`);
        ledger.queue.push(...ids); // asked again: the KME enforces once-only, a retry cannot duplicate
        await sleep(50);
      }
    }
  };
  const slaves = [slaveLoop(), slaveLoop()];
  await Promise.all(masters.map(masterLoop));
  done = true;
  await Promise.race([
    Promise.all(slaves),
    sleep(90_000).then(() =>
      assert.fail(
        `slaves did not drain: ${ledger.queue.length} key_IDs still queued; last failures: ` +
          ledger.failures
            .filter((f) => f.startsWith('slave'))
            .slice(-5)
            .join(' | '),
      ),
    ),
  ]);
}

/** The invariants shared by both crash tests (every process of the net stopped first). */
async function checkInvariants(net: Net, ledger: Ledger, mineBytesAtStart: number): Promise<void> {
  assert.ok(ledger.master.size > 0);
  for (const [id, key] of ledger.master) assert.equal(ledger.slave.get(id), key, `slave bytes of ${id}`);
  assert.equal(ledger.slave.size, ledger.master.size);
  for (const [url, role] of [
    [net.dbA, 'master'],
    [net.dbB, 'slave'],
  ] as const) {
    const twice = await query(
      url,
      `SELECT key_id FROM deliveries WHERE role = '${role}' GROUP BY key_id HAVING count(*) > 1`,
    );
    assert.deepEqual(twice, [], `key_IDs delivered twice to the ${role} role`);
  }
  const logged = new Set(
    (await query<{ key_id: string }>(net.dbA, "SELECT key_id FROM deliveries WHERE role = 'master'")).map(
      (r) => r.key_id,
    ),
  );
  for (const id of ledger.master.keys())
    assert.ok(logged.has(id), `${id} reached the master but is not logged`);
  // Every byte of A's own pool: delivered to a master, discarded by the lease rule, or still stored.
  // Leases still recorded are never served: by the lease rule they are discarded at the next start (a
  // stop that could not reach the database leaves them), so they count with the discarded keys.
  const [n] = await query<{ delivered: string; discarded: string; leased: string; left: string }>(
    net.dbA,
    `SELECT (SELECT count(*) FROM deliveries WHERE role = 'master') AS delivered,
            (SELECT count(*) FROM discarded) AS discarded,
            (SELECT count(*) FROM leased) AS leased,
            (SELECT mine_bytes FROM pools WHERE peer = 'kme-b') AS left`,
  );
  const gone = Number(n!.delivered) + Number(n!.discarded) + Number(n!.leased);
  assert.equal(32 * gone + Number(n!.left), mineBytesAtStart);
}

async function poolOf(url: string): Promise<number> {
  const r = await query<{ mine_bytes: string }>(url, "SELECT mine_bytes FROM pools WHERE peer = 'kme-b'");
  return Number(r[0]?.mine_bytes ?? 0);
}

const client = (sae: string, urls: readonly string[]) =>
  Etsi014Client.fromFiles(urls, pki.tls(sae), { kmeId: sae === 'sae-b' ? 'kme-b' : 'kme-a' });
const b64 = (k: { keyId: string; key: Uint8Array }) => ({
  keyId: k.keyId,
  key: Buffer.from(k.key).toString('base64'),
});

test('replica crash: SIGKILL of one replica of KME A mid-load; clients continue through the other', async () => {
  const net = await startNet('crash');
  const full = (BLOCKS * BLOCK_BYTES) / 2;
  await until(
    'supply stored',
    async () => (await poolOf(net.dbA)) === full && (await query(net.dbB, 'SELECT 1 FROM pools')).length > 0,
  );
  const ledger = new Ledger();
  const masters = [
    client('sae-a', net.urlA),
    client('sae-a', [net.urlA[1], net.urlA[0]]),
    client('sae-a', net.urlA),
    client('sae-a', [net.urlA[1], net.urlA[0]]),
  ];
  const slave = client('sae-b', [net.urlB]);
  let killedAt = -1;
  const target = 260;
  const watcher = (async () => {
    await until('load before the kill', () => ledger.master.size >= 80, 120_000);
    killedAt = ledger.master.size;
    net.a1.kill('SIGKILL');
  })();
  try {
    await load(
      ledger,
      masters.map((m) => async () => (await m.getKeys('sae-b', { number: 2 })).map(b64)),
      async (ids) => (await slave.getKeysWithIds('sae-a', ids)).map(b64),
      () => killedAt >= 0 && ledger.master.size >= killedAt + target - 80,
    );
    await watcher;
    console.log(
      `replica crash: ${ledger.master.size} keys, killed at ${killedAt}, ${ledger.failures.length} failures: ${ledger.failures.slice(0, 3).join(' | ')}`,
    );
    assert.ok(ledger.master.size >= target, `${ledger.master.size} keys`);
    // After the kill every master got its keys from A2.
    for (const m of masters) assert.equal(m.currentUrl, net.urlA[1]);
    // A2 discards the leases of A1 once A1's heartbeat is stale (the lease rule for replicas).
    await until(
      "A1's leases discarded by A2",
      async () =>
        (
          await query(
            net.dbA,
            `SELECT 1 FROM leased l WHERE NOT EXISTS (SELECT 1 FROM replicas r WHERE r.id = l.replica
             AND r.seen_ms > (extract(epoch from clock_timestamp()) * 1000)::bigint - 3000)`,
          )
        ).length === 0,
      60_000,
    );
    await Promise.all([stop(net.a2), stop(net.b)]);
    await checkInvariants(net, ledger, full);
  } finally {
    for (const c of [...masters, slave]) c.close();
    await Promise.all([stop(net.a2), stop(net.b), stop(net.a1, 'SIGKILL')]);
  }
});

test('database crash: pg_ctl stop -m immediate under load → 503 in the Error shape; the KMEs recover by themselves', async () => {
  const net = await startNet('dbcrash');
  const full = (BLOCKS * BLOCK_BYTES) / 2;
  await until(
    'supply stored',
    async () => (await poolOf(net.dbA)) === full && (await query(net.dbB, 'SELECT 1 FROM pools')).length > 0,
  );
  const ledger = new Ledger();
  const answers = new Map<number, number>();
  const bad: string[] = [];
  /** One raw request; a non-200 must be a 503 whose body is exactly the spec's Error object. */
  const raw = async (sae: string, url: string, body: unknown) => {
    const r = await requestJson(agents.agent(sae), url, 'POST', body);
    answers.set(r.status, (answers.get(r.status) ?? 0) + 1);
    if (r.status !== 200) {
      const b = r.body as Record<string, unknown> | undefined;
      const shape =
        b && typeof b.message === 'string' && Object.keys(b).every((k) => k === 'message' || k === 'details');
      if (r.status !== 503 || !shape || /\.ts:\d+|\n\s+at /.test(JSON.stringify(b)))
        bad.push(`${r.status} ${JSON.stringify(b)}`);
      // Status and the spec's message only (an Error object never carries key material).
      throw new Error(`${r.status} ${String((r.body as { message?: unknown } | undefined)?.message ?? '')}`);
    }
    return (r.body as { keys: { key_ID: string; key: string }[] }).keys.map((k) => ({
      keyId: k.key_ID,
      key: k.key,
    }));
  };
  let phase: 'before' | 'down' | 'back' = 'before';
  let atReturn = 0;
  const chaos = (async () => {
    await until('load before the crash', () => ledger.master.size >= 60, 120_000);
    await db.cluster.stop('immediate');
    phase = 'down';
    const failedBefore = answers.get(503) ?? 0;
    await until(
      '503 answers while the database is down',
      () => (answers.get(503) ?? 0) >= failedBefore + 10,
      30_000,
    );
    await db.cluster.start(db.cluster.port);
    phase = 'back';
    atReturn = ledger.master.size;
  })();
  try {
    await load(
      ledger,
      [0, 1, 0, 1].map((i) => () => raw('sae-a', `${net.urlA[i]}/api/v1/keys/sae-b/enc_keys`, { number: 2 })),
      (ids) =>
        raw('sae-b', `${net.urlB}/api/v1/keys/sae-a/dec_keys`, {
          key_IDs: ids.map((key_ID) => ({ key_ID })),
        }),
      () => phase === 'back' && ledger.master.size >= atReturn + 100,
    );
    await chaos;
    // HTTP status counts only (never a key): [[status, count], …].
    console.log(`db crash: ${ledger.master.size} keys, HTTP statuses ${JSON.stringify([...answers])}`);
    assert.deepEqual(bad, [], 'every failure is a 503 in the Error shape');
    assert.ok((answers.get(503) ?? 0) > 0);
    assert.deepEqual([...answers.keys()].sort(), [200, 503]);
    await Promise.all([stop(net.a1), stop(net.a2), stop(net.b)]);
    await checkInvariants(net, ledger, full);
  } finally {
    await Promise.all([stop(net.a1), stop(net.a2), stop(net.b)]);
  }
});
