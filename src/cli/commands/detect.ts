/**
 * `qkdnet detect` — evaluate attack detectors
 * Placeholder registered by the foundation; the full command arrives with issue 7 (detection).
 */
import type { Command } from 'commander';
import { QkdnetError } from '../../common/index.ts';

export function register(program: Command): void {
  program
    .command('detect')
    .description('evaluate attack detectors (not yet available)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new QkdnetError('INTERNAL', 'qkdnet detect is not implemented yet (issue 7 (detection))');
    });
}
