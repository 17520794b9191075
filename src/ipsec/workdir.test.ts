/**
 * The IPsec harness's work directories without root or strongSwan: fresh mkdtemp directories of mode
 * 0700, refusal of symlinked / shared / foreign directories, no write through a planted file or symlink,
 * `harnessDown`'s search ignoring anything that is not a private directory of this user, and a VICI
 * socket accepted only when it is this user's socket in a private directory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCerts } from './creds.ts';
import {
  assertOwnSocket,
  assertPrivateDir,
  assertSafeParent,
  findWorkDirs,
  makePrivateSubdir,
  makeWorkDir,
  writeNewFile,
} from './workdir.ts';

let parent: string;
before(() => {
  parent = mkdtempSync(join(tmpdir(), 'qkdnet-workdir-test-'));
});
after(() => rmSync(parent, { recursive: true, force: true }));

const refused = /Refusing to use/;

test('each run gets a fresh mkdtemp directory of mode 0700 with an unpredictable name', () => {
  const a = makeWorkDir('wt', parent);
  const b = makeWorkDir('wt', parent);
  assert.notEqual(a, b);
  for (const d of [a, b]) {
    assert.match(d, /qkdnet-ipsec-wt-[A-Za-z0-9]{6}$/);
    assert.equal(statSync(d).mode & 0o777, 0o700);
  }
  assert.deepEqual(findWorkDirs('wt', parent).sort(), [a, b].sort());
});

test('a symlinked, group/other-accessible or foreign directory is refused', () => {
  const real = makeWorkDir('sym', parent);
  const link = join(parent, 'qkdnet-ipsec-sym-LINKED');
  symlinkSync(real, link);
  assert.throws(() => assertPrivateDir(link), refused);
  const open = join(parent, 'qkdnet-ipsec-sym-OPENED');
  mkdirSync(open, { mode: 0o700 });
  chmodSync(open, 0o755);
  assert.throws(() => assertPrivateDir(open), refused);
  const foreign = join(parent, 'qkdnet-ipsec-sym-FOREIG');
  mkdirSync(foreign, { mode: 0o700 });
  if (process.getuid?.() === 0) {
    chownSync(foreign, 65534, 65534);
    assert.throws(() => assertPrivateDir(foreign), refused);
  }
  // harnessDown's search sees only the genuine private directories of this user among them
  const root = process.getuid?.() === 0;
  assert.deepEqual(findWorkDirs('sym', parent).sort(), root ? [real] : [real, foreign].sort());
});

test('a world-writable parent without the sticky bit is refused; /tmp-like sticky is fine', () => {
  const shared = join(parent, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o777);
  assert.throws(() => makeWorkDir('x', shared), refused);
  chmodSync(shared, 0o1777);
  assert.doesNotThrow(() => assertSafeParent(shared));
});

test('nothing is written through a planted file or symlink, and no existing sub-directory is reused', () => {
  const dir = makeWorkDir('plant', parent);
  const victim = join(parent, 'victim.txt');
  writeFileSync(victim, 'untouched');
  symlinkSync(victim, join(dir, 'strongswan.conf'));
  assert.throws(() => writeNewFile(join(dir, 'strongswan.conf'), 'evil'), refused);
  assert.equal(readFileSync(victim, 'utf8'), 'untouched');
  writeFileSync(join(dir, 'state.json'), '{"owner":1}');
  assert.throws(() => writeNewFile(join(dir, 'state.json'), '{}'), refused);
  mkdirSync(join(dir, 'net'), { mode: 0o700 });
  assert.throws(() => makePrivateSubdir(join(dir, 'net')), refused);
  symlinkSync(parent, join(dir, 'kms'));
  assert.throws(() => makePrivateSubdir(join(dir, 'kms')), refused);
  // a sub-directory of a shared directory is refused too
  const shared = join(parent, 'shared2');
  mkdirSync(shared, { mode: 0o755 });
  assert.throws(() => makePrivateSubdir(join(shared, 'net')), refused);
  assert.ok(!existsSync(join(shared, 'net')));
});

test('pre-seeded certificates in a shared directory are not trusted', async () => {
  const shared = join(parent, 'seeded');
  mkdirSync(join(shared, 'certs-ecdsa'), { recursive: true, mode: 0o755 });
  chmodSync(shared, 0o755);
  writeFileSync(join(shared, 'certs-ecdsa', 'done'), '');
  writeFileSync(join(shared, 'certs-ecdsa', 'ca.pem'), 'attacker CA');
  await assert.rejects(ensureCerts(shared, 'ecdsa'), refused);
});

test('a VICI socket is used only when it is our socket in a private directory', async () => {
  const dir = makeWorkDir('vici', parent);
  const path = join(dir, 'charon.vici');
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(path, r));
  try {
    assert.doesNotThrow(() => assertOwnSocket(path));
    const fake = join(dir, 'fake.vici');
    writeFileSync(fake, '');
    assert.throws(() => assertOwnSocket(fake), refused);
    const swapped = join(dir, 'swapped.vici');
    symlinkSync(path, swapped);
    assert.throws(() => assertOwnSocket(swapped), refused);
    chmodSync(dir, 0o755);
    assert.throws(() => assertOwnSocket(path), refused);
  } finally {
    server.close();
  }
});
