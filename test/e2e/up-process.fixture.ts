/**
 * `qkdnet up … --json` as a child process for end-to-end suites: started, its output collected, and the
 * dashboard URL of its start-up line awaited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './browser.fixture.ts';

/** A running `qkdnet up`. */
export interface UpProcess {
  readonly proc: ChildProcess;
  /** The dashboard URL (ends with `/`). */
  readonly base: string;
  readonly exited: Promise<unknown>;
  /** Everything it wrote on stderr so far. */
  stderr(): string;
  /** Sends SIGINT unless it already ended, and waits for the exit. */
  stop(): Promise<unknown>;
}

/** Starts `qkdnet up ARGS --json` and waits (up to `deadlineMs`) for its start-up line. */
export async function startUp(args: readonly string[], deadlineMs: number): Promise<UpProcess> {
  const proc = spawn(process.execPath, ['bin/qkdnet.js', 'up', ...args, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((r) => proc.once('exit', r));
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c) => (out += String(c)));
  proc.stderr!.on('data', (c) => (err += String(c)));
  const base = await waitFor('the start-up line', deadlineMs, async () => {
    if (proc.exitCode !== null) throw new Error(`qkdnet up exited ${proc.exitCode}: ${err}`);
    const line = out.split('\n').find((l) => l.startsWith('{'));
    return line ? (JSON.parse(line) as { dashboard: string }).dashboard : undefined;
  });
  const stop = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
    return exited;
  };
  return { proc, base, exited, stderr: () => err, stop };
}
