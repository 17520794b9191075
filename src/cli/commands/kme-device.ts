/**
 * `qkdnet kme device-push` — a QKD device simulator that runs as its own process and feeds KMEs through
 * the southbound key input of AIT's ETSI GS QKD 004 push-mode profile (`POST
 * /api/v1/qkd/etsi004/key-material`, src/kms/etsi-gs-qkd-004-push.ts) over mutual TLS with a certificate
 * of the `device` role. It plays the two modules of one link: every chunk (fresh bytes from node:crypto,
 * never printed) goes with the same key stream ID and index to each KME given, so the KMEs at the link's
 * two ends hold the same key. A stand-in for a real QKD module, for tests and demos.
 */
import type { Command } from 'commander';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createMtlsAgent, requestJson } from '../../kms/index.ts';
import { parseFormat, parseKmeUrls, parseNumber, ProgressBar, UsageError } from '../util.ts';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Registers `qkdnet kme device-push`. */
export function registerDeviceCommands(kme: Command): void {
  kme
    .command('device-push')
    .description(
      'simulate a QKD device: push key chunks into KMEs (AIT ETSI 004 push profile, mutual TLS, device role)',
    )
    .option('--kme <url[,url…]>', 'KME base URL(s); every chunk goes to each (the two ends of one link)')
    .option('--cert <file>', "the device's certificate (qkdnet pki issue --kind device)")
    .option('--key <file>', "the device's private key")
    .option('--ca <file>', 'CA certificate that issued the KMEs')
    .option('--ksid <uuid>', 'key stream ID of the pushed chunks (default: a new UUID)')
    .option('--chunks <n>', 'chunks to push', '100')
    .option('--chunk-size <bytes>', 'bytes per chunk', '32')
    .option('--start-index <n>', 'index of the first chunk (the profile: rising, wrapping at UINT_MAX)', '0')
    .option('--rate <chunks/s>', 'chunks per second (0: as fast as the KMEs accept)', '0')
    .option('--format <f>', 'table or json', 'table')
    .addHelpText(
      'after',
      '\nThe KMEs must list the device in their config (devices: [{ id: <certificate CN>, peer: <far KME> }]).\n\n' +
        'Example:\n  qkdnet pki issue --dir d --name qkd-ab --kind device\n' +
        '  qkdnet kme device-push --kme https://127.0.0.1:8443,https://127.0.0.1:8444 --cert d/qkd-ab.pem --key d/qkd-ab.key --ca d/ca.pem --chunks 1000\n',
    )
    .action(
      async (o: {
        kme?: string;
        cert?: string;
        key?: string;
        ca?: string;
        ksid?: string;
        chunks: string;
        chunkSize: string;
        startIndex: string;
        rate: string;
        format: string;
      }) => {
        const format = parseFormat(o.format, ['table', 'json'] as const);
        for (const f of ['kme', 'cert', 'key', 'ca'] as const)
          if (!o[f]) throw new UsageError(`--${f} is required (see qkdnet kme device-push --help)`);
        const urls = parseKmeUrls(o.kme!, '--kme');
        if (o.ksid !== undefined && !UUID.test(o.ksid))
          throw new UsageError(`--ksid: "${o.ksid}" is not a UUID`);
        const ksid = (o.ksid ?? randomUUID()).toLowerCase();
        const chunks = parseNumber(o.chunks, '--chunks', { min: 1, max: 100_000_000, integer: true });
        const size = parseNumber(o.chunkSize, '--chunk-size', { min: 1, max: 12_288, integer: true });
        const start = parseNumber(o.startIndex, '--start-index', { min: 0, max: 4294967295, integer: true });
        const rate = parseNumber(o.rate, '--rate', { min: 0, max: 1e6 });
        let identity;
        try {
          identity = { cert: readFileSync(o.cert!), key: readFileSync(o.key!), ca: readFileSync(o.ca!) };
        } catch (e) {
          throw new UsageError(`cannot read TLS files: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
        }
        // The KMEs must prove the kme role; the device presents its own role.
        const agent = createMtlsAgent(identity, 4, { role: 'required' });
        const bar = new ProgressBar('device-push', chunks);
        const t0 = Date.now();
        try {
          for (let i = 0; i < chunks; i++) {
            if (rate > 0) {
              const due = t0 + (i * 1000) / rate;
              if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
            }
            const key = randomBytes(size);
            const body = {
              status: 0,
              index: (start + i) % 4294967296,
              key_buffer: key.toString('base64'),
              metadata: { size: 0, buffer: { key_stream_id: ksid } },
            };
            key.fill(0);
            const answers = await Promise.all(
              urls.map((u) => requestJson(agent, `${u}/api/v1/qkd/etsi004/key-material`, 'POST', body)),
            );
            body.key_buffer = '';
            answers.forEach((a, j) => {
              if (a.status !== 201) {
                const msg = (a.body as { message?: unknown } | undefined)?.message;
                throw new Error(
                  `${urls[j]} answered ${a.status}${typeof msg === 'string' ? `: ${msg}` : ''}`,
                );
              }
            });
            bar.update(i + 1);
          }
        } finally {
          bar.done();
          agent.destroy();
        }
        const summary = { key_stream_id: ksid, chunks, bytes_per_kme: chunks * size, kmes: urls };
        if (format === 'json') process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        else
          process.stdout.write(
            `pushed ${chunks} chunks of ${size} bytes (key stream ${ksid}) to ${urls.join(' and ')}\n`,
          );
      },
    );
}
