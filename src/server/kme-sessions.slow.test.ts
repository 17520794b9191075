import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csprngBlockSource, supplyBoth } from '../kms/index.ts';
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
