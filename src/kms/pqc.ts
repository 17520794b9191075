/**
 * Post-quantum keys between two end KMEs: ML-KEM-768 (NIST FIPS 203, 2024) through @noble/post-quantum,
 * and the key derivation that turns its shared secret into application keys, alone (`pqc`) or combined
 * with a QKD key (`hybrid`). The hybrid combiner is the concatenation KDF of ETSI TS 103 744 §8.2 and
 * NIST SP 800-56C Rev. 2 §5: HKDF-SHA-256 (RFC 5869) over IKM = QKD key ‖ ML-KEM secret, with a salt and
 * an info string that separate the two uses and bind the key_ID, so the result is secret as long as
 * EITHER input is (the QKD key's information-theoretic claim or ML-KEM's computational one). Nothing here
 * ever falls back to plaintext: without a shared secret there is no key.
 */
import { randomBytes } from 'node:crypto';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';

/** ML-KEM-768 sizes in bytes (FIPS 203 Table 3). */
export const ML_KEM_768 = {
  publicKeyBytes: 1184,
  secretKeyBytes: 2400,
  cipherTextBytes: 1088,
  sharedSecretBytes: 32,
} as const;

/** Source of random bytes; node:crypto by default, a seeded stream in simulations. */
export type RandomBytes = (n: number) => Uint8Array;

const defaultRandom: RandomBytes = (n) => new Uint8Array(randomBytes(n));

const enc = new TextEncoder();
const SALT_HYBRID = enc.encode('qkdnet/v1/hybrid-qkd-mlkem768');
const SALT_PQC = enc.encode('qkdnet/v1/pqc-mlkem768');

/** An ML-KEM-768 key pair (the decapsulating end keeps secretKey). */
export interface MlKemKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** Generates an ML-KEM-768 key pair from 64 random bytes (FIPS 203 ML-KEM.KeyGen, d ‖ z). */
export function mlKemKeygen(random: RandomBytes = defaultRandom): MlKemKeyPair {
  const { publicKey, secretKey } = ml_kem768.keygen(random(64));
  return { publicKey, secretKey };
}

/** Encapsulates to `publicKey`: returns the ciphertext to send and the shared secret (32 bytes). */
export function mlKemEncapsulate(
  publicKey: Uint8Array,
  random: RandomBytes = defaultRandom,
): { cipherText: Uint8Array; sharedSecret: Uint8Array } {
  if (publicKey.length !== ML_KEM_768.publicKeyBytes)
    throw new RangeError(
      `ML-KEM-768 public key must be ${ML_KEM_768.publicKeyBytes} bytes, got ${publicKey.length}`,
    );
  const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey, random(32));
  return { cipherText, sharedSecret };
}

/** Decapsulates `cipherText` with `secretKey` (implicit rejection: a bad ciphertext gives an unrelated secret). */
export function mlKemDecapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (cipherText.length !== ML_KEM_768.cipherTextBytes)
    throw new RangeError(
      `ML-KEM-768 ciphertext must be ${ML_KEM_768.cipherTextBytes} bytes, got ${cipherText.length}`,
    );
  return ml_kem768.decapsulate(cipherText, secretKey);
}

function info(keyId: string, context: string): Uint8Array {
  return enc.encode(`${context}\u0000${keyId}`);
}

/**
 * Hybrid key: HKDF-SHA-256(salt = "qkdnet/v1/hybrid-qkd-mlkem768", IKM = qkdKey ‖ pqcSecret,
 * info = context ‖ 0x00 ‖ keyId, L = lengthBytes).
 */
export function hybridKey(
  qkdKey: Uint8Array,
  pqcSecret: Uint8Array,
  keyId: string,
  lengthBytes: number,
  context = 'app',
): Uint8Array {
  if (qkdKey.length === 0 || pqcSecret.length === 0)
    throw new RangeError('hybridKey needs both a QKD key and an ML-KEM secret');
  const ikm = new Uint8Array(qkdKey.length + pqcSecret.length);
  ikm.set(qkdKey, 0);
  ikm.set(pqcSecret, qkdKey.length);
  const out = hkdf(sha256, ikm, SALT_HYBRID, info(keyId, context), lengthBytes);
  ikm.fill(0);
  return out;
}

/** PQC-only key: HKDF-SHA-256(salt = "qkdnet/v1/pqc-mlkem768", IKM = pqcSecret, info = context ‖ 0x00 ‖ keyId). */
export function pqcKey(
  pqcSecret: Uint8Array,
  keyId: string,
  lengthBytes: number,
  context = 'app',
): Uint8Array {
  if (pqcSecret.length === 0) throw new RangeError('pqcKey needs an ML-KEM secret');
  return hkdf(sha256, pqcSecret, SALT_PQC, info(keyId, context), lengthBytes);
}

/**
 * An ML-KEM-768 session between two end KMEs: the responder generates a key pair, the initiator
 * encapsulates, the responder decapsulates; both then hold the same 32-byte secret, from which keys are
 * derived per key_ID. `establish()` runs both ends in process (the simulator); live KMEs exchange
 * `publicKey` and `cipherText` over their mutual-TLS link and call the same functions.
 */
export function establishPqcSecret(random: RandomBytes = defaultRandom): {
  initiatorSecret: Uint8Array;
  responderSecret: Uint8Array;
  wireBytes: number;
} {
  const pair = mlKemKeygen(random);
  const { cipherText, sharedSecret } = mlKemEncapsulate(pair.publicKey, random);
  const responderSecret = mlKemDecapsulate(cipherText, pair.secretKey);
  pair.secretKey.fill(0);
  return {
    initiatorSecret: sharedSecret,
    responderSecret,
    wireBytes: pair.publicKey.length + cipherText.length,
  };
}
