/**
 * The `hybrid` PPK: the QKD key XOR a key derived from an ML-KEM-768 shared secret (FIPS 203), both of the
 * PPK's length. The two inputs come from independent sources (the QKD link's final key; the KEM secret
 * through HKDF-SHA-256 bound to the PPK_ID, RFC 5869), so the XOR is uniformly distributed and secret to
 * anyone who lacks either input — the one-time-pad argument (C. E. Shannon, "Communication Theory of
 * Secrecy Systems", Bell Syst. Tech. J. 28, 656 (1949), Theorem 6): a broken ML-KEM leaves the QKD key's
 * secrecy, a QKD key leaked from a KME leaves ML-KEM's. Both inputs are erased here.
 */

/** Returns qkd ⊕ pqc (new array) and zeroes both inputs. Throws if the lengths differ. */
export function hybridPpk(qkd: Uint8Array, pqc: Uint8Array): Uint8Array {
  if (qkd.length !== pqc.length || qkd.length === 0) {
    qkd.fill(0);
    pqc.fill(0);
    throw new RangeError(
      `hybrid PPK inputs must have one non-zero length, got ${qkd.length} and ${pqc.length}`,
    );
  }
  const out = new Uint8Array(qkd.length);
  for (let i = 0; i < out.length; i++) out[i] = qkd[i]! ^ pqc[i]!;
  qkd.fill(0);
  pqc.fill(0);
  return out;
}
