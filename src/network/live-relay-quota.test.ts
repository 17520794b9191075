// Per-SAE quotas cover relayed keys too: a relay requested for an SAE is charged to that SAE's quota at
// the source KME (the link keys its first hops consume), so one SAE's relayed requests cannot drain the
// share another SAE has reserved, nor exceed its own rate. Four live KMEs (live-relay.fixture.ts); KME A
// also serves sae-r (reserves all but 1,024 bits of each of A's pools), sae-x (no quota) and sae-y
// (rate-limited to a 512-bit burst).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KmeHandle } from '../kms/index.ts';
import type { LiveRelayNode } from './live-relay.ts';
import { startFourKmes, type FourKmes } from './live-relay.fixture.ts';

const POOL_BITS = 16_384; // A's half of a 4,096-byte block on each of its links
const RESERVE = POOL_BITS - 1024;
const viaB = [['kme-a', 'kme-b', 'kme-c']];
const viaD = [['kme-a', 'kme-d', 'kme-c']];

let net: FourKmes;
let a: KmeHandle;
let relay: LiveRelayNode;
before(async () => {
  net = await startFourKmes({
    extraSaes: (n) =>
      n === 'kme-a'
        ? [
            { id: 'sae-r', quota: { reserveBits: RESERVE } },
            { id: 'sae-x' },
            { id: 'sae-y', quota: { bitsPerSecond: 1, burstBits: 512 } },
          ]
        : [],
  });
  a = net.kme.get('kme-a')!;
  relay = net.relay.get('kme-a')!;
  await Promise.all([...net.kme.values()].map((k) => k.settled()));
});
after(() => net.close());

test("one SAE's relayed keys cannot drain the share another SAE reserved; that SAE still gets its relay", async () => {
  assert.equal(a.store.level('kme-b').mineBytes * 8, POOL_BITS);
  const outcomes: string[] = [];
  for (let i = 0; i < 8; i++) {
    const r = await relay.relayKey(viaB, 32, { sae: 'sae-x' });
    outcomes.push(r.ok ? 'ok' : r.reason);
  }
  // 1,024 unreserved bits = four 256-bit relays; then refused before any link key is taken.
  assert.deepEqual(outcomes, ['ok', 'ok', 'ok', 'ok', ...Array(4).fill('quota-exceeded')]);
  assert.equal(a.store.level('kme-b').mineBytes * 8, RESERVE);
  // A relay for nobody's quota (e.g. forwarded for another KME) leaves every reserve as well.
  const anon = await relay.relayKey(viaB, 32);
  assert.equal(anon.ok ? 'ok' : anon.reason, 'no-link-key');
  assert.equal(a.store.level('kme-b').mineBytes * 8, RESERVE);
  // The SAE whose share it is can use it.
  const own = await relay.relayKey(viaB, 32, { sae: 'sae-r' });
  assert.equal(own.ok, true, JSON.stringify(own));
});

test("a relayed key counts against its SAE's rate limit, and an unknown SAE is refused", async () => {
  const before = a.store.level('kme-d').mineBytes;
  const got: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await relay.relayKey(viaD, 32, { sae: 'sae-y' });
    got.push(r.ok ? 'ok' : r.reason);
  }
  assert.deepEqual(got, ['ok', 'ok', 'quota-exceeded']);
  assert.equal(a.store.level('kme-d').mineBytes, before - 64, 'the refused relay took no link key');
  const stranger = await relay.relayKey(viaD, 32, { sae: 'sae-nobody' });
  assert.equal(stranger.ok, false);
});
