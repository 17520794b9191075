/**
 * `qkdnet kme stream open|get|close` and `qkdnet kme device-push` from the command line (in-process) against
 * a live KME pair over mutual TLS: bad input is one line on stderr and exit 2 before any connection; a
 * stream opened at both ends gives the same chunk to both SAEs, printed as JSON.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestPki, startPair, type TestPki } from '../../kms/kme-pair.fixture.ts';
import type { KmeHandle } from '../../kms/index.ts';
import { runCliInProcess } from '../run-in-process.ts';

let pki: TestPki;
let a: KmeHandle;
let b: KmeHandle;
let close: () => Promise<void>;

before(async () => {
  pki = await makeTestPki();
  ({ a, b, close } = await startPair(pki, { blocks: 2 }));
});

after(async () => {
  await close();
  pki.cleanup();
});

const tlsOf = (sae: string, kme: KmeHandle) => {
  const t = pki.tls(sae);
  return ['--kme', kme.url, '--kme-id', kme.id, '--cert', t.cert, '--key', t.key, '--ca', t.ca];
};

// One test: the runner reports a finished test on stdout, which runCliInProcess would capture.
test('kme stream and device-push: bad input exits 2 with one line; open, get, close at both ends give equal chunks as JSON', async () => {
  const cases: [string[], RegExp][] = [
    [['kme', 'stream', 'open', ...tlsOf('sae-a', a), '--source', 'sae-a'], /--source and --destination/],
    [
      [
        'kme',
        'stream',
        'open',
        ...tlsOf('sae-a', a),
        '--source',
        'sae-a',
        '--destination',
        'sae-b',
        '--ttl',
        '-1',
      ],
      /--ttl/,
    ],
    [
      [
        'kme',
        'stream',
        'open',
        ...tlsOf('sae-a', a),
        '--source',
        'a',
        '--destination',
        'b',
        '--chunk-size',
        '1.5',
      ],
      /--chunk-size/,
    ],
    [['kme', 'stream', 'get', ...tlsOf('sae-a', a), '--ksid', 'not-a-uuid'], /--ksid/],
    [['kme', 'stream', 'get', ...tlsOf('sae-a', a)], /--ksid is required/],
    [['kme', 'stream', 'close', '--ksid', '00000000-0000-4000-8000-000000000000'], /--kme is required/],
    [
      [
        'kme',
        'stream',
        'get',
        ...tlsOf('sae-a', a),
        '--ksid',
        '00000000-0000-4000-8000-000000000000',
        '--format',
        'xml',
      ],
      /--format/,
    ],
    [
      ['kme', 'device-push', '--kme', a.url, '--cert', 'x', '--key', 'y', '--ca', 'z', '--chunks', 'many'],
      /--chunks/,
    ],
    [
      ['kme', 'device-push', '--kme', a.url, '--cert', 'x', '--key', 'y', '--ca', 'z'],
      /cannot read TLS files/,
    ],
  ];
  for (const [argv, re] of cases) {
    const r = await runCliInProcess(argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.equal(r.out, '');
  }

  const open = await runCliInProcess([
    'kme',
    'stream',
    'open',
    ...tlsOf('sae-a', a),
    '--source',
    'sae-a',
    '--destination',
    'sae-b',
    '--chunk-size',
    '24',
    '--format',
    'json',
  ]);
  assert.equal(open.code, 0, open.err);
  const o = JSON.parse(open.out) as {
    status: number;
    status_name: string;
    key_stream_id: string;
    qos: { keyChunkSize: number };
  };
  assert.equal(o.status, 1);
  assert.equal(o.status_name, 'PEER_NOT_CONNECTED');
  const ksid = o.key_stream_id;
  const join = await runCliInProcess([
    'kme',
    'stream',
    'open',
    ...tlsOf('sae-b', b),
    '--source',
    'sae-b',
    '--destination',
    'sae-a',
    '--ksid',
    ksid,
    '--format',
    'json',
  ]);
  assert.equal(join.code, 0, join.err);
  assert.equal((JSON.parse(join.out) as { status: number }).status, 0);
  const get = async (sae: string, kme: KmeHandle) => {
    const r = await runCliInProcess([
      'kme',
      'stream',
      'get',
      ...tlsOf(sae, kme),
      '--ksid',
      ksid,
      '--count',
      '2',
      '--format',
      'json',
    ]);
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as { status: number; chunks: { index: number; key_buffer: string }[] };
  };
  const x = await get('sae-a', a);
  const y = await get('sae-b', b);
  assert.deepEqual(
    x.chunks.map((c) => c.index),
    [0, 1],
  );
  assert.deepEqual(x.chunks, y.chunks);
  assert.equal(Buffer.from(x.chunks[0]!.key_buffer, 'base64').length, 24);
  for (const [sae, kme] of [
    ['sae-a', a],
    ['sae-b', b],
  ] as const) {
    const c = await runCliInProcess(['kme', 'stream', 'close', ...tlsOf(sae, kme), '--ksid', ksid]);
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, /SUCCESS/);
  }
  // A failing status (no such stream any more) exits 1.
  const gone = await runCliInProcess(['kme', 'stream', 'get', ...tlsOf('sae-a', a), '--ksid', ksid]);
  assert.equal(gone.code, 1);
  assert.match(gone.out, /NO_QKD_CONNECTION/);
});
