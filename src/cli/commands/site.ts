/**
 * `qkdnet site --dir DIR` — one site of `qkdnet up --sites processes|netns`: the node's KME from
 * `DIR/kme.yaml` with its own certificates and store, driven by the `up` process that started it over
 * an IPC channel (heartbeats, its side of each link's key, relay requests). `qkdnet up` starts and
 * restarts these itself; run by hand it refuses, since without its supervisor a site gets no key. To run
 * a node's KME on its own host use `qkdnet kme serve --config DIR/kme.yaml` (docs/deploy.md).
 */
import type { Command } from 'commander';
import { runSite } from '../../server/index.ts';
import { readInputFile } from '../preflight.ts';
import { UsageError } from '../util.ts';
import { join } from 'node:path';

export function register(program: Command): void {
  program
    .command('site')
    .description('one site of qkdnet up --sites (started by qkdnet up, not by hand)')
    .requiredOption('--dir <dir>', 'the site directory qkdnet up wrote (kme.yaml, tls/, store)')
    .option('--strict-permissions', 'refuse to start if the site directory is open to other users')
    .addHelpText(
      'after',
      '\nqkdnet up --sites processes starts one of these per node. On a real host run the same\n' +
        'configuration with: qkdnet kme serve --config <dir>/kme.yaml (docs/deploy.md).\n',
    )
    .action(async (o: { dir: string; strictPermissions?: boolean }) => {
      if (typeof process.send !== 'function')
        throw new UsageError(
          'qkdnet site runs under qkdnet up --sites; use qkdnet kme serve --config on a host',
        );
      readInputFile(join(o.dir, 'kme.yaml'), '--dir');
      process.umask(0o077);
      await runSite(o.dir, { strictPermissions: o.strictPermissions === true });
    });
}
