/**
 * Runs the `qkdnet` CLI inside the current process and captures what it prints: for the command tests,
 * which check output, stderr lines and exit codes without spawning a process per case.
 */
import { main } from './main.ts';

export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `qkdnet <argv…>` with stdout and stderr captured; restores both afterwards. */
export async function runCliInProcess(argv: readonly string[]): Promise<CliRun> {
  let out = '';
  let err = '';
  const wo = process.stdout.write.bind(process.stdout);
  const we = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    const code = await main([...argv]);
    return { code, out, err };
  } finally {
    process.stdout.write = wo;
    process.stderr.write = we;
  }
}
