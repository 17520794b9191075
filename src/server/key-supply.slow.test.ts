import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KmeHandle, SupplyItem } from '../kms/index.ts';
import { resolveLinkParams } from '../network/index.ts';
import { LinkKeySupply, type KeySupplyOptions } from './key-supply.ts';

// The worker runs the real link engine and post-processing on 10⁹-pulse blocks of a 12 km GYS link
// (seeded). Fake KME handles record what they are given; only metadata is compared, never printed.
function recorder(id: string): { handle: KmeHandle; items: { peer: string; item: SupplyItem }[] } {
  const items: { peer: string; item: SupplyItem }[] = [];
  const handle = {
    id,
    supply: (peer: string, item: SupplyItem) => (
      items.push({
        peer,
        item: { ...item, key: new Uint8Array((item as { key: Uint8Array }).key) } as SupplyItem,
      }),
      1
    ),
  } as unknown as KmeHandle;
  return { handle, items };
}

type Outcome = { bits: number } | { reason: string };

/**
 * Runs the key supply of one 12 km GYS link between two recording KMEs (options `over` replace the
 * defaults) until `n` blocks have an outcome, then closes it.
 */
async function supplyBlocks(over: Partial<KeySupplyOptions>, n = 1) {
  const a = recorder('kme-a');
  const b = recorder('kme-b');
  const outcomes: Outcome[] = [];
  let enough!: () => void;
  // The overall timeout also keeps the event loop alive while the (unreferenced) worker computes.
  let guard: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve, reject) => {
    enough = resolve;
    guard = setTimeout(() => reject(new Error(`fewer than ${n} block outcomes in 10 min`)), 600_000);
  });
  const s: LinkKeySupply = new LinkKeySupply({
    links: [{ id: 'a-b', from: 'a', to: 'b', params: resolveLinkParams('gys', []), distanceKm: 12 }],
    kmes: new Map([
      ['a', a.handle],
      ['b', b.handle],
    ]),
    seed: 'test',
    usable: () => true,
    attackOf: () => null,
    nowNs: () => 0,
    onBlock: (_id, o) => {
      outcomes.push(o);
      if (outcomes.length === n) enough();
    },
    ...over,
  });
  try {
    await done;
  } finally {
    clearTimeout(guard);
    await s.close();
  }
  return { a, b, outcomes, s };
}

test('the key worker distils final key and supplies the same block to both KMEs', async () => {
  const { a, b, outcomes, s } = await supplyBlocks({});
  const first = outcomes[0]!;
  assert.ok('bits' in first, JSON.stringify(first));
  // Lim et al. 2014 finite-key length for ~10⁷ detections at 12 km: order 10⁵ bits (measured ≈1.9·10⁵).
  assert.ok(first.bits > 5e4 && first.bits < 1e6, String(first.bits));
  assert.equal(a.items.length, 1);
  assert.equal(a.items[0]!.peer, 'kme-b');
  assert.equal(b.items[0]!.peer, 'kme-a');
  const ia = a.items[0]!.item as { blockId: string; bits: number; key: Uint8Array };
  const ib = b.items[0]!.item as { blockId: string; bits: number; key: Uint8Array };
  assert.equal(ia.blockId, ib.blockId);
  assert.equal(ia.bits, first.bits);
  assert.ok(Buffer.from(ia.key).equals(Buffer.from(ib.key)), 'both ends hold the same key');
  assert.equal(s.stats('a-b')!.bits, first.bits);
});

test('a block under intercept-resend is refused by post-processing and nothing reaches the KMEs', async () => {
  const { a, b, outcomes, s } = await supplyBlocks({
    pulsesPerBlock: 3e8,
    attackOf: () => ({ kind: 'intercept-resend', param: 1 }),
  });
  assert.ok('reason' in outcomes[0]!, JSON.stringify(outcomes[0]));
  assert.equal(a.items.length + b.items.length, 0);
  assert.equal(s.stats('a-b')!.failed, 1);
});
