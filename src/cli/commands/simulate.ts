/**
 * `qkdnet simulate` — simulate a whole QKD network from a scenario
 * Placeholder registered by the foundation; the full command arrives with issue 6 (network).
 */
import type { Command } from 'commander';
import { QkdnetError } from '../../common/index.ts';

export function register(program: Command): void {
  program
    .command('simulate')
    .description('simulate a whole QKD network from a scenario (not yet available)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new QkdnetError('INTERNAL', 'qkdnet simulate is not implemented yet (issue 6 (network))');
    });
}
