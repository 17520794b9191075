import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hybridPpk } from './hybrid-ppk.ts';
import { isNoKeyPolicy, NO_KEY_POLICIES, planPpk, planProvenance } from './exhaustion-policy.ts';

test('the policy table: what each policy does with and without a QKD key', () => {
  const t = (p: (typeof NO_KEY_POLICIES)[number], qkd: boolean, pqc = true) => {
    const plan = planPpk(p, qkd, pqc);
    return [plan.source, planProvenance(plan) ?? '-', 'alert' in plan ? plan.alert.kind : '-'].join(' ');
  };
  assert.equal(t('fail-closed', true), 'qkd qkd -');
  assert.equal(t('fail-closed', false), 'refuse - ipsec-no-qkd-key');
  assert.equal(t('pqc', true), 'qkd qkd -');
  assert.equal(t('pqc', false), 'pqc pqc ipsec-pqc-fallback');
  assert.equal(t('pqc', false, false), 'refuse - ipsec-no-qkd-key');
  assert.equal(t('hybrid', true), 'hybrid hybrid -');
  assert.equal(t('hybrid', false), 'pqc pqc ipsec-pqc-fallback');
  assert.equal(t('hybrid', true, false), 'refuse - ipsec-no-qkd-key');
});

test('every plan either names a PPK source or refuses, and every plan short of QKD carries an alert', () => {
  for (const p of NO_KEY_POLICIES)
    for (const qkd of [true, false])
      for (const pqc of [true, false]) {
        const plan = planPpk(p, qkd, pqc);
        assert.ok(['qkd', 'hybrid', 'pqc', 'refuse'].includes(plan.source));
        if (!qkd) assert.ok('alert' in plan, `${p} without QKD key alerts`);
        if (plan.source === 'pqc') assert.equal(plan.alert.severity, 'warning');
        if (plan.source === 'refuse') assert.equal(plan.alert.severity, 'critical');
      }
});

test('policy names', () => {
  assert.ok(isNoKeyPolicy('hybrid'));
  assert.ok(!isNoKeyPolicy('plaintext'));
});

test('hybridPpk is the byte-wise XOR and erases both inputs', () => {
  const a = Uint8Array.from([0xff, 0x00, 0xaa, 0x0f]);
  const b = Uint8Array.from([0x0f, 0xf0, 0xaa, 0x01]);
  assert.deepEqual([...hybridPpk(a, b)], [0xf0, 0xf0, 0x00, 0x0e]);
  assert.deepEqual([...a, ...b], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => hybridPpk(new Uint8Array(2), new Uint8Array(3)), RangeError);
});
