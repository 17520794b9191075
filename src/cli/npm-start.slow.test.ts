/**
 * `npm start` as a supervisor runs it: SIGINT (then, in a second run, SIGTERM) sent to the npm process's
 * own PID reaches the server (the start script execs node, so no shell sits in between and swallows it),
 * which stops within 5 s, leaves no process behind and closes every KME store consistently (SQLite
 * integrity check passes, the WAL was checkpointed away on close).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** PIDs of the processes whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

const alive = (pid: number) => existsSync(`/proc/${pid}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  test(`npm start stops on ${signal} sent to the npm PID within 5 s, stores consistent`, async () => {
    const data = mkdtempSync(join(tmpdir(), 'qkdnet-npm-start-'));
    const npm = spawn('npm', ['start', '--', '--port', '0', '--data-dir', data, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (err += d.toString()));
    let kids: number[] = [];
    const exited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 120_000;
      while (!/^\{"dashboard"/m.test(out)) {
        if (Date.now() > deadline || npm.exitCode !== null) assert.fail(`npm start did not come up: ${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const line = JSON.parse(out.split('\n').find((l) => l.startsWith('{"dashboard"'))!) as {
        kmes: unknown[];
      };
      assert.ok(line.kmes.length > 0);
      // npm's own child is the server itself (exec), not a shell waiting for it.
      kids = childrenOf(npm.pid!);
      assert.equal(kids.length, 1, `npm has ${kids.length} children`);
      assert.match(readFileSync(`/proc/${kids[0]}/cmdline`, 'utf8'), /^node\0/);
      const t0 = Date.now();
      npm.kill(signal);
      const code = await Promise.race([
        exited,
        new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000)),
      ]);
      const took = Date.now() - t0;
      assert.notEqual(code, 'timeout', `still running 5 s after ${signal}: ${err}`);
      assert.ok(!alive(kids[0]!), 'the server outlived npm');
      const stores = readdirSync(data).filter((f) => f.endsWith('.db'));
      assert.ok(stores.length > 0, 'no KME store in the data dir');
      for (const f of stores) {
        const wal = join(data, `${f}-wal`);
        assert.ok(!existsSync(wal) || statSync(wal).size === 0, `${f}: WAL not checkpointed on close`);
        const db = new Database(join(data, f), { readonly: true });
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok', f);
        db.close();
      }
      process.stderr.write(`# ${signal}: npm start stopped in ${took} ms\n`);
    } finally {
      if (npm.exitCode === null) npm.kill('SIGKILL');
      for (const k of kids) if (alive(k)) process.kill(k, 'SIGKILL');
      rmSync(data, { recursive: true, force: true });
    }
  });
