// @edge: creates and checks the private work directories of the IPsec harness and benchmark
/**
 * Work directories of the IPsec harness and benchmark, which run as root: each run gets a fresh
 * `mkdtemp` directory (`<parent>/qkdnet-ipsec-<prefix>-XXXXXX`, mode 0700, owned by this user) in a
 * parent nobody else can rename entries of (sticky, or not writable by others). Nothing found in a
 * pre-existing directory is trusted: a directory is used only when `lstat` shows a real directory (not
 * a symlink) of this user with no group/other access; files are created with O_CREAT|O_EXCL (`wx`), so
 * a planted file or symlink makes the write fail instead of writing through it; sub-directories are
 * created non-recursively (an existing one is an error); and a VICI socket is used only when it is a
 * socket of this user inside such a directory, so nobody can swap it.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { QkdnetError } from '../common/index.ts';

const uid = () => process.getuid?.() ?? 0;
const unsafe = (what: string) => new QkdnetError('IPSEC_UNAVAILABLE', `Refusing to use ${what}`);

function lstatOrRefuse(path: string) {
  try {
    return lstatSync(path);
  } catch (e) {
    throw unsafe(`${path}: ${(e as NodeJS.ErrnoException).code}`);
  }
}

/** Throws unless `dir` is a real directory (not a symlink) of this user with mode 0700 or stricter. */
export function assertPrivateDir(dir: string): void {
  const st = lstatOrRefuse(dir);
  if (st.isSymbolicLink()) throw unsafe(`${dir}: it is a symbolic link`);
  if (!st.isDirectory()) throw unsafe(`${dir}: not a directory`);
  if (st.uid !== uid()) throw unsafe(`${dir}: owned by uid ${st.uid}, not ${uid()}`);
  if ((st.mode & 0o077) !== 0) throw unsafe(`${dir}: mode ${(st.mode & 0o777).toString(8)} lets others in`);
}

/**
 * Throws unless entries of `dir` cannot be renamed or replaced by another user: a real directory owned
 * by this user or root, and either not writable by group/others or sticky (like /tmp).
 */
export function assertSafeParent(dir: string): void {
  const st = lstatOrRefuse(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) throw unsafe(`${dir}: not a real directory`);
  if (st.uid !== uid() && st.uid !== 0) throw unsafe(`${dir}: owned by uid ${st.uid}`);
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0)
    throw unsafe(`${dir}: writable by others and not sticky`);
}

/** The name prefix of a run's work directory. */
export const workDirPrefix = (prefix: string): string => `qkdnet-ipsec-${prefix}-`;

/** A fresh private work directory for one run: `<parent>/qkdnet-ipsec-<prefix>-XXXXXX`, mode 0700. */
export function makeWorkDir(prefix: string, parent: string = tmpdir()): string {
  assertSafeParent(parent);
  const dir = mkdtempSync(join(parent, workDirPrefix(prefix)));
  assertPrivateDir(dir);
  return dir;
}

/** Creates `dir` (mode 0700) inside a private parent; fails if anything already exists there. */
export function makePrivateSubdir(dir: string): string {
  assertPrivateDir(dirname(dir));
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    throw unsafe(`${dir}: ${(e as NodeJS.ErrnoException).code}`);
  }
  assertPrivateDir(dir);
  return dir;
}

/** Writes a new file (mode 0600); fails if the path exists, symlink included — never writes through one. */
export function writeNewFile(path: string, data: string | Uint8Array): void {
  try {
    writeFileSync(path, data, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    throw unsafe(`${path}: ${(e as NodeJS.ErrnoException).code}`);
  }
}

/** The work directories of `prefix` in `parent` that pass `assertPrivateDir` (others are ignored). */
export function findWorkDirs(prefix: string, parent: string = tmpdir()): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const re = new RegExp(`^${workDirPrefix(prefix).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[A-Za-z0-9]{6}$`);
  return names
    .filter((n) => re.test(n))
    .map((n) => join(parent, n))
    .filter((d) => {
      try {
        assertPrivateDir(d);
        return true;
      } catch {
        return false;
      }
    });
}

/** Throws unless `path` is a socket of this user in a private directory (a VICI socket nobody can swap). */
export function assertOwnSocket(path: string): void {
  assertPrivateDir(dirname(path));
  const st = lstatOrRefuse(path);
  if (!st.isSocket()) throw unsafe(`${path}: not a socket`);
  if (st.uid !== uid()) throw unsafe(`${path}: socket owned by uid ${st.uid}`);
}
