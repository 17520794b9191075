import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runCliInProcess } from '../run-in-process.ts';

// The commands run in this process (their subject is what they write and print, not process start-up);
// one case below runs the real `bin/qkdnet.js` to check that a usage error reaches the exit status.
const cli = async (...args: string[]) => {
  const r = await runCliInProcess(args);
  return { status: r.code, stdout: r.out, stderr: r.err };
};

test('qkdnet pki init and issue create a CA and certificates that verify against it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-pki-cli-'));
  try {
    assert.equal((await cli('pki', 'init', '--dir', dir)).status, 0);
    const r = await cli('pki', 'issue', '--dir', dir, '--name', 'kme-a', '--kind', 'kme', '--json');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { cert: string; key: string };
    assert.equal(statSync(out.key).mode & 0o777, 0o600);
    assert.equal((await cli('pki', 'issue', '--dir', dir, '--name', 'sae-a', '--kind', 'sae')).status, 0);
    for (const n of ['kme-a', 'sae-a'])
      assert.match(
        execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, `${n}.pem`)]).toString(),
        /OK/,
      );
    const text = execFileSync('openssl', [
      'x509',
      '-in',
      join(dir, 'kme-a.pem'),
      '-noout',
      '-text',
    ]).toString();
    assert.match(text, /CN ?= ?kme-a/);
    assert.match(text, /IP Address:127\.0\.0\.1/);
    assert.match(text, /prime256v1|P-256/);
    // Refuses to overwrite without --force.
    const again = await cli('pki', 'issue', '--dir', dir, '--name', 'sae-a', '--kind', 'sae');
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already exists/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qkdnet pki revoke lists the serial in a CA-signed crl.pem (0600); revoking twice is harmless', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-pki-cli-'));
  try {
    assert.equal((await cli('pki', 'init', '--dir', dir)).status, 0);
    assert.ok(existsSync(join(dir, 'crl.pem')), 'init writes an empty CRL');
    const issued = JSON.parse(
      (await cli('pki', 'issue', '--dir', dir, '--name', 'sae-x', '--kind', 'sae', '--json')).stdout,
    ) as { spkiSha256: string };
    assert.match(issued.spkiSha256, /^[A-Za-z0-9+/]{43}=$/);
    for (let i = 0; i < 2; i++) {
      const r = await cli('pki', 'revoke', '--dir', dir, '--name', 'sae-x', '--json');
      assert.equal(r.status, 0, r.stderr);
    }
    const serial = execFileSync('openssl', ['x509', '-in', join(dir, 'sae-x.pem'), '-noout', '-serial'])
      .toString()
      .split('=')[1]!
      .trim();
    const crl = execFileSync(
      'openssl',
      ['crl', '-in', join(dir, 'crl.pem'), '-CAfile', join(dir, 'ca.pem'), '-noout', '-text'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    ).toString();
    assert.equal(crl.split(`Serial Number: ${serial}`).length - 1, 1, crl);
    assert.equal(statSync(join(dir, 'crl.pem')).mode & 0o777, 0o600);
    const bad = await cli('pki', 'revoke', '--dir', dir, '--name', 'sae-x', '--reason', 'boredom');
    assert.equal(bad.status, 2);
    assert.equal((await cli('pki', 'revoke', '--dir', dir, '--name', 'nobody')).status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad pki and kme arguments print one line on stderr and exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-pki-cli-'));
  try {
    for (const args of [
      ['pki', 'issue', '--dir', dir, '--name', 'x', '--kind', 'router'],
      ['pki', 'issue', '--dir', dir, '--name', 'x', '--kind', 'sae'],
      ['pki', 'issue', '--dir', dir, '--name', 'bad/name', '--kind', 'sae'],
      ['kme', 'keys', '--kme', 'https://127.0.0.1:1', '--cert', 'a', '--key', 'b', '--ca', 'c'],
      ['kme', 'keys', '--kme', 'http://x', '--cert', 'a', '--key', 'b', '--ca', 'c', '--slave', 's'],
      [
        'kme',
        'keys',
        '--kme',
        'https://x',
        '--cert',
        'a',
        '--key',
        'b',
        '--ca',
        'c',
        '--slave',
        's',
        '--pin-spki',
        'nope',
      ],
      ['kme', 'serve', '--config', join(dir, 'missing.yaml')],
      ['kme', 'demo', '--dir', dir, '--port', '70000'],
      ['kme', 'demo', '--dir', dir, '--stand-in', '--deterministic-keys'],
    ]) {
      const r = await cli(...args);
      assert.equal(r.status, 2, `${args.join(' ')} → ${r.status}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.ok(!existsSync(join(dir, 'x.pem')));
    // The same through the real executable: one line, exit status 2.
    const real = spawnSync(
      process.execPath,
      ['bin/qkdnet.js', 'pki', 'issue', '--dir', dir, '--name', 'x', '--kind', 'router'],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(real.status, 2, real.stderr);
    assert.equal(real.stderr.trim().split('\n').length, 1, real.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
