import { test } from 'node:test';
import assert from 'node:assert/strict';

test('link simulate --postprocess --channel tcp runs the whole pipeline across two processes with equal keys', async () => {
  const { runCliInProcess } = await import('./run-in-process.ts');
  const args = [
    'link',
    'simulate',
    '--distance',
    '10',
    '--pulses',
    '1e9',
    '--postprocess',
    '--format',
    'json',
  ];
  const tcp = await runCliInProcess([...args, '--channel', 'tcp', '--rtt-ms', '1']);
  assert.equal(tcp.code, 0, tcp.err);
  const t = JSON.parse(tcp.out);
  const mem = JSON.parse((await runCliInProcess(args)).out);
  assert.equal(t.keys_equal, true);
  assert.ok(t.final_key_bits > 0 && t.wall_seconds > 0);
  // The quantum part is the same block; post-processing differs only in its fresh shuffle seeds.
  assert.equal(t.sifted_bits, mem.sifted_bits);
  assert.ok(
    Math.abs(t.final_key_bits / mem.final_key_bits - 1) < 0.02,
    `${t.final_key_bits} vs ${mem.final_key_bits}`,
  );
});
