/**
 * What every benchmark result records beside its figures: the machine, the
 * Node version, the commit and the date; and the one place results are written, bench/results/<name>.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/** Machine, Node version, commit and date, for the result JSON. */
export function benchContext(): {
  machine: { cpu: string | undefined; cores: number; os: string; loadavg: number[] };
  node: string;
  commit: string;
  date: string;
} {
  return {
    machine: {
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      os: `${os.platform()} ${os.release()}`,
      loadavg: os.loadavg(),
    },
    node: process.version,
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim(),
    date: new Date().toISOString(),
  };
}

/** Writes `result` to bench/results/<name>.json. */
export function writeBenchResult(name: string, result: unknown): void {
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/${name}.json`, `${JSON.stringify(result, null, 2)}\n`);
}
