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

test(
  'as an unprivileged user, ipsec up, down and bench refuse with one line (IPSEC_NOT_ROOT) and exit 1',
  { skip: process.getuid?.() !== 0 && 'needs root to drop to nobody' },
  (t) => {
    const drop = ['--reuid', '65534', '--regid', '65534', '--clear-groups'];
    if (spawnSync('setpriv', [...drop, 'test', '-r', bin]).status !== 0)
      return t.skip('the checkout is not readable by nobody (e.g. under /root)');
    for (const sub of [['up', '--duration', '0'], ['down'], ['bench', '--runs', '1']]) {
      const r = spawnSync(
        'setpriv',
        [
          '--reuid',
          '65534',
          '--regid',
          '65534',
          '--clear-groups',
          'env',
          'HOME=/tmp',
          process.execPath,
          bin,
          'ipsec',
          ...sub,
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      assert.equal(r.status, 1, `${sub[0]}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.match(r.stderr, /need root \(uid is 65534\)/);
    }
  },
);
