/**
 * `qkdnet kme demo` keys nobody can recompute: two fresh demos with identical arguments (same seed) hand
 * out different first keys, and a demo restarted on the same directory never re-issues a chunk — checked
 * over the stores themselves, by draining every key both KMEs hold through ETSI GS QKD 014. Real KMEs
 * (mutual TLS, SQLite), the real link worker (10⁹-pulse blocks of the GYS link at 10 km).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isQkdnetError } from '../common/index.ts';
import { Etsi014Client, runKmeDemo, type KmeDemo } from '../kms/index.ts';
import { startDemoLink } from './commands/kme.ts';

const SEED = 'same-arguments';

/** Two consecutive free ports on 127.0.0.1 (the demo listens on P and P + 1). */
async function freePair(): Promise<number> {
  const listen = (port: number) =>
    new Promise<import('node:net').Server | null>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(null));
      s.listen(port, '127.0.0.1', () => resolve(s));
    });
  for (let i = 0; i < 50; i++) {
    const first = await listen(0);
    const p = (first!.address() as { port: number }).port;
    const second = p < 65535 ? await listen(p + 1) : null;
    await new Promise((r) => first!.close(r));
    if (second) {
      await new Promise((r) => second.close(r));
      return p;
    }
  }
  throw new Error('no two consecutive free ports');
}

/** Starts the demo in `dir` with its simulated link, waits for the first block, returns it running. */
async function startDemo(
  dir: string,
  keys: 'secret' | 'deterministic' = 'secret',
): Promise<{ demo: KmeDemo; close: () => Promise<void> }> {
  const demo = await runKmeDemo({
    dir,
    port: await freePair(),
    blockSource: null,
    logLevel: 'silent',
    testSaes: keys === 'deterministic',
  });
  const supply = await startDemoLink(demo.a, demo.b, {
    seed: SEED,
    keys,
    authPoolDir: join(dir, 'auth-pools'),
  });
  return {
    demo,
    close: async () => {
      await supply.close();
      await demo.close();
    },
  };
}

const client = (dir: string, url: string, sae: string) =>
  Etsi014Client.fromFiles(url, {
    cert: join(dir, `${sae}.pem`),
    key: join(dir, `${sae}.key`),
    ca: join(dir, 'ca.pem'),
  });

async function firstKey(dir: string, demo: KmeDemo): Promise<string> {
  return (await firstKeyWithProvenance(dir, demo)).key;
}

async function firstKeyWithProvenance(
  dir: string,
  demo: KmeDemo,
): Promise<{ key: string; provenance: string }> {
  const c = client(dir, demo.a.url, 'sae-a');
  try {
    const [k] = await c.getKeys('sae-b');
    return { key: Buffer.from(k!.key).toString('hex'), provenance: k!.provenance ?? '' };
  } finally {
    c.close();
  }
}

/** Every 256-bit key both KMEs can still hand out (A's chunks to sae-a, B's to sae-b), as hex. */
async function drain(dir: string, demo: KmeDemo): Promise<string[]> {
  const out: string[] = [];
  for (const [url, master, slave] of [
    [demo.a.url, 'sae-a', 'sae-b'],
    [demo.b.url, 'sae-b', 'sae-a'],
  ] as const) {
    const c = client(dir, url, master);
    try {
      for (;;) {
        try {
          for (const k of await c.getKeys(slave, { number: 100 }))
            out.push(Buffer.from(k.key).toString('hex'));
        } catch (e) {
          if (isQkdnetError(e, 'KMS_KEY_EXHAUSTED')) break; // fewer than 100 left: one by one below
          throw e;
        }
      }
      for (;;) {
        try {
          const [k] = await c.getKeys(slave);
          out.push(Buffer.from(k!.key).toString('hex'));
        } catch (e) {
          if (isQkdnetError(e, 'KMS_KEY_EXHAUSTED')) break;
          throw e;
        }
      }
    } finally {
      c.close();
    }
  }
  return out;
}

test('two fresh demos with the same arguments differ; a restart on the same directory never re-issues a chunk', async () => {
  const dirX = mkdtempSync(join(tmpdir(), 'qkdnet-demo-x-'));
  const dirY = mkdtempSync(join(tmpdir(), 'qkdnet-demo-y-'));
  try {
    let run = await startDemo(dirX);
    const k1 = await firstKey(dirX, run.demo);
    await run.close();
    run = await startDemo(dirY);
    const k2 = await firstKey(dirY, run.demo);
    await run.close();
    assert.notEqual(k1, k2, 'identical arguments, different first keys');
    // Restart on X: the store keeps the first run's chunks; the link adds a new block.
    run = await startDemo(dirX);
    const keys = [k1, ...(await drain(dirX, run.demo))];
    await run.close();
    assert.ok(keys.length > 1000, `${keys.length} keys over two runs`);
    assert.equal(new Set(keys).size, keys.length, 'no 256-bit key issued twice across the restart');
    // The link's authentication pool persisted between the runs, private.
    assert.equal(statSync(join(dirX, 'auth-pools')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dirX, 'auth-pools', 'link-a-b.pool')).mode & 0o777, 0o600);
  } finally {
    rmSync(dirX, { recursive: true, force: true });
    rmSync(dirY, { recursive: true, force: true });
  }
});

test('--deterministic-keys: two fresh demos with the same seed hand out the same first key, labelled', async () => {
  const dirs = [0, 1].map((i) => mkdtempSync(join(tmpdir(), `qkdnet-demo-det${i}-`)));
  try {
    const got: { key: string; provenance: string }[] = [];
    for (const dir of dirs) {
      const run = await startDemo(dir, 'deterministic');
      got.push(await firstKeyWithProvenance(dir, run.demo));
      await run.close();
    }
    assert.equal(got[0]!.key, got[1]!.key);
    for (const g of got) assert.equal(g.provenance, 'simulated-deterministic');
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
