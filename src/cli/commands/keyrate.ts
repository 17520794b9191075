/**
 * `qkdnet keyrate` — secret key rate against distance for QKD protocols and bounds
 * Placeholder registered by the foundation; the full command arrives with issue 2 (physics).
 */
import type { Command } from 'commander';
import { QkdnetError } from '../../common/index.ts';

export function register(program: Command): void {
  program
    .command('keyrate')
    .description('secret key rate against distance for QKD protocols and bounds (not yet available)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new QkdnetError('INTERNAL', 'qkdnet keyrate is not implemented yet (issue 2 (physics))');
    });
}
