/**
 * A throwaway PostgreSQL cluster from the distribution's binaries, without any system service: `initdb`
 * into a private directory, `pg_ctl start` on 127.0.0.1 at a free port (Unix socket in the same
 * directory), `pg_ctl stop`. Used by `qkdnet kme demo --ha` and by the tests that need a real database.
 * `initdb` refuses to run as root, so as root the binaries run as the `postgres` account (created by the
 * Debian package) with the data directory owned by it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { QkdnetError } from '../common/index.ts';

const run = promisify(execFile);

/** Where the PostgreSQL server binaries are: $QKDNET_PG_BIN, else the newest /usr/lib/postgresql/<major>/bin. */
export function findPgBin(): string {
  const given = process.env.QKDNET_PG_BIN;
  if (given) return given;
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0)
    throw new QkdnetError(
      'CONFIG_INVALID',
      'PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (apt-get install postgresql, or set QKDNET_PG_BIN)',
    );
  return join(root, majors[0]!, 'bin');
}

/** A free TCP port on 127.0.0.1 (the kernel's choice; PostgreSQL itself cannot take port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** A cluster under `dir` (data in `dir/data`, log in `dir/postgres.log`). */
export class PgCluster {
  readonly dir: string;
  readonly bin: string;
  port = 0;

  constructor(dir: string, bin = findPgBin()) {
    this.dir = dir;
    this.bin = bin;
  }

  /** `postgres://qkdnet@127.0.0.1:<port>/<db>` (trust authentication on the loopback only). */
  url(db = 'postgres'): string {
    return `postgres://qkdnet@127.0.0.1:${this.port}/${db}`;
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** Creates the cluster if `dir/data` does not exist yet. */
  async init(): Promise<void> {
    if (existsSync(join(this.dataDir, 'PG_VERSION'))) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.#own(this.dir);
    await this.#pg('initdb', ['-D', this.dataDir, '-A', 'trust', '-U', 'qkdnet', '--no-sync', '-E', 'UTF8']);
    // TCP on the loopback only, no Unix socket: once started the server needs nothing outside its data
    // directory (it works from there), so a private parent directory can close again.
    writeFileSync(
      join(this.dataDir, 'postgresql.auto.conf'),
      `listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\nfsync = on\n`,
    );
    this.#own(join(this.dataDir, 'postgresql.auto.conf'));
  }

  /** Starts the server (at `port`, or a free one) and waits until it accepts connections. */
  async start(port?: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      this.port = port ?? this.port ?? (await freePort());
      if (this.port === 0) this.port = await freePort();
      try {
        await this.#pg('pg_ctl', [
          '-D',
          this.dataDir,
          '-l',
          join(this.dir, 'postgres.log'),
          '-o',
          `-p ${this.port}`,
          '-w',
          '-t',
          '60',
          'start',
        ]);
        return;
      } catch (e) {
        // Another process took the port between the check and the start: try another one.
        if (port !== undefined || attempt >= 3) throw e;
        this.port = 0;
      }
    }
  }

  /** Stops the server: `fast` (clean) or `immediate` (a crash: no checkpoint, WAL replayed at the next start). */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.#pg('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', 'stop']).catch((e: Error) => {
      if (!/not running|No such file|does not exist/i.test(e.message)) throw e;
    });
  }

  #own(path: string): void {
    if (process.getuid?.() === 0) chownSync(path, pgUid(), pgGid());
  }

  async #pg(cmd: string, args: readonly string[]): Promise<void> {
    const exe = join(this.bin, cmd);
    try {
      if (process.getuid?.() === 0)
        await run(
          'setpriv',
          ['--reuid', String(pgUid()), '--regid', String(pgGid()), '--clear-groups', exe, ...args],
          { cwd: '/' },
        );
      else await run(exe, args);
    } catch (e) {
      const err = e as Error & { stderr?: string };
      throw new QkdnetError(
        'CONFIG_INVALID',
        `${cmd} failed: ${(err.stderr || err.message).trim().split('\n').slice(-3).join(' ')}`,
      );
    }
  }
}

let ids: { uid: number; gid: number } | undefined;
function lookupPostgres(): { uid: number; gid: number } {
  if (ids) return ids;
  const line = execFileSyncText('getent', ['passwd', 'postgres']);
  const f = line.split(':');
  if (f.length < 4)
    throw new QkdnetError(
      'CONFIG_INVALID',
      'As root, PostgreSQL runs as the "postgres" account, which does not exist',
    );
  ids = { uid: Number(f[2]), gid: Number(f[3]) };
  return ids;
}
const pgUid = () => lookupPostgres().uid;
const pgGid = () => lookupPostgres().gid;

function execFileSyncText(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' });
  } catch {
    return '';
  }
}

/**
 * Creates databases `names` on the server of `serverUrl` where missing (connecting to its database);
 * resolves with their URLs (same user, host and port).
 */
export async function ensureDatabases(serverUrl: string, names: readonly string[]): Promise<string[]> {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    for (const n of names) {
      const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [n]);
      if (r.rowCount === 0) await c.query(`CREATE DATABASE "${n.replace(/"/g, '')}"`);
    }
  } finally {
    await c.end();
  }
  return names.map((n) => {
    const u = new URL(serverUrl);
    u.pathname = `/${n}`;
    return u.toString();
  });
}

/**
 * As root, lets the `postgres` account pass through `dir` (group postgres, mode 0710: it can reach a
 * sub-directory it owns, never list or read anything else) while a cluster under it is created, started
 * or stopped; returns the function that restores the mode. Does nothing for other users.
 */
export function admitPostgres(dir: string): () => void {
  if (process.getuid?.() !== 0) return () => undefined;
  const st = statSync(dir);
  chownSync(dir, st.uid, pgGid());
  chmodSync(dir, 0o710);
  return () => {
    chownSync(dir, st.uid, st.gid);
    chmodSync(dir, st.mode & 0o777);
  };
}
