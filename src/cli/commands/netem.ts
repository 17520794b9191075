/**
 * `qkdnet netem` — a TCP forwarding proxy that adds a one-way delay (and optionally jitter and loss) to
 * every connection, for testing post-processing or any TCP link between two programs on machines whose
 * kernel has no `tc qdisc … netem`. Runs until interrupted; prints one status line per second on stderr.
 */
import type { Command } from 'commander';
import { NetemProxy } from '../netem-proxy.ts';
import { UsageError, parseNumber } from '../util.ts';
import { parseHostPort } from './pp-peer.ts';

interface Options {
  listen?: string;
  connect?: string;
  delayMs: string;
  jitterMs: string;
  loss: string;
  lossMode: string;
  seed: string;
}

const EXAMPLES = `
Examples:
  $ qkdnet netem --listen 127.0.0.1:7401 --connect 127.0.0.1:7400 --delay-ms 0.5
      0.5 ms each way (1 ms round trip, ≈ 100 km of fibre) in front of a server on port 7400
  $ qkdnet netem --listen 0.0.0.0:7401 --connect alice.example:7400 --delay-ms 5 --jitter-ms 1 --loss 0.001

Every chunk of bytes is held for --delay-ms (± --jitter-ms, uniform) before it is forwarded; byte order
is always kept (jitter stretches gaps, it never reorders a stream). TCP never loses bytes silently, so
--loss P means: each forwarded chunk is, with probability P, a loss event. --loss-mode reset (default)
drops that chunk and resets both sides of the connection — what an application sees when a lossy path
makes TCP give up; drop removes the chunk and carries on (the receiver sees a stream with a hole, like a
broken or tampered channel); corrupt flips one bit of the chunk. Send SIGINT (Ctrl-C) to stop.`;

export function register(program: Command): void {
  program
    .command('netem')
    .description('TCP proxy that adds delay, jitter and loss between two programs (no tc netem needed)')
    .option('--listen <host:port>', 'address to accept connections on (port 0: any free port, printed)')
    .option('--connect <host:port>', 'address to forward each connection to')
    .option('--delay-ms <d>', 'one-way delay added in each direction, ms', '0')
    .option('--jitter-ms <j>', 'uniform jitter ± j ms around the delay', '0')
    .option('--loss <p>', 'probability per forwarded chunk of a loss event, 0..1', '0')
    .option('--loss-mode <m>', 'reset | drop | corrupt (see below)', 'reset')
    .option('--seed <s>', 'seed of the jitter and loss draws', 'netem')
    .addHelpText('after', EXAMPLES)
    .action(async (o: Options) => {
      if (!o.listen) throw new UsageError('--listen host:port is required');
      if (!o.connect) throw new UsageError('--connect host:port is required');
      const listen = parseHostPort(o.listen, '--listen');
      const target = parseHostPort(o.connect, '--connect');
      if (target.port === 0) throw new UsageError('--connect: port 0 is not a destination');
      const delayMs = parseNumber(o.delayMs, '--delay-ms', { min: 0, max: 60_000 });
      const jitterMs = parseNumber(o.jitterMs, '--jitter-ms', { min: 0, max: 60_000 });
      const loss = parseNumber(o.loss, '--loss', { min: 0, max: 1 });
      if (o.lossMode !== 'reset' && o.lossMode !== 'drop' && o.lossMode !== 'corrupt')
        throw new UsageError(`--loss-mode: "${o.lossMode}" is not one of reset, drop, corrupt`);
      const proxy = new NetemProxy({
        listenHost: listen.host,
        listenPort: listen.port,
        targetHost: target.host,
        targetPort: target.port,
        delayMs,
        jitterMs,
        loss,
        lossMode: o.lossMode,
        seed: o.seed,
      });
      let port: number;
      try {
        port = await proxy.start();
      } catch (e) {
        throw new UsageError(`--listen: ${(e as Error).message}`);
      }
      // Signals are taken before the ready line: whoever started the proxy may stop it as soon as it reads it.
      const stopped = new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.stdout.write(`${JSON.stringify({ listening: port })}\n`);
      process.stderr.write(
        `netem: ${listen.host}:${port} → ${target.host}:${target.port}, ${delayMs} ms one way` +
          `${jitterMs ? ` ± ${jitterMs} ms` : ''}${loss ? `, loss ${loss} (${o.lossMode})` : ''}\n`,
      );
      const c = proxy.counters;
      const status = setInterval(
        () =>
          process.stderr.write(
            `netem: ${c.connections} connection(s), ${c.bytesForwarded} bytes in ${c.chunksForwarded} chunks, ${c.lossEvents} loss event(s)\n`,
          ),
        1000,
      );
      await stopped;
      clearInterval(status);
      await proxy.close();
    });
}
