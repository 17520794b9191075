/**
 * The second kind of randomness: secrets. Seeded streams (rng.ts) drive physics and statistics so that a
 * seed reproduces a run; anything that must stay unknown to an adversary who knows the seed — key bits in
 * live paths, privacy-amplification seeds, verification hash keys, Wegman–Carter hash keys and pads,
 * relay pads, PPKs, tokens — is drawn from a `SecretSource`. Pure code receives one as a parameter; the
 * process's source is `systemSecretSource` (node:crypto's CSPRNG, `randomFillSync`).
 *
 * `seededSecretSource(rng)` exists for one purpose only: `--deterministic-keys`, where key bytes must be
 * reproducible from the seed. Keys made that way carry provenance `simulated-deterministic` and are
 * refused to every SAE not marked `test: true` (docs/security.md).
 */
import { randomFillSync } from 'node:crypto';
import type { Rng } from './rng.ts';

/** Anything that fills words with random bits: a seeded `Rng` or a `SecretSource`. */
export interface RandomWords {
  /** Fills `out` with random 32-bit words and returns it. */
  fillUint32(out: Uint32Array): Uint32Array;
}

/** A source of secret random bits. `deterministic` is true only for the seeded test source. */
export interface SecretSource extends RandomWords {
  readonly deterministic: boolean;
  /** Fills `out` with random bytes and returns it. */
  fillBytes(out: Uint8Array): Uint8Array;
}

/** node:crypto's CSPRNG: what every live key, pad, seed and token comes from. */
export const systemSecretSource: SecretSource = Object.freeze({
  deterministic: false,
  fillUint32(out: Uint32Array): Uint32Array {
    return randomFillSync(out);
  },
  fillBytes(out: Uint8Array): Uint8Array {
    return randomFillSync(out);
  },
});

/**
 * A seeded stand-in for `systemSecretSource`: the numbers of `rng`, labelled deterministic. Only for
 * `--deterministic-keys` and tests; anyone who knows the seed recomputes what it gives.
 */
export function seededSecretSource(rng: Rng): SecretSource {
  return {
    deterministic: true,
    fillUint32: (out) => rng.fillUint32(out),
    fillBytes(out) {
      const w = rng.fillUint32(new Uint32Array(Math.ceil(out.length / 4)));
      out.set(new Uint8Array(w.buffer, 0, out.length));
      w.fill(0);
      return out;
    },
  };
}
