/**
 * `qkdnet reconcile` — measure Cascade error correction
 * Placeholder registered by the foundation; the full command arrives with issue 4 (post-processing).
 */
import type { Command } from 'commander';
import { QkdnetError } from '../../common/index.ts';

export function register(program: Command): void {
  program
    .command('reconcile')
    .description('measure Cascade error correction (not yet available)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new QkdnetError(
        'INTERNAL',
        'qkdnet reconcile is not implemented yet (issue 4 (post-processing))',
      );
    });
}
