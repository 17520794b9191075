/**
 * `qkdnet up <scenario.yaml>` — the live demo network. Until the live network lands (issue 9) it prints
 * the CLI overview, so `npm start` always does something useful.
 */
import type { Command } from 'commander';
import { OVERVIEW } from '../overview.ts';

export function register(program: Command): void {
  program
    .command('up')
    .description('run a live quantum-secured network with its web dashboard')
    .argument('[scenario]', 'scenario file', 'scenarios/metro-demo.yaml')
    .action(() => {
      process.stdout.write(
        `${OVERVIEW}\n\nThe live demo network is not available yet; these commands are:\n`,
      );
      process.stdout.write('  qkdnet --help\n');
    });
}
