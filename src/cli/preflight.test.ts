import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliInProcess } from './run-in-process.ts';

let dir: string;
let busy: Server;
let busyPort: number;
/** A directory this process cannot write: /sys for root (sysfs refuses new files), else a chmod 0500 dir. */
let unwritable: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qkdnet-preflight-'));
  busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  busyPort = (busy.address() as { port: number }).port;
  if (process.getuid?.() === 0) unwritable = '/sys/qkdnet-data';
  else {
    unwritable = join(dir, 'ro');
    mkdirSync(unwritable);
    chmodSync(unwritable, 0o500);
  }
  writeFileSync(join(dir, 'file'), 'not a directory');
  writeFileSync(join(dir, 'bad.yaml'), 'nodes: [a, b\n  links: {\n');
  mkdirSync(join(dir, 'adir'));
});

after(async () => {
  await new Promise((r) => busy.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `argv`, expects exit 2 with exactly one line matching `pattern`, and that `fresh` was not created. */
async function refused(argv: string[], pattern: RegExp, fresh: string): Promise<void> {
  const r = await runCliInProcess(argv);
  assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
  assert.equal(r.err.split('\n').filter(Boolean).length, 1, r.err);
  assert.match(r.err, pattern);
  assert.ok(!existsSync(fresh), `${fresh} was created before the error`);
}

test('qkdnet up: busy port, unusable data dir and unreadable scenario are one line, exit 2, no state', async () => {
  const scenario = 'scenarios/metro-demo.yaml';
  const data = join(dir, 'up-data');
  const cases: [string[], RegExp, string][] = [
    [
      ['up', scenario, '--port', String(busyPort), '--data-dir', data],
      /--port: port \d+ .* already in use/,
      data,
    ],
    [
      ['up', scenario, '--port', '0', '--data-dir', join(dir, 'file')],
      /--data-dir: ".*file" is a file/,
      data,
    ],
    [
      ['up', scenario, '--port', '0', '--data-dir', join(dir, 'file', 'sub')],
      /--data-dir: ".*file" is a file/,
      data,
    ],
    [['up', scenario, '--port', '0', '--data-dir', unwritable], /--data-dir: ".*" is not writable/, data],
    [['up', join(dir, 'missing.yaml'), '--port', '0', '--data-dir', data], /scenario: no file/, data],
    [['up', join(dir, 'adir'), '--port', '0', '--data-dir', data], /scenario: ".*adir" is a directory/, data],
    [
      ['up', join(dir, 'bad.yaml'), '--port', '0', '--data-dir', data],
      /Cannot load scenario .*bad\.yaml: not valid YAML/,
      data,
    ],
  ];
  for (const [argv, pattern, fresh] of cases) await refused(argv, pattern, fresh);
});

test('qkdnet kme serve: busy port, unusable store directory and unreadable config are one line, exit 2, no store', async () => {
  const pki = join(dir, 'pki-unused');
  const config = (name: string, store: string, port: number) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      [
        'id: kme-a',
        `port: ${port}`,
        `tls: { cert: ${pki}/a.pem, key: ${pki}/a.key, ca: ${pki}/ca.pem }`,
        `store: ${store}`,
        'saes: [{ id: sae-a }]',
        '',
      ].join('\n'),
    );
    return file;
  };
  // TLS files are read with the config: give real PEM text so the checks after them are reached.
  mkdirSync(pki);
  for (const f of ['a.pem', 'a.key', 'ca.pem']) writeFileSync(join(pki, f), '-----BEGIN X-----\n');
  const store = join(dir, 'serve-store', 'kme.db');
  const cases: [string[], RegExp, string][] = [
    [
      ['kme', 'serve', '--config', config('busy', store, busyPort)],
      /port: port \d+ .* already in use/,
      store,
    ],
    [
      ['kme', 'serve', '--config', config('file', join(dir, 'file', 'kme.db'), 0)],
      /store: ".*file" is a file/,
      store,
    ],
    [
      ['kme', 'serve', '--config', config('isdir', join(dir, 'adir'), 0)],
      /store: ".*adir" is a directory/,
      store,
    ],
    [
      ['kme', 'serve', '--config', config('ro', join(unwritable, 'kme.db'), 0)],
      /store: ".*" is not writable/,
      store,
    ],
    [['kme', 'serve', '--config', join(dir, 'nope.yaml')], /--config: no file/, store],
    [['kme', 'serve', '--config', join(dir, 'adir')], /--config: ".*adir" is a directory/, store],
    [['kme', 'serve', '--config', join(dir, 'bad.yaml')], /KME config .* is not valid YAML/, store],
  ];
  for (const [argv, pattern, fresh] of cases) await refused(argv, pattern, fresh);
});

test('qkdnet kme demo: busy port (A or B) and unusable --dir are one line, exit 2, no PKI', async () => {
  const d = join(dir, 'demo');
  await refused(['kme', 'demo', '--dir', d, '--port', String(busyPort)], /--port: port \d+ .* in use/, d);
  await refused(
    ['kme', 'demo', '--dir', d, '--port', String(busyPort - 1)],
    /--port \(\+1, KME B\): port/,
    d,
  );
  await refused(['kme', 'demo', '--dir', join(dir, 'file'), '--port', '1'], /--dir: ".*file" is a file/, d);
  await refused(['kme', 'demo', '--dir', unwritable, '--port', '1'], /--dir: ".*" is not writable/, d);
  assert.deepEqual(readdirSync(join(dir, 'adir')), []);
});
