import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../common/index.ts';
import { PRESETS } from '../physics/index.ts';
import { buildModel } from './model.ts';
import { sampleBlockCounts } from './count-sampler.ts';
import { countBlockKey, insecureKeyBits } from './insecure-key.ts';
import type { AttackSpec } from './types.ts';

const params = PRESETS.gys!.params;
// 2·10⁹ pulses ≈ 5·10⁶ sifted bits at 25 km: the finite-key estimate gives key from blocks this size
// (from 10⁵-bit blocks it gives none). Count-level sampling costs the same at any size.
const pulses = 2e9;

test('insecureKeyBits: the emitted bits beyond the entropy left to Eve, never more than emitted', () => {
  const f = { siftedBits: 1000, leakEcBits: 100, paOutputBits: 500, emittedBits: 480 };
  assert.equal(insecureKeyBits({ ...f, eveInformationBits: 400 }), 0); // 1000 − 400 − 100 = 500 left
  assert.equal(insecureKeyBits({ ...f, eveInformationBits: 450 }), 50);
  assert.equal(insecureKeyBits({ ...f, eveInformationBits: 1000 }), 480);
  assert.equal(insecureKeyBits({ ...f, emittedBits: 0, eveInformationBits: 1000 }), 0);
});

function blocks(attack: AttackSpec, n: number) {
  const cfg = (i: number) => ({ linkId: 'l', blockId: i, pulses, params, distanceKm: 25, attack });
  const model = buildModel(cfg(0));
  return Array.from({ length: n }, (_, i) => {
    const b = sampleBlockCounts(cfg(i), createRng(`insecure:${attack.kind}:${attack.param}:${i}`), model);
    return { block: b, key: countBlockKey(b, model) };
  });
}

const keyed: Record<string, number> = {};

// The estimate covers intercept-resend and PNS at every strength: whenever a block gives key, Eve's
// information (certain knowledge, eve_known_bits, for these attacks) stays within what it accounted for.
for (const attack of [
  ...[0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4].map((param) => ({ kind: 'intercept-resend', param })),
  ...[0.01, 0.03, 0.1, 0.3, 0.6, 1].map((param) => ({ kind: 'pns', param })),
] as AttackSpec[])
  test(`${attack.kind}:${attack.param} leaves no insecure key bits`, () => {
    for (const { block, key } of blocks(attack, 4)) {
      assert.equal(block.eveInformationBits, block.eveKnownBits); // no partial information in these attacks
      assert.equal(key.insecureBits, 0, `${key.keyBits} key bits, Eve knows ${block.eveKnownBits}`);
      keyed[attack.kind] = (keyed[attack.kind] ?? 0) + (key.keyBits > 0 ? 1 : 0);
    }
  });
test('…and those checks were not vacuous: weak intercept-resend and PNS blocks did give key', () => {
  assert.ok((keyed['intercept-resend'] ?? 0) >= 4, JSON.stringify(keyed));
  assert.ok((keyed.pns ?? 0) >= 4, JSON.stringify(keyed));
});

test('the measure is not vacuous: blinding and a bright Trojan horse leave key the attacker holds', () => {
  for (const attack of [
    { kind: 'blinding', param: 1 },
    { kind: 'trojan-horse', param: 1 },
  ] as AttackSpec[]) {
    const [{ block, key }] = blocks(attack, 1) as [ReturnType<typeof blocks>[number]];
    assert.ok(key.keyBits > 0, `${attack.kind}: the estimate refuses nothing`);
    assert.ok(key.insecureBits > 0.5 * key.keyBits, `${attack.kind}: ${key.insecureBits}/${key.keyBits}`);
    assert.ok(block.eveKnownBits > 0);
  }
});
