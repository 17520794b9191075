/**
 * The command-line side of key material at rest: `--strict-permissions` on `kme serve`, `kme demo` and
 * `up` refuses a data directory open to other users (exit 2, one line, nothing created); a KME whose store
 * key file holds the wrong key exits 2 in one line; `kme rekey-store` checks its arguments.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring, KeyStore } from '../../kms/index.ts';
import { makeTestPki, type TestPki } from '../../kms/kme-pair.fixture.ts';
import { freePortPair } from '../ports.fixture.ts';
import { runCliInProcess } from '../run-in-process.ts';

let pki: TestPki;
let root: string;
before(async () => {
  pki = await makeTestPki();
  root = mkdtempSync(join(tmpdir(), 'qkdnet-cli-at-rest-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
  pki.cleanup();
});

const openDir = (name: string) => {
  const d = join(root, name);
  mkdirSync(d);
  chmodSync(d, 0o755);
  return d;
};
const oneLine = (err: string, re: RegExp) => {
  const lines = err.trim().split('\n');
  assert.equal(lines.length, 1, err);
  assert.match(lines[0]!, re);
};

function config(dir: string, extra: string[] = []): string {
  const t = pki.tls('kme-a');
  const path = join(dir, 'kme.yaml');
  writeFileSync(
    path,
    [
      'id: kme-a',
      'port: 0',
      `tls: { cert: ${t.cert}, key: ${t.key}, ca: ${t.ca} }`,
      'store: kme-a.db',
      'saes: [{ id: sae-a }]',
      ...extra,
      '',
    ].join('\n'),
  );
  return path;
}

test('--strict-permissions refuses an open data dir on kme serve, kme demo and up (exit 2, nothing created)', async () => {
  const serveDir = openDir('serve');
  const cfg = config(serveDir);
  let r = await runCliInProcess(['kme', 'serve', '--config', cfg, '--strict-permissions']);
  assert.equal(r.code, 2, r.err);
  oneLine(r.err, /^qkdnet: Refusing to start: data directory .*serve is mode 0755/);
  assert.deepEqual(readdirSync(serveDir), ['kme.yaml']);

  const demoDir = openDir('demo');
  const port = String(await freePortPair());
  r = await runCliInProcess(['kme', 'demo', '--dir', demoDir, '--port', port, '--strict-permissions']);
  assert.equal(r.code, 2, r.err);
  oneLine(r.err, /Refusing to start: data directory .*demo is mode 0755/);
  assert.deepEqual(readdirSync(demoDir), []);

  const upDir = openDir('up');
  r = await runCliInProcess([
    'up',
    'scenarios/metro-demo.yaml',
    '--port',
    '0',
    '--data-dir',
    upDir,
    '--strict-permissions',
  ]);
  assert.equal(r.code, 2, r.err);
  oneLine(r.err, /Refusing to start: data directory .*up is mode 0755/);
  assert.deepEqual(readdirSync(upDir), []);
});

test('kme serve with a store key file holding the wrong key exits 2 in one line', async () => {
  const dir = join(root, 'wrong');
  mkdirSync(dir, { mode: 0o700 });
  const s = KeyStore.open({ path: join(dir, 'kme-a.db'), keyring: Keyring.generate() });
  s.close();
  writeFileSync(join(dir, 'other.key'), Keyring.generate().format(), { mode: 0o600 });
  const r = await runCliInProcess([
    'kme',
    'serve',
    '--config',
    config(dir, ['storeKey: { file: other.key }']),
  ]);
  assert.equal(r.code, 2, r.err);
  oneLine(r.err, /store key v1 is not the key this store was sealed with/);
});

test('kme rekey-store wants one target', async () => {
  const r = await runCliInProcess(['kme', 'rekey-store']);
  assert.equal(r.code, 2);
  oneLine(r.err, /give one of --config, --data-dir, or --key-file with --store/);
  const h = await runCliInProcess(['kme', 'rekey-store', '--help']);
  assert.match(h.out, /qkdnet kme rekey-store --data-dir/);
});
