/** `qkdnet ipsec`: usage errors exit 2 with one line; without root the harness refuses with IPSEC_NOT_ROOT. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.ts';
import { requireRoot, benchTableForTest } from './cli.fixture.ts';

async function run(argv: string[]): Promise<{ code: number; err: string }> {
  const write = process.stderr.write.bind(process.stderr);
  let err = '';
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), err };
  } finally {
    process.stderr.write = write;
  }
}

test('bad flags exit 2 with one line naming the flag', async () => {
  for (const [argv, flag] of [
    [['ipsec', 'bench', '--runs', 'x'], '--runs'],
    [['ipsec', 'bench', '--runs', '0'], '--runs'],
    [['ipsec', 'bench', '--format', 'xml'], '--format'],
    [['ipsec', 'up', '--policy', 'open'], '--policy'],
    [['ipsec', 'up', '--auth', 'none'], '--auth'],
    [['ipsec', 'up', '--lifetime', '0'], '--lifetime'],
    [['ipsec', 'down', '--prefix', 'Bad Name'], '--prefix'],
    [['ipsec', 'bench', '--mode', 'plaintext'], '--mode'],
    [['ipsec', 'bench', '--concurrency', '4'], '--concurrency'],
    [['ipsec', 'bench', '--policy', 'pqc'], '--policy'],
    [['ipsec', 'bench', '--ues', '0'], '--ues'],
    [['ipsec', 'bench', '--ues', '5', '--policy', 'plaintext'], '--policy'],
    [['ipsec', 'bench', '--ues', '5', '--mode', 'cert-ecdsa'], '--mode'],
    [['ipsec', 'bench', '--ues', '5', '--concurrency', '0'], '--concurrency'],
    [['ipsec', 'bench', '--ues', '5', '--link', 'fibre'], '--link'],
    [['ipsec', 'bench', '--ues', '5', '--link', 'event-level', '--distance-km', '-3'], '--distance-km'],
    [['ipsec', 'up', '--policy', 'hybrid', '--lifetime', '0'], '--lifetime'],
    [['ipsec', 'bench', '--lifetime', '5'], '--lifetime'],
    [['ipsec', 'up', '--metrics', ':x'], '--metrics'],
    [['ipsec', 'bench', '--metrics', '127.0.0.1:9464'], '--metrics'],
    [['ipsec', 'bench', '--ues', '5', '--lifetime', '0'], '--lifetime'],
    [['ipsec', 'bench', '--ues', '5', '--mode', 'psk', '--lifetime', '5'], '--lifetime'],
    [['ipsec', 'bench', '--ues', '5', '--metrics', 'nowhere'], '--metrics'],
    [
      [
        'ipsec',
        'agent',
        '--role',
        'responder',
        '--vici',
        'v',
        '--kme',
        'https://k:1',
        '--cert',
        'c',
        '--key',
        'k',
        '--ca',
        'a',
        '--peer-sae',
        's',
        '--channel-key',
        'x',
        '--metrics',
        'host',
      ],
      '--metrics',
    ],
  ] as const) {
    const r = await run([...argv]);
    assert.equal(r.code, 2, argv.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1);
    assert.match(r.err, new RegExp(flag));
  }
});

test('without root the harness refuses with IPSEC_NOT_ROOT, naming what it could not do', () => {
  assert.throws(() => requireRoot(1000), {
    code: 'IPSEC_NOT_ROOT',
    message: /network namespaces and charon need root \(uid is 1000\)/,
  });
  assert.doesNotThrow(() => requireRoot(0));
});

test('the bench table prints ratios to psk and cert-ecdsa beside the published percentages', () => {
  const t = benchTableForTest();
  assert.match(
    t,
    /published: QKD 5\.17% faster than certificates \(×0\.9483\), 4\.62% faster than PSK \(×0\.9538\)/,
  );
  assert.match(t, /psk\+qkd-ppk .* 1\.100 /);
  assert.match(t, /target psk\+qkd-ppk with fetch ≤ 1\.05 × psk: 1\.100 × — NOT met/);
});
