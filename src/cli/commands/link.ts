/**
 * `qkdnet link` — simulate one QKD link event by event
 * Placeholder registered by the foundation; the full command arrives with issue 3 (link engine).
 */
import type { Command } from 'commander';
import { QkdnetError } from '../../common/index.ts';

export function register(program: Command): void {
  program
    .command('link')
    .description('simulate one QKD link event by event (not yet available)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new QkdnetError('INTERNAL', 'qkdnet link is not implemented yet (issue 3 (link engine))');
    });
}
