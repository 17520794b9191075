/**
 * `qkdnet pki` — create a CA and KME/SAE certificates
 * Placeholder registered by the foundation; the full command arrives with issue 5 (key manager).
 */
import type { Command } from 'commander';
import { QkdnetError } from '../../common/index.ts';

export function register(program: Command): void {
  program
    .command('pki')
    .description('create a CA and KME/SAE certificates (not yet available)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new QkdnetError('INTERNAL', 'qkdnet pki is not implemented yet (issue 5 (key manager))');
    });
}
