/**
 * `qkdnet kme stream open|get|close` — ETSI GS QKD 004 V2.1.1 key streams for manual use and scripts: an
 * SAE opens a stream with OPEN_CONNECT (clause 6.1), takes chunks with GET_KEY and ends it with CLOSE,
 * over mutual TLS with its own certificate (./kme.ts flags). The 004 status of every call is printed; a
 * status other than 0 or 1 exits 1, bad input exits 2 before any connection is made.
 */
import type { Command } from 'commander';
import { Etsi004Client, STATUS, type QosRequest } from '../../kms/index.ts';
import { formatTable, parseFormat, parseKmeUrls, parseNumber, UsageError } from '../util.ts';

const STATUS_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(STATUS).map(([k, v]) => [v, k]),
);
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const U32 = { min: 0, max: 4294967295, integer: true };

interface Flags {
  kme?: string;
  cert?: string;
  key?: string;
  ca?: string;
  kmeId?: string;
  pinSpki?: string[];
  format: string;
}

function connect(o: Flags): Etsi004Client {
  for (const f of ['kme', 'cert', 'key', 'ca'] as const)
    if (!o[f]) throw new UsageError(`--${f} is required (see qkdnet kme stream --help)`);
  const urls = parseKmeUrls(o.kme!, '--kme');
  if (urls.length !== 1) throw new UsageError('--kme: a key stream lives in one KME; give one URL');
  for (const p of o.pinSpki ?? [])
    if (!/^(sha256\/)?([A-Za-z0-9+/]{43}=|[0-9a-fA-F]{64})$/.test(p))
      throw new UsageError(`--pin-spki: "${p}" is not a SHA-256 hash (base64 or hex)`);
  try {
    return Etsi004Client.fromFiles(
      urls[0]!,
      { cert: o.cert!, key: o.key!, ca: o.ca! },
      { ...(o.kmeId ? { kmeId: o.kmeId } : {}), ...(o.pinSpki ? { pinSpki: o.pinSpki } : {}) },
    );
  } catch (e) {
    throw new UsageError(
      `cannot read TLS files: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

const ksidOf = (v: string | undefined, required: boolean): string | undefined => {
  if (v === undefined) {
    if (required) throw new UsageError('--ksid is required');
    return undefined;
  }
  if (!UUID.test(v)) throw new UsageError(`--ksid: "${v}" is not a UUID`);
  return v.toLowerCase();
};

const u32 = (v: string | undefined, flag: string): number | undefined =>
  v === undefined ? undefined : parseNumber(v, flag, U32);

/** Prints `row` as JSON or a field/value table; sets exit code 1 for a failing 004 status. */
function report(row: Record<string, unknown>, format: 'json' | 'table'): void {
  const status = row.status as number;
  const out = { ...row, status_name: STATUS_NAMES[status] ?? 'UNKNOWN' };
  if (format === 'json') process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  else
    process.stdout.write(
      `${formatTable(
        ['field', 'value'],
        Object.entries(out).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]),
      )}\n`,
    );
  if (status !== STATUS.SUCCESS && status !== STATUS.PEER_NOT_CONNECTED) process.exitCode = 1;
}

const common = (c: Command) =>
  c
    .option('--kme <url>', 'KME base URL, e.g. https://127.0.0.1:8443')
    .option('--cert <file>', "this SAE's certificate (PEM)")
    .option('--key <file>', "this SAE's private key (PEM)")
    .option('--ca <file>', 'CA certificate that issued the KME (PEM)')
    .option('--kme-id <id>', "the KME's id: its certificate must name it (DNS SAN)")
    .option('--pin-spki <sha256...>', "accepted SPKI SHA-256 of the KME's key")
    .option('--format <f>', 'table or json', 'table');

const TLS_EXAMPLE =
  '--kme https://127.0.0.1:8443 --kme-id kme-a --cert d/sae-a.pem --key d/sae-a.key --ca d/ca.pem';

/** Registers `qkdnet kme stream`. */
export function registerStreamCommands(kme: Command): void {
  const stream = kme
    .command('stream')
    .description('ETSI GS QKD 004 key streams: open, get chunks, close (as an SAE, mutual TLS)')
    .addHelpText(
      'after',
      '\nA stream joins two SAEs. The first opens without --ksid and gets a new KSID (status 1: the peer\n' +
        'has not connected yet); it passes the KSID to the other SAE, which opens with --ksid (status 0).\n' +
        'Both then `get` chunks: the same index gives the same bytes at both ends, once each.\n\n' +
        `Example:\n  qkdnet kme stream open ${TLS_EXAMPLE} --source sae-a --destination sae-b --chunk-size 32\n` +
        '  qkdnet kme stream open --kme https://127.0.0.1:8444 --cert d/sae-b.pem --key d/sae-b.key --ca d/ca.pem --source sae-b --destination sae-a --ksid KSID\n' +
        `  qkdnet kme stream get ${TLS_EXAMPLE} --ksid KSID --count 2 --format json\n` +
        `  qkdnet kme stream close ${TLS_EXAMPLE} --ksid KSID\n`,
    );

  common(stream.command('open'))
    .description('OPEN_CONNECT: reserve a key stream between --source and --destination (one of them is you)')
    .option('--source <sae>', 'source application (SAE ID or urn:qkdnet:sae:<id>)')
    .option('--destination <sae>', 'destination application')
    .option('--ksid <uuid>', 'join this key stream (given by the peer, or agreed in advance)')
    .option('--chunk-size <bytes>', 'QoS key_chunk_size: bytes per chunk (default: the KME chooses, 32)')
    .option('--max-bps <n>', 'QoS max_bps: peak rate in bit/s (the KME spaces chunks accordingly)')
    .option('--min-bps <n>', 'QoS min_bps: lowest acceptable rate in bit/s')
    .option('--jitter <n>', 'QoS jitter in bit/s (recorded)')
    .option('--priority <n>', 'QoS priority (a hint)')
    .option('--timeout <ms>', 'QoS timeout in ms for every call of the stream (default 5000)')
    .option('--ttl <s>', 'QoS TTL in seconds: unused chunks older than this are erased (default 3600)')
    .option('--mimetype <type>', 'QoS metadata_mimetype (only application/json is supported)')
    .addHelpText(
      'after',
      `\nExample:\n  qkdnet kme stream open ${TLS_EXAMPLE} --source sae-a --destination sae-b --ttl 60\n`,
    )
    .action(
      async (
        o: Flags & {
          source?: string;
          destination?: string;
          ksid?: string;
          chunkSize?: string;
          maxBps?: string;
          minBps?: string;
          jitter?: string;
          priority?: string;
          timeout?: string;
          ttl?: string;
          mimetype?: string;
        },
      ) => {
        const format = parseFormat(o.format, ['table', 'json'] as const);
        if (!o.source || !o.destination) throw new UsageError('--source and --destination are required');
        const ksid = ksidOf(o.ksid, false);
        const qos: QosRequest = {
          keyChunkSize: u32(o.chunkSize, '--chunk-size'),
          maxBps: u32(o.maxBps, '--max-bps'),
          minBps: u32(o.minBps, '--min-bps'),
          jitter: u32(o.jitter, '--jitter'),
          priority: u32(o.priority, '--priority'),
          timeoutMs: u32(o.timeout, '--timeout'),
          ttlS: u32(o.ttl, '--ttl'),
          metadataMimetype: o.mimetype,
        };
        const client = connect(o);
        try {
          const r = await client.openConnect(o.source, o.destination, {
            qos,
            ...(ksid ? { keyStreamId: ksid } : {}),
          });
          report(
            {
              status: r.status,
              ...(r.keyStreamId ? { key_stream_id: r.keyStreamId } : {}),
              ...(r.qos ? { qos: r.qos } : {}),
            },
            format,
          );
        } finally {
          client.destroy();
        }
      },
    );

  common(stream.command('get'))
    .description('GET_KEY: take the next chunk(s) of a key stream (or the chunk at --index)')
    .option('--ksid <uuid>', 'the key stream')
    .option('--index <n>', 'the chunk index to take (default: this end’s next one)')
    .option('--count <n>', 'chunks to take one after another', '1')
    .option('--metadata-size <n>', 'accept metadata up to this many characters (Table 3: age, hops)')
    .addHelpText(
      'after',
      `\nExample:\n  qkdnet kme stream get ${TLS_EXAMPLE} --ksid KSID --metadata-size 64 --format json\n`,
    )
    .action(async (o: Flags & { ksid?: string; index?: string; count: string; metadataSize?: string }) => {
      const format = parseFormat(o.format, ['table', 'json'] as const);
      const ksid = ksidOf(o.ksid, true)!;
      const index = u32(o.index, '--index');
      const count = parseNumber(o.count, '--count', { min: 1, max: 10_000, integer: true });
      if (index !== undefined && count > 1) throw new UsageError('--index takes one chunk: drop --count');
      const metadataSize = u32(o.metadataSize, '--metadata-size');
      const client = connect(o);
      try {
        const chunks: Record<string, unknown>[] = [];
        let status: number = STATUS.SUCCESS;
        for (let i = 0; i < count && status === STATUS.SUCCESS; i++) {
          const r = await client.getKey(ksid, {
            ...(index !== undefined ? { index } : {}),
            ...(metadataSize !== undefined ? { metadataSize } : {}),
          });
          status = r.status;
          if (r.status === STATUS.SUCCESS)
            chunks.push({
              index: r.index,
              key_buffer: Buffer.from(r.key!).toString('base64'),
              ...(r.metadata ? { metadata: r.metadata } : {}),
            });
          else if (r.metadataSize !== undefined) chunks.push({ metadata_size_needed: r.metadataSize });
        }
        if (format === 'json') report({ status, chunks }, 'json');
        else {
          process.stdout.write(
            `${formatTable(
              ['index', 'bytes', 'key_buffer (base64)'],
              chunks.map((c) => [
                String(c.index ?? ''),
                String(c.key_buffer ? Buffer.from(c.key_buffer as string, 'base64').length : ''),
                String(c.key_buffer ?? JSON.stringify(c)),
              ]),
            )}\n`,
          );
          process.stdout.write(`status ${status} ${STATUS_NAMES[status] ?? 'UNKNOWN'}\n`);
          if (status !== STATUS.SUCCESS) process.exitCode = 1;
        }
      } finally {
        client.destroy();
      }
    });

  common(stream.command('close'))
    .description(
      'CLOSE: end this SAE’s side of a key stream (unused chunks are erased once both ends closed)',
    )
    .option('--ksid <uuid>', 'the key stream')
    .addHelpText('after', `\nExample:\n  qkdnet kme stream close ${TLS_EXAMPLE} --ksid KSID\n`)
    .action(async (o: Flags & { ksid?: string }) => {
      const format = parseFormat(o.format, ['table', 'json'] as const);
      const ksid = ksidOf(o.ksid, true)!;
      const client = connect(o);
      try {
        report({ status: (await client.close(ksid)).status, key_stream_id: ksid }, format);
      } finally {
        client.destroy();
      }
    });
}
