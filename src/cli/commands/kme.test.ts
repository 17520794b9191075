import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etsi014Client } from '../../kms/index.ts';
import { freePortPair } from '../ports.fixture.ts';

test('qkdnet kme demo serves KME A and B with sae-a/b/c, prints curl commands and stops cleanly on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-kme-demo-'));
  const PORT = await freePortPair();
  const child = spawn(
    process.execPath,
    ['bin/qkdnet.js', 'kme', 'demo', '--dir', dir, '--port', String(PORT)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    // The first block is 10⁹ pulses of real distillation: seconds alone, minutes on a loaded machine.
    // Wait for the line itself (or the child's exit), with a generous overall limit.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 240_000);
      const check = () => {
        if (out.includes('Ctrl-C to stop')) done();
      };
      const done = () => {
        clearTimeout(timer);
        child.stdout.off('data', check);
        child.off('exit', done);
        resolve();
      };
      child.stdout.on('data', check);
      child.once('exit', done);
      check();
    });
    assert.match(out, /Ctrl-C to stop/, err);
    assert.match(out, new RegExp(`curl -s --cert ${dir}/sae-a\\.pem`));
    for (const f of ['ca.pem', 'sae-a.pem', 'sae-a.key', 'sae-b.pem', 'sae-b.key', 'sae-c.pem', 'sae-c.key'])
      assert.ok(existsSync(join(dir, f)), f);
    const tls = (n: string) => ({
      cert: join(dir, `${n}.pem`),
      key: join(dir, `${n}.key`),
      ca: join(dir, 'ca.pem'),
    });
    const a = Etsi014Client.fromFiles(`https://127.0.0.1:${PORT}`, tls('sae-a'));
    const b = Etsi014Client.fromFiles(`https://127.0.0.1:${PORT + 1}`, tls('sae-b'));
    const c = Etsi014Client.fromFiles(`https://127.0.0.1:${PORT}`, tls('sae-c'));
    const [k] = await a.getKeys('sae-b', { sizeBits: 512, additionalSlaves: ['sae-c'] });
    assert.equal(k!.key.length, 64);
    assert.deepEqual((await b.getKeysWithIds('sae-a', [k!.keyId]))[0]!.key, k!.key);
    assert.deepEqual((await c.getKeysWithIds('sae-a', [k!.keyId]))[0]!.key, k!.key);
    for (const x of [a, b, c]) x.close();
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
    assert.equal(code, 0, err);
    assert.match(err, /SIGTERM: shutting down/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
