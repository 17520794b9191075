/**
 * Test helpers for a KME run as its own process (`qkdnet kme serve`, the real CLI): a configuration
 * file for KME A with a supply file, and a start that resolves once the KME prints where it listens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestPki } from './kme-pair.fixture.ts';

/**
 * Writes `dir`/kme-a.yaml: KME A (SAEs sae-a and sae-c) with an unreachable peer kme-b serving sae-b,
 * store kme-a.db and supply from keys.jsonl; `extra` lines are appended (e.g. `keys: { … }`).
 */
export function writeKmeAConfig(dir: string, pki: TestPki, supply: string, extra: string[] = []): string {
  const t = pki.tls('kme-a');
  const file = join(dir, 'kme-a.yaml');
  writeFileSync(
    file,
    [
      'id: kme-a',
      'port: 0',
      `tls: { cert: ${t.cert}, key: ${t.key}, ca: ${t.ca} }`,
      'store: kme-a.db',
      'saes: [{ id: sae-a }, { id: sae-c }]',
      'peers: [{ id: kme-b, url: "https://127.0.0.1:1", saes: [sae-b] }]',
      `supply: [${supply}]`,
      ...extra,
      'logLevel: warn',
      '',
    ].join('\n'),
  );
  return file;
}

/** A KME process and everything it wrote (stdout and stderr in one transcript). */
export class KmeProcess {
  transcript = '';

  /** Starts `qkdnet kme serve --config <config>`; resolves with the child and its URL once it listens. */
  async serve(config: string): Promise<{ kme: ChildProcess; url: string }> {
    const from = this.transcript.length;
    const kme = spawn(process.execPath, ['bin/qkdnet.js', 'kme', 'serve', '--config', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // pino writes its JSON lines to stdout; both streams go into one transcript.
    kme.stdout!.on('data', (d: Buffer) => (this.transcript += d.toString()));
    kme.stderr!.on('data', (d: Buffer) => (this.transcript += d.toString()));
    for (let i = 0; i < 600; i++) {
      const m = /serving ETSI GS QKD 014 at (https:\/\/[^/\s]+)\//.exec(this.transcript.slice(from));
      if (m) return { kme, url: m[1]! };
      if (kme.exitCode !== null) break;
      await sleep(100);
    }
    throw new Error(`KME did not come up: ${this.transcript.slice(-2000)}`);
  }
}
