/**
 * The `qkdnet` command. Each subcommand lives in src/cli/commands/<name>.ts and exports
 * `register(program)`. Usage errors print one line on stderr and exit 2; other failures exit 1.
 */
import { Command, CommanderError } from 'commander';
import { QkdnetError } from '../common/index.ts';
import { COMMANDS } from './commands/index.ts';
import { OVERVIEW } from './overview.ts';
import { setProgressMode } from './util.ts';

/** Refusals to start (another process holds the store, a data dir open to others): exit 2 like bad input. */
const STARTUP_REFUSALS = new Set<string>(['STORE_LOCKED', 'DATA_DIR_INSECURE']);

/** Builds the program with every command registered. */
export function buildProgram(): Command {
  const program = new Command('qkdnet')
    .description(
      'An open platform for quantum-secured networks: physics, links, post-processing, key managers, networks, detection, IPsec.',
    )
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .option(
      '--progress <mode>',
      'progress of long work on stderr: auto (a bar with ETA on a terminal, a line every 5 s otherwise), bar, lines, json, none; also QKDNET_PROGRESS',
    )
    .hook('preAction', () => {
      const mode = (program.opts() as { progress?: string }).progress ?? process.env.QKDNET_PROGRESS;
      setProgressMode(mode ?? 'auto');
    });
  for (const register of COMMANDS) register(program);
  program.addHelpText('after', `\n${OVERVIEW.split('\n').slice(2).join('\n')}`);
  return program;
}

/** Runs the CLI on `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  for (const cmd of program.commands) cmd.exitOverride();
  // A command signals a non-zero exit by setting process.exitCode; whatever was set before this call
  // (e.g. by node:test after a failed test in the same process) must not leak into our answer.
  const previous = process.exitCode;
  process.exitCode = undefined;
  try {
    await program.parseAsync(argv, { from: 'user' });
    const code = process.exitCode;
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      )
        return 0;
      return 2; // commander already printed the message
    }
    if (e instanceof QkdnetError) {
      process.stderr.write(`qkdnet: ${e.message}\n`);
      return e.code === 'CLI_USAGE' || e.status === 400 || STARTUP_REFUSALS.has(e.code) ? 2 : 1;
    }
    if (e instanceof RangeError) {
      process.stderr.write(`qkdnet: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`qkdnet: unexpected failure: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  } finally {
    process.exitCode = previous;
  }
}
