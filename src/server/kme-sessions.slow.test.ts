import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csprngBlockSource, supplyBoth } from '../kms/index.ts';
import { attachLiveRelay } from '../network/index.ts';
import { startKmeFleet } from './kme-fleet.ts';
import { startKmeSessions } from './kme-sessions.ts';
import type { KmeSessionState } from './types.ts';

// Two real KMEs (HTTPS, mutual TLS, SQLite) on 127.0.0.1 with a fresh PKI. The link is fed with a
// CSPRNG stand-in block here: these tests are about the ETSI GS QKD 014 sessions, not the key's origin.
test('a session draws keys from both KMEs, and reports exhaustion when the link has none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-sessions-'));
  const fleet = await startKmeFleet(
    [
      { id: 'a', neighbours: ['b'] },
      { id: 'b', neighbours: ['a'] },
    ],
    dir,
    'silent',
  );
  try {
    const a = fleet.kmes.get('a')!;
    const b = fleet.kmes.get('b')!;
    const seen: KmeSessionState[] = [];
    // No key yet: the first draws fail with the catalogue's code.
    let stop = startKmeSessions({
      apps: [{ id: 'app', from: 'a', to: 'b' }],
      fleet,
      intervalMs: 50,
      onUpdate: (_id, s) => seen.push(s),
    });
    while (seen.length < 1) await new Promise((r) => setTimeout(r, 20));
    await stop();
    assert.equal(seen[0]!.delivered, 0);
    assert.equal(seen[0]!.lastError, 'KMS_KEY_EXHAUSTED');
    // 4 chunks of 256 bits; a master's KME owns every other chunk of a block (src/kms/supply.ts parity
    // rule, so both ends can serve as master without coordination): two keys for a → b, then exhaustion.
    supplyBoth(a, b, csprngBlockSource('a-b', 1024)());
    seen.length = 0;
    stop = startKmeSessions({
      apps: [{ id: 'app', from: 'a', to: 'b' }],
      fleet,
      intervalMs: 50,
      onUpdate: (_id, s) => seen.push(s),
    });
    while (seen.length < 6) await new Promise((r) => setTimeout(r, 20));
    await stop();
    const last = seen.at(-1)!;
    assert.equal(last.delivered, 2, JSON.stringify(seen));
    assert.match(last.lastKeyId ?? seen[1]!.lastKeyId!, /^[0-9a-f-]{36}$/);
    assert.equal(last.lastError, 'KMS_KEY_EXHAUSTED');
  } finally {
    await fleet.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// A relayed application (a and c share no link): each key is relayed a → b → c between the live KMEs
// over mutual TLS (src/network live-relay.ts), then drawn by the two SAEs exactly as a direct key.
test('a relayed session draws keys relayed through a trusted node, and reports the relay failing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-sessions-relay-'));
  const fleet = await startKmeFleet(
    [
      { id: 'a', neighbours: ['b', 'c'] },
      { id: 'b', neighbours: ['a', 'c'] },
      { id: 'c', neighbours: ['b', 'a'] },
    ],
    dir,
    'silent',
  );
  try {
    const k = (n: string) => fleet.kmes.get(n)!;
    const relays = new Map([...fleet.kmes].map(([n, kme]) => [n, attachLiveRelay(kme)]));
    // 4 chunks per link: a owns 2 of a–b and b owns 2 of b–c, so two keys can be relayed a → c.
    supplyBoth(k('a'), k('b'), csprngBlockSource('a-b', 1024)());
    supplyBoth(k('b'), k('c'), csprngBlockSource('b-c', 1024)());
    const seen: KmeSessionState[] = [];
    const stop = startKmeSessions({
      apps: [{ id: 'app', from: 'a', to: 'c', relayed: true }],
      fleet,
      relays,
      routeOf: () => [['a', 'b', 'c']],
      intervalMs: 50,
      onUpdate: (_id, s) => seen.push(s),
    });
    while (seen.length < 4) await new Promise((r) => setTimeout(r, 20));
    await stop();
    const last = seen.at(-1)!;
    assert.equal(last.delivered, 2, JSON.stringify(seen));
    assert.equal(last.lastError, 'relay failed at kme-a: no-link-key');
    assert.equal(k('a').level('kme-b').mineBytes, 0);
    assert.equal(k('b').level('kme-c').mineBytes, 0);
  } finally {
    await fleet.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
