import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { BitArray, systemSecretSource } from '../common/index.ts';
import { AuthKeyPool, AuthSession, type Gf128, type SealedMessage } from '../postprocess/index.ts';
import { BLOCK_AUTH_RESERVATION_BITS } from './key-supply.ts';
import { LinkAuthPools } from './auth-pools.ts';

/** A pool that records every 128-bit value drawn from it (hash keys and pads alike). */
class RecordingPool extends AuthKeyPool {
  readonly drawn: Set<string>;
  readonly repeats: string[];
  constructor(bits: BitArray, drawn: Set<string>, repeats: string[]) {
    super(bits);
    this.drawn = drawn;
    this.repeats = repeats;
  }
  override take128(): Gf128 | null {
    const v = super.take128();
    if (v) {
      const hex = Buffer.from(v.buffer, v.byteOffset, 16).toString('hex');
      if (this.drawn.has(hex)) this.repeats.push(hex);
      this.drawn.add(hex);
    }
    return v;
  }
}

/**
 * One block's authentication as the pipeline does it (transcript mode): both ends draw from identical
 * copies of the reservation, exchange `messages` messages and one checkpoint per direction. `tamper`
 * flips one bit of Bob's checkpoint tag. Returns whether both checkpoints verified, and the bits used.
 */
function runBlock(
  reservation: AuthKeyPool,
  drawn: Set<string>,
  repeats: string[],
  messages: number,
  tamper: boolean,
): { ok: boolean; used: number; rest: BitArray } {
  const bits = reservation.remaining();
  reservation.wipe();
  const alice = new AuthSession('alice', new RecordingPool(bits, drawn, repeats), 'transcript');
  const bobPool = new AuthKeyPool(bits); // Bob's copy draws the same values: recorded once, at Alice's
  const bob = new AuthSession('bob', bobPool, 'transcript');
  const send = (tx: AuthSession, rx: AuthSession, body: unknown) => {
    const s = tx.seal(body);
    assert.ok(s.ok);
    assert.ok(rx.open(s.sealed).ok);
  };
  for (let i = 0; i < messages; i++) send(i % 2 ? bob : alice, i % 2 ? alice : bob, { i, parity: i & 1 });
  const ca = alice.checkpoint();
  assert.ok(ca.ok);
  const va = bob.verifyCheckpoint(ca.sealed);
  const cb = bob.checkpoint();
  assert.ok(cb.ok);
  const sealed: SealedMessage<unknown> = tamper
    ? { ...cb.sealed, tag: Uint32Array.from(cb.sealed.tag, (w, i) => (i === 0 ? w ^ 1 : w)) }
    : cb.sealed;
  const vb = alice.verifyCheckpoint(sealed);
  // What Alice's session did not draw goes back; Bob's copy is identical and is dropped.
  bobPool.wipe();
  const used = alice.bitsUsed;
  const rest = bits.slice(used);
  bits.wipe();
  return { ok: va.ok && vb.ok, used, rest };
}

// The pool is written (and fsynced) twice per block: on tmpfs when there is one, so 1,200 blocks take
// seconds rather than a minute of disk syncs; the files and their handling are the same.
const FAST_TMP = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

test('authentication pads: unique across 1,200 blocks, a crash and a restart; a tampered tag is still rejected', () => {
  const dir = mkdtempSync(join(FAST_TMP, 'qkdnet-auth-pools-'));
  try {
    const poolDir = join(dir, 'auth-pools');
    const drawn = new Set<string>();
    const repeats: string[] = [];
    const bootstrap = () => new AuthKeyPool(BitArray.random(2 ** 14, systemSecretSource));
    let pools = new LinkAuthPools(poolDir);
    pools.open('a-b', bootstrap);
    const indices: number[] = [];
    const block = (messages: number, tamper = false) => {
      const r = pools.reserve('a-b', BLOCK_AUTH_RESERVATION_BITS);
      assert.ok(r, 'pool never runs dry: each block replenishes what it used');
      indices.push(r.blockIndex);
      const out = runBlock(r.pool, drawn, repeats, messages, tamper);
      // Replenish from fresh final key (here fresh secret bits) only when the block gave key.
      const fresh = out.ok ? BitArray.random(out.used, systemSecretSource) : new BitArray(0);
      const back = new BitArray(out.rest.length + fresh.length);
      for (let i = 0; i < out.rest.length; i++) back.set(i, out.rest.get(i));
      for (let i = 0; i < fresh.length; i++) back.set(out.rest.length + i, fresh.get(i));
      pools.settle('a-b', back);
      return out.ok;
    };
    // Property: whatever the blocks' message counts, no 128-bit value is drawn twice.
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 100, maxLength: 100 }), (counts) => {
        for (const m of counts) assert.equal(block(m), true);
        return repeats.length === 0;
      }),
      { numRuns: 10 },
    );
    // A crash: a block reserved and never settled. Its bits are never issued again.
    const lost = pools.reserve('a-b', BLOCK_AUTH_RESERVATION_BITS)!;
    const lostBits = lost.pool.remaining();
    // Restart from the files alone.
    pools = new LinkAuthPools(poolDir);
    pools.open('a-b', () => assert.fail('a restart must load the pool, not bootstrap a new one'));
    const seenAfter = new Set<string>();
    for (let b = 0; b < 200; b++) {
      const before = drawn.size;
      assert.equal(block(b % 5), true);
      for (const v of [...drawn].slice(before)) seenAfter.add(v);
    }
    for (let i = 0; i + 128 <= lostBits.length; i += 128) {
      const chunk = lostBits.slice(i, i + 128);
      const hex = Buffer.from(chunk.words.buffer, chunk.words.byteOffset, 16).toString('hex');
      assert.equal(seenAfter.has(hex), false, 'a crashed block’s reservation is never drawn again');
    }
    // A tampered checkpoint tag fails verification, with pads still never reused.
    assert.equal(block(3, true), false);
    assert.equal(block(3), true);
    assert.deepEqual(repeats, []);
    assert.ok(drawn.size >= 1_200 * 3, `${drawn.size} values drawn`);
    // Block indices go on across the crash and the restart, never repeating.
    assert.ok(indices.every((x, i) => i === 0 || x > indices[i - 1]!));
    assert.equal(indices.includes(lost.blockIndex), false);
    assert.equal(indices[1000], lost.blockIndex + 1);
    // Files: 0600 in a 0700 directory.
    assert.equal(statSync(poolDir).mode & 0o777, 0o700);
    for (const f of readdirSync(poolDir)) assert.equal(statSync(join(poolDir, f)).mode & 0o777, 0o600, f);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a pool file that is not one is refused with a clear error, not replaced', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-auth-pools-'));
  try {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'x.pool'), 'garbage');
    const pools = new LinkAuthPools(dir);
    assert.throws(
      () => pools.open('x', () => new AuthKeyPool(new BitArray(128))),
      /authentication pool .* is unreadable \(not a pool file\)/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
