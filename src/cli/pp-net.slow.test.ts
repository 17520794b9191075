import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTwoProcesses } from './pp-net.ts';
import type { ReconcileEndReport } from './pp-reconcile.ts';
import { measureReconcileMemory, measureReconcileTcp } from './commands/reconcile.ts';

const small = [
  '--mode',
  'reconcile',
  '--qber',
  '0.03',
  '--block-size',
  '2000',
  '--frames',
  '6',
  '--window',
  '3',
];

test('over tcp (two processes, 2 ms round trip) every frame verifies with the same figures as in one process', async () => {
  for (const algorithm of ['cascade-improved', 'cascade-original']) {
    const p = {
      mode: 'reconcile' as const,
      algorithm,
      qber: 0.03,
      blockSize: 2000,
      frames: 6,
      window: 3,
      seed: 'tcp',
    };
    const tcp = await measureReconcileTcp(p, 2);
    const mem = await measureReconcileMemory(p);
    // Every frame still wrong after error correction (Cascade misses ≈ 1% of 2000-bit frames at 3%) is
    // discarded by verification, and only those.
    assert.equal(tcp.frames_discarded, Math.round(tcp.frame_error_rate * 6), algorithm);
    assert.ok(tcp.frames_discarded <= 1, `${algorithm}: ${tcp.frames_discarded} frames discarded`);
    // Conformance over the channel: the same seed gives the same reconciliation whatever carries it.
    for (const k of [
      'efficiency_mean',
      'round_trips_mean',
      'leaked_bits_mean',
      'frame_error_rate',
      'frames_discarded',
    ] as const)
      assert.equal(tcp[k], mem[k], `${algorithm} ${k}`);
    assert.ok(tcp.bytes_exchanged! > 0 && tcp.cpu_seconds_alice > 0 && tcp.cpu_seconds_bob > 0);
    assert.equal(tcp.channel, 'tcp');
  }
});

test('a peer with different parameters is refused at the handshake, naming the parameter; nothing runs', async () => {
  const r = await runTwoProcesses<ReconcileEndReport>({
    args: [...small, '--seed', 'hs', '--no-warmup'],
    bobArgs: ['--qber', '0.05'],
    rttMs: 0,
  });
  assert.equal(r.alice.code, 1);
  assert.equal(r.bob.code, 1);
  assert.match(r.alice.error!, /refused the peer: parameter qber differs \(this end: 0\.03, peer: 0\.05\)/);
  assert.match(r.bob.error!, /the peer refused: parameter qber differs/);
  assert.equal(r.alice.report, null);
  assert.equal(r.bob.report, null);
});

test('the proxy cutting the connection mid-frame aborts the open frames at both ends with a clear line', async () => {
  const r = await runTwoProcesses<ReconcileEndReport>({
    args: [...small, '--frames', '40', '--seed', 'cut', '--no-warmup'],
    rttMs: 0,
    loss: 0.02,
    lossMode: 'reset',
  });
  assert.ok(r.proxy.lossEvents >= 1);
  for (const end of [r.alice, r.bob]) {
    assert.equal(end.code, 1);
    assert.equal(end.report, null); // no report, no frame counted as delivered
    assert.match(
      end.error!,
      /^qkdnet: the peer disconnected with \d+ unit\(s\) open .* discarded at this end$/,
    );
  }
});

test('lanes over tcp: Bob in two worker threads, one connection each, every frame verified; ends must agree on lanes', async () => {
  const p = {
    mode: 'reconcile' as const,
    algorithm: 'ldpc',
    qber: 0.03,
    blockSize: 4000,
    frames: 6,
    window: 3,
    seed: 'tcp-lanes',
    threads: 2,
  };
  const tcp = await measureReconcileTcp(p, 2);
  const mem = await measureReconcileMemory(p);
  assert.equal(tcp.threads, 2);
  assert.equal(tcp.frames_discarded, 0);
  assert.equal(tcp.frame_error_rate, 0);
  for (const k of ['efficiency_mean', 'round_trips_mean', 'leaked_bits_mean'] as const)
    assert.equal(tcp[k], mem[k], k);
  const r = await runTwoProcesses<ReconcileEndReport>({
    args: [...small, '--algorithm', 'ldpc', '--threads', '2'],
    rttMs: 0,
    bobArgs: ['--threads', '1'],
  });
  assert.notEqual(r.bob.code, 0);
  assert.match(r.bob.error ?? '', /parameter (lane|threads) differs/);
});
