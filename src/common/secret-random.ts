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
import { createCipheriv, hkdfSync, randomFillSync } from 'node:crypto';
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

/**
 * A secret stream two parties draw alike from a key only they share (e.g. a pre-shared key file): HKDF-
 * SHA-256 (RFC 5869) derives a 256-bit AES key from `key` and `label`, and the stream is the AES-256-CTR
 * keystream (NIST SP 800-38A §6.5) under it from a zero counter. Not recomputable from any seed, so
 * `deterministic` is false; each `label` gives an independent stream.
 */
export function keyedSecretSource(key: Uint8Array, label: string): SecretSource {
  if (key.length < 16) throw new RangeError(`keyedSecretSource: key of ${key.length} bytes (need ≥ 16)`);
  const aesKey = Buffer.from(hkdfSync('sha256', key, new Uint8Array(0), label, 32));
  const cipher = createCipheriv('aes-256-ctr', aesKey, Buffer.alloc(16));
  aesKey.fill(0);
  const fillBytes = (out: Uint8Array): Uint8Array => {
    const ks = cipher.update(new Uint8Array(out.length)); // keystream ⊕ zeros
    out.set(ks);
    ks.fill(0);
    return out;
  };
  return {
    deterministic: false,
    fillBytes,
    fillUint32(out: Uint32Array): Uint32Array {
      fillBytes(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
      return out;
    },
  };
}
