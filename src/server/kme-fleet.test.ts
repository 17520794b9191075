/**
 * The data directory of `qkdnet up`'s KMEs (PKI, store key, stores) is private whatever the umask: every
 * directory qkdnet creates 0700, every file 0600; an unprivileged user (`nobody`, via setpriv when this
 * runs as root) can read none of it — not through the directories, and not file by file either. A second
 * fleet on the same data directory is refused before touching anything; a directory open to others gets
 * a one-line warning, or a refusal with strictPermissions.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isQkdnetError } from '../common/index.ts';
import { startKmeFleet } from './kme-fleet.ts';

process.umask(0); // the modes must come from qkdnet's own chmods
const root = mkdtempSync(join(tmpdir(), 'qkdnet-fleet-'));
chmodSync(root, 0o755); // our test directory is open, so only qkdnet's own modes protect what is inside
after(() => rmSync(root, { recursive: true, force: true }));
const nodes = [
  { id: 'n1', neighbours: ['n2'] },
  { id: 'n2', neighbours: ['n1'] },
];

function walk(dir: string): { dirs: string[]; files: string[] } {
  const out = { dirs: [dir], files: [] as string[] };
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const sub = walk(p);
      out.dirs.push(...sub.dirs);
      out.files.push(...sub.files);
    } else out.files.push(p);
  }
  return out;
}
const hashes = (dir: string) =>
  Object.fromEntries(
    walk(dir).files.map((f) => [f, createHash('sha256').update(readFileSync(f)).digest('hex')]),
  );
/** True when `nobody` can read `path` (cat for files, ls for directories). */
const nobodyReads = (path: string, isDir: boolean) =>
  spawnSync(
    'setpriv',
    ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', isDir ? 'ls' : 'cat', path],
    { stdio: 'ignore' },
  ).status === 0;

test('a fleet data dir is 0700/0600 under umask 000, and a second fleet on it is refused untouched', async () => {
  const data = join(root, 'data', 'live'); // two levels qkdnet creates
  const fleet = await startKmeFleet(nodes, data, 'silent');
  try {
    const { dirs, files } = walk(data);
    assert.ok(files.some((f) => f.endsWith('store.key')) && files.some((f) => f.endsWith('kme-n1.db-wal')));
    for (const d of [join(root, 'data'), ...dirs]) assert.equal(statSync(d).mode & 0o777, 0o700, d);
    for (const f of files) assert.equal(statSync(f).mode & 0o777, 0o600, f);
    const before = hashes(data);
    await assert.rejects(
      startKmeFleet(nodes, data, 'silent'),
      (e: unknown) =>
        isQkdnetError(e, 'STORE_LOCKED') && /data directory .* in use by pid/.test((e as Error).message),
    );
    assert.deepEqual(hashes(data), before, 'the refused fleet changed a file');
  } finally {
    await fleet.close();
  }
});

test('nobody reads nothing under a data dir qkdnet created (directories, then file by file)', async () => {
  const data = join(root, 'nobody');
  const fleet = await startKmeFleet(nodes, data, 'silent');
  await fleet.close();
  const { dirs, files } = walk(data);
  if (process.getuid?.() !== 0) {
    // Without root there is no other user to switch to: check the modes that keep other users out.
    for (const d of dirs) assert.equal(statSync(d).mode & 0o077, 0, `${d} is open to others`);
    for (const f of files) assert.equal(statSync(f).mode & 0o077, 0, `${f} is open to others`);
    assert.ok(files.length >= 10);
    return;
  }
  assert.ok(nobodyReads(root, true), 'the test setup must let nobody into the parent');
  for (const d of dirs) assert.ok(!nobodyReads(d, true), `nobody lists ${d}`);
  for (const f of files) assert.ok(!nobodyReads(f, false), `nobody reads ${f}`);
  // Even with every directory opened for traversal, the files' own 0600 keeps nobody out.
  for (const d of dirs) chmodSync(d, 0o711);
  for (const f of files) assert.ok(!nobodyReads(f, false), `nobody reads ${f} through 0711 directories`);
  assert.ok(files.length >= 10);
  // Control: the same probe does read a file that other users may read.
  const control = join(dirs[0]!, 'control');
  writeFileSync(control, 'x', { mode: 0o644 });
  assert.ok(nobodyReads(control, false), 'the probe cannot read even an open file');
});

test('a data dir open to others: one-line warning; with strictPermissions, refused before anything', async () => {
  const open = join(root, 'open');
  mkdirSync(open, { mode: 0o755 });
  chmodSync(open, 0o755);
  const warnings: string[] = [];
  const fleet = await startKmeFleet(nodes, open, 'silent', { warn: (l) => warnings.push(l) });
  await fleet.close();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /data directory .* is mode 0755, open to other users/);
  const strict = join(root, 'strict');
  mkdirSync(strict, { mode: 0o775 });
  chmodSync(strict, 0o775);
  await assert.rejects(
    startKmeFleet(nodes, strict, 'silent', { strictPermissions: true }),
    (e: unknown) => isQkdnetError(e, 'DATA_DIR_INSECURE') && !(e as Error).message.includes('\n'),
  );
  assert.deepEqual(readdirSync(strict), [], 'the refused start created something');
});
