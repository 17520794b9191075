/**
 * The PostgreSQL replica examples under deploy/postgres-ha/ (docs/deploy.md) stay valid: each KME config loads with the
 * configuration loader (PKI files made at the paths it names), the replica config names a PostgreSQL
 * store, KME B reaches every replica of KME A, and the Prometheus scrape config targets every KME's port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { isPostgresUrl, loadKmeConfig, type KmeConfig } from './config.ts';
import { makeTestPki } from './kme-pair.fixture.ts';

const DEPLOY = join(import.meta.dirname, '..', '..', 'deploy', 'postgres-ha');

test('deploy/: the KME configs load, A is a PostgreSQL replica, B fails over to both replicas, Prometheus scrapes all', async () => {
  const pki = await makeTestPki();
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-deploy-'));
  try {
    mkdirSync(join(dir, 'pki'));
    for (const f of ['ca.pem', 'kme-a.pem', 'kme-a.key', 'kme-b.pem', 'kme-b.key'])
      copyFileSync(join(pki.dir, f), join(dir, 'pki', f));
    const load = (name: string): KmeConfig => {
      copyFileSync(join(DEPLOY, name), join(dir, name));
      return loadKmeConfig(join(dir, name));
    };
    const a = load('kme-a-replica.yaml');
    const b = load('kme-b.yaml');
    assert.ok(isPostgresUrl(a.store), a.store);
    assert.equal(a.storeKey?.file, join(dir, 'pki', 'store-kme-a.key'));
    assert.ok(!isPostgresUrl(b.store));
    const toA = b.peers!.find((p) => p.id === 'kme-a')!;
    const replicas = [toA.url, ...(toA.urls ?? [])];
    assert.equal(replicas.length, 2);
    const prom = parse(readFileSync(join(DEPLOY, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: { static_configs: { targets: string[]; labels: { kme: string } }[] }[];
    };
    const targets = prom.scrape_configs.flatMap((s) => s.static_configs);
    const of = (kme: string) => targets.filter((t) => t.labels.kme === kme).flatMap((t) => t.targets);
    assert.deepEqual(
      of('kme-a').map((t) => `https://${t}`),
      replicas,
    );
    assert.deepEqual(of('kme-b'), [`kme-b.example:${b.port}`]);
    for (const t of [...of('kme-a'), ...of('kme-b')]) assert.ok(t.endsWith(`:${a.port}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    pki.cleanup();
  }
});
