import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../main.ts';

async function run(argv: string[]): Promise<{ code: number; stderr: string }> {
  const write = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await main(argv), stderr };
  } finally {
    process.stderr.write = write;
  }
}

test('qkdnet up rejects bad flags with one line on stderr and exit code 2', async () => {
  for (const [argv, pattern] of [
    [['up', '--speed', 'fast'], /^qkdnet: --speed: "fast" is not a number\n$/],
    [['up', '--speed', '0'], /^qkdnet: --speed: 0 is below the minimum 0\.001\n$/],
    [['up', '--port', '70000'], /^qkdnet: --port: 70000 is above the maximum 65535\n$/],
    [['up', 'no-such-scenario.yaml'], /^qkdnet: scenario: no file "no-such-scenario\.yaml"\n$/],
  ] as const) {
    const r = await run([...argv]);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.stderr, pattern);
  }
});

test('qkdnet up names the field of an invalid scenario and exits 2 before starting anything', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-up-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'name: bad\nnodes: []\nlinks: [{ id: x, from: a, to: b, length_km: 5 }]\napps: []\n');
    const r = await run(['up', file, '--data-dir', join(dir, 'data'), '--port', '0']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.match(r.stderr, /^qkdnet: Cannot load scenario/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qkdnet up off loopback without a way to authenticate: one line, exit 2, nothing created', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-up-'));
  try {
    const data = join(dir, 'data');
    for (const host of ['0.0.0.0', '192.0.2.2', '::']) {
      const r = await run(['up', '--host', host, '--port', '0', '--data-dir', data]);
      assert.equal(r.code, 2, host);
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.match(
        r.stderr,
        /^qkdnet: --host \S+ is not a loopback address, so the dashboard needs authentication/,
      );
    }
    // A metrics token alone is not a way into the dashboard; a short token or a lone --tls-cert is a usage error.
    const tokens = join(dir, 'tokens.txt');
    writeFileSync(tokens, 'prometheus 0123456789abcdef0123\n');
    let r = await run(['up', '--host', '0.0.0.0', '--metrics-token-file', tokens, '--data-dir', data]);
    assert.equal(r.code, 2);
    writeFileSync(tokens, 'short\n');
    r = await run(['up', '--host', '0.0.0.0', '--operator-token-file', tokens, '--data-dir', data]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^qkdnet: --operator-token-file line 1: token shorter than 16 characters\n$/);
    r = await run(['up', '--host', '0.0.0.0', '--generate-tokens', '--tls-cert', tokens, '--data-dir', data]);
    assert.match(r.stderr, /^qkdnet: --tls-cert and --tls-key go together\n$/);
    assert.ok(!existsSync(data), 'no data directory was created');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qkdnet up --sites: an unknown mode, netns without root or sites without KMEs is one line, exit 2, nothing created', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-up-'));
  const getuid = process.getuid;
  try {
    const data = join(dir, 'data');
    const base = ['up', '--port', '0', '--data-dir', data];
    for (const [argv, pattern] of [
      [['--sites', 'vm'], /^qkdnet: --sites: "vm" is not one of inline, processes, netns\n$/],
      [['--sites', 'processes', '--no-kme'], /^qkdnet: --sites processes runs the nodes' KMEs/],
    ] as const) {
      const r = await run([...base, ...argv]);
      assert.equal(r.code, 2, argv.join(' '));
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.match(r.stderr, pattern);
    }
    process.getuid = () => 1000; // as an ordinary user
    const r = await run([...base, '--sites', 'netns']);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'qkdnet: --sites netns needs root (it creates network namespaces); use --sites processes\n',
    );
    assert.equal(existsSync(data), false, 'no data directory is created');
  } finally {
    process.getuid = getuid!;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qkdnet up --topology: an unknown source, etsi015 without KMEs or with site processes is one line, exit 2, nothing created', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-up-'));
  try {
    const data = join(dir, 'data');
    const base = ['up', '--port', '0', '--data-dir', data];
    for (const [argv, pattern] of [
      [['--topology', 'yang'], /^qkdnet: --topology: "yang" is not one of scenario, etsi015\n$/],
      [
        ['--topology', 'etsi015', '--no-kme'],
        /^qkdnet: --topology etsi015 reads the KMEs' ETSI GS QKD 015 data/,
      ],
      [
        ['--topology', 'etsi015', '--sites', 'processes'],
        /^qkdnet: --topology etsi015 works with --sites inline only/,
      ],
    ] as const) {
      const r = await run([...base, ...argv]);
      assert.equal(r.code, 2, argv.join(' '));
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.match(r.stderr, pattern);
    }
    assert.equal(existsSync(data), false, 'no data directory is created');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
