/** `qkdnet ipsec up --duration 0` end to end through bin/qkdnet.js (root, real strongSwan): JSON proof, clean exit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { charonInstalled } from '../../src/ipsec/index.ts';

const canRun = process.getuid?.() === 0 && charonInstalled();
const bin = new URL('../../bin/qkdnet.js', import.meta.url).pathname;

test(
  'qkdnet ipsec up --duration 0 --json proves ppk = yes and traffic, then removes everything',
  { skip: !canRun && 'needs root and strongSwan' },
  () => {
    const r = spawnSync(
      process.execPath,
      [bin, 'ipsec', 'up', '--duration', '0', '--link', 'stand-in', '--prefix', 'qkcli', '--json'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { ppk: boolean; traffic: boolean; current: { provenance: string } };
    assert.equal(s.ppk, true);
    assert.equal(s.traffic, true);
    assert.equal(s.current.provenance, 'qkd');
    assert.match(r.stderr, /namespaces, daemons, KMEs and agents removed/);
    assert.doesNotMatch(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }), /qkcli/);
  },
);
