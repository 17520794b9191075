/**
 * `qkdnet kme` — run and query ETSI GS QKD 014 key managers
 * Placeholder registered by the foundation; the full command arrives with issue 5 (key manager).
 */
import type { Command } from 'commander';
import { QkdnetError } from '../../common/index.ts';

export function register(program: Command): void {
  program
    .command('kme')
    .description('run and query ETSI GS QKD 014 key managers (not yet available)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new QkdnetError('INTERNAL', 'qkdnet kme is not implemented yet (issue 5 (key manager))');
    });
}
