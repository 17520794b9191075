/**
 * `qkdnet ipsec` — QKD keys into strongSwan IKEv2
 * Placeholder registered by the foundation; the full command arrives with issue 8 (IPsec).
 */
import type { Command } from 'commander';
import { QkdnetError } from '../../common/index.ts';

export function register(program: Command): void {
  program
    .command('ipsec')
    .description('QKD keys into strongSwan IKEv2 (not yet available)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new QkdnetError('INTERNAL', 'qkdnet ipsec is not implemented yet (issue 8 (IPsec))');
    });
}
