/**
 * `insecure_key_bits` of `qkdnet link simulate --postprocess` on the real pipeline (Cascade, verification,
 * privacy amplification) for blocks big enough to give key (≈ 5·10⁶ sifted bits): intercept-resend leaves
 * none; blinding every pulse leaves key the attacker holds — and the figure is the formula of
 * src/qkd/insecure-key.ts applied to the printed eve_information_bits, sifted_bits, leak_ec_bits and key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCliInProcess } from '../run-in-process.ts';

const run = async (attack: string) => {
  const r = await runCliInProcess([
    'link',
    'simulate',
    '--preset',
    'gys',
    '--distance',
    '25',
    '--pulses',
    '2e9',
    '--seed',
    'insecure',
    '--attack',
    attack,
    '--postprocess',
    '--format',
    'json',
  ]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Record<string, number>;
};

test('link simulate --postprocess: intercept-resend gives key and none of it insecure', async () => {
  const j = await run('intercept-resend:0.01');
  assert.ok(j.final_key_bits! > 0, JSON.stringify(j));
  assert.ok(j.eve_known_bits! > 0);
  assert.equal(j.insecure_key_bits, 0);
  // Eve's certain knowledge stays inside what privacy amplification removed.
  assert.ok(j.eve_known_bits! <= j.sifted_bits! - j.leak_ec_bits! - j.final_key_bits!);
});

test('link simulate --postprocess: blinding every pulse leaves key the attacker holds', async () => {
  const j = await run('blinding:1');
  assert.ok(j.final_key_bits! > 0, JSON.stringify(j));
  assert.ok(j.insecure_key_bits! > 0);
  assert.equal(j.eve_information_bits, j.eve_known_bits);
  assert.ok(j.insecure_key_bits! <= j.final_key_bits!);
});
