/**
 * Event-level key generation for a network link: instead of adding `rate × time` bits, the link's pool
 * receives real final key blocks. Each block is `pulses` decoy-state BB84 pulses simulated detection by
 * detection by the link engine (src/qkd `simulateBlock`; Lo, Ma & Chen, PRL 94, 230504 (2005)) and
 * distilled by the post-processing pipeline (src/postprocess `runPipeline`: Cascade, verification,
 * finite-key privacy amplification after Lim et al., PRA 89, 022307 (2014), authentication). A block
 * stands for `pulses / repetitionRateHz` seconds of the link. A block that post-processing refuses
 * (finite-size estimate insecure, QBER too high under an attack, verification failure) adds nothing.
 * Key bytes, when materialised, are Alice's final key (Bob's is identical by construction; checked).
 * Blocks go through `distillBlock` (src/postprocess distill.ts) with the network's seed, the link id and the
 * block index, and the link's authentication pool carried from block to block.
 */
import type { LinkParams } from '../physics/index.ts';
import type { AttackSpec } from '../qkd/index.ts';
import { distillBlock, type AuthKeyPool, type KeyMode } from '../postprocess/index.ts';
import type { LinkKeySource } from './key-material.ts';
import { attackParam, type LinkAttack } from './runtime.ts';

/** What one event-level block gave. `key` (Alice's final key bytes) only when asked for. */
export type EventBlockOutcome =
  | { readonly ok: true; readonly bits: number; readonly key: Uint8Array | undefined }
  | { readonly ok: false; readonly reason: string };

/** The link engine's attack for a network attack (same names; the engine's default strength if unset). */
export function engineAttack(a: LinkAttack): AttackSpec {
  return { kind: a.kind, param: attackParam(a) };
}

/** One event-level block of a link. */
export interface EventBlockInput {
  /** The network's seed (physics streams: src/postprocess distill.ts). */
  readonly seed: string;
  readonly linkId: string;
  readonly blockId: number;
  readonly pulses: number;
  readonly params: LinkParams;
  readonly distanceKm: number;
  readonly attack: LinkAttack | null;
  /** Simulation time of the block (stamped on the final key). */
  readonly timeNs: number;
  /** Return Alice's key bytes (else they are wiped at once and only the count is returned). */
  readonly wantKey: boolean;
}

/** How a link distils: key bytes secret or seeded, and the link's authentication pool (carried). */
export interface EventLinkKeys {
  readonly keys: KeyMode;
  readonly authPool: AuthKeyPool;
}

/**
 * Simulates and post-processes one block (`distillBlock`: physics from (seed, link, block index), key bits
 * and PA seeds from node:crypto unless `keys` is deterministic, pads from the link's carried pool). Both
 * ends' copies are wiped before returning.
 */
export function runEventBlock(b: EventBlockInput, link: EventLinkKeys): EventBlockOutcome {
  const { result: r } = distillBlock(
    {
      seed: b.seed,
      linkId: b.linkId,
      blockIndex: b.blockId,
      pulses: b.pulses,
      params: b.params,
      distanceKm: b.distanceKm,
      ...(b.attack ? { attack: engineAttack(b.attack) } : {}),
      startNs: b.timeNs,
    },
    { keys: link.keys, authPool: link.authPool },
  );
  if (!r.ok) return { ok: false, reason: r.reason };
  const same =
    r.alice.bits === r.bob.bits &&
    Buffer.from(r.alice.key.buffer, r.alice.key.byteOffset, r.alice.key.length).equals(
      Buffer.from(r.bob.key.buffer, r.bob.key.byteOffset, r.bob.key.length),
    );
  const key = same && b.wantKey ? r.alice.key.slice() : undefined;
  r.alice.key.fill(0);
  r.bob.key.fill(0);
  if (!same) return { ok: false, reason: 'keys-differ' };
  return { ok: true, bits: r.stats.final_key_bits, key };
}

/**
 * The key bytes of an event-level link, in pool order: byte offsets are the pool's (KeyPool.take), the
 * first `initialBytes` are the scenario's initial fill (simulated material from `initial`), then the final
 * key blocks in the order they were added. Bytes before the last read are wiped and released.
 */
export class EventKeyStore implements LinkKeySource {
  readonly #initial: LinkKeySource;
  readonly #initialBytes: number;
  readonly #chunks: Uint8Array[] = [];
  /** Pool offset of the first byte of #chunks[0]. */
  #baseBytes: number;
  #endBytes: number;

  constructor(initial: LinkKeySource, initialBytes: number) {
    this.#initial = initial;
    this.#initialBytes = initialBytes;
    this.#baseBytes = initialBytes;
    this.#endBytes = initialBytes;
  }

  /** Appends key bytes the pool has just accepted (the store keeps them; the caller wipes its copy). */
  append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#chunks.push(bytes.slice());
    this.#endBytes += bytes.length;
  }

  /** Wipes everything stored (the pool was flushed). */
  flush(): void {
    for (const c of this.#chunks) c.fill(0);
    this.#chunks.length = 0;
    this.#baseBytes = this.#endBytes;
  }

  /** Bytes currently held (not yet consumed or flushed). */
  get heldBytes(): number {
    return this.#endBytes - this.#baseBytes;
  }

  read(offsetBytes: number, lengthBytes: number): Uint8Array {
    const out = new Uint8Array(lengthBytes);
    let i = 0;
    if (offsetBytes < this.#initialBytes) {
      const n = Math.min(lengthBytes, this.#initialBytes - offsetBytes);
      out.set(this.#initial.read(offsetBytes, n));
      i = n;
    }
    // Release chunks wholly before this read (FIFO: nothing earlier is read again).
    while (this.#chunks.length > 0 && this.#baseBytes + this.#chunks[0]!.length <= offsetBytes + i) {
      const c = this.#chunks.shift()!;
      this.#baseBytes += c.length;
      c.fill(0);
    }
    let pos = offsetBytes + i;
    if (i < lengthBytes && pos < this.#baseBytes)
      throw new RangeError(`event-level key bytes at offset ${pos} were already consumed`);
    let base = this.#baseBytes;
    for (const c of this.#chunks) {
      if (i >= lengthBytes) break;
      if (pos >= base + c.length) {
        base += c.length;
        continue;
      }
      const n = Math.min(lengthBytes - i, base + c.length - pos);
      out.set(c.subarray(pos - base, pos - base + n), i);
      i += n;
      pos += n;
      base += c.length;
    }
    if (i < lengthBytes) throw new RangeError(`event-level key store holds no bytes at offset ${pos}`);
    return out;
  }
}
