/**
 * Who is calling, and who answers: certificate identities bound to roles. A KME accepts a caller only
 * when (1) the TLS handshake verified its chain to the configured CA, (2) the certificate carries
 * exactly one qkdnet role (./roles.ts: an EKU OID written by `qkdnet pki issue --kind`), (3) a configured
 * principal of that role has the certificate's subject CN (`certSubject`, default its id), (4) the
 * principal's pin, if any, matches — SPKI SHA-256 (a new key pair under a known name fails) and/or the
 * full subject and issuer DNs — and (5) the serial is not in the current CRL (./crl.ts). A certificate
 * of one role never matches a principal of another, whatever its CN. Clients check the KME they reach
 * the same way (`serverCheck`): the kme role, the KME id as a DNS subjectAltName, the pin, the CRL.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { normSerial } from './crl.ts';
import { ROLE_ARC, roleOfCertificate } from './roles.ts';

/** How a configured principal's certificate is pinned (any field given must match). */
export interface CertPin {
  /** Accepted SPKI SHA-256 hashes (base64, as `qkdnet pki issue` prints them, or hex). */
  readonly spkiSha256?: readonly string[];
  /** Full subject DN, e.g. `O=qkdnet, OU=sae, CN=sae-a` (attribute order as in the certificate). */
  readonly subject?: string;
  /** Full issuer DN, e.g. `O=qkdnet, CN=qkdnet CA`. */
  readonly issuer?: string;
}

/** A configured SAE, peer KME or QKD device (a module pushing key material, ETSI 004 push profile). */
export interface Principal {
  readonly kind: 'sae' | 'kme' | 'device';
  readonly id: string;
  /** Subject CN its certificate must carry (default `id`). */
  readonly certSubject?: string;
  readonly pin?: CertPin;
}

/** An authenticated caller: an SAE, peer KME or QKD device by its configured id, a `metrics` scraper or an `sdn` controller. */
export type Caller = { readonly kind: 'sae' | 'kme' | 'metrics' | 'sdn' | 'device'; readonly id: string };

/** SPKI SHA-256 of a certificate (PEM text, DER or X509Certificate), base64. */
export function spkiSha256(cert: string | Buffer | X509Certificate): string {
  const x = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  const der = x.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

const normPin = (p: string) =>
  /^[0-9a-fA-F]{64}$/.test(p) ? Buffer.from(p, 'hex').toString('base64') : p.replace(/^sha256\//, '');

/** A DN as its ordered list of `ATTR=value` (from a certificate's newline form or `A=x, B=y` / `/A=x/B=y`). */
export function normDn(dn: string): string {
  return dn
    .split(/\n|,(?=\s*[A-Za-z.0-9]+=)|\/(?=[A-Za-z.0-9]+=)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const i = s.indexOf('=');
      return `${s.slice(0, i).trim().toUpperCase()}=${s.slice(i + 1).trim()}`;
    })
    .join(',');
}

/** True when `x` satisfies `pin` (every field given must match). */
export function pinMatches(x: X509Certificate, pin: CertPin | undefined): boolean {
  if (!pin) return true;
  if (pin.spkiSha256 && !pin.spkiSha256.map(normPin).includes(spkiSha256(x))) return false;
  if (pin.subject !== undefined && normDn(pin.subject) !== normDn(x.subject)) return false;
  if (pin.issuer !== undefined && normDn(pin.issuer) !== normDn(x.issuer)) return false;
  return true;
}

/** Identifies callers of one KME from their verified client certificates. */
export class IdentityBook {
  readonly #byRoleAndCn = new Map<string, Principal>();
  readonly #caSubjects: ReadonlySet<string>;

  /** `cas`: the configured CA certificates (a principal without an issuer pin must chain to one). */
  constructor(principals: readonly Principal[], cas: readonly X509Certificate[]) {
    for (const p of principals) this.#byRoleAndCn.set(`${p.kind}\0${p.certSubject ?? p.id}`, p);
    this.#caSubjects = new Set(cas.map((c) => normDn(c.subject)));
  }

  /**
   * The caller a certificate proves, or null. `authorized` is the TLS layer's chain verdict;
   * `revoked(serial)` consults the current CRL.
   */
  identify(
    cert: PeerCertificate | undefined,
    authorized: boolean,
    revoked: (serial: string) => boolean,
  ): Caller | null {
    if (!authorized || !cert?.raw || typeof cert.subject?.CN !== 'string') return null;
    if (revoked(normSerial(cert.serialNumber))) return null;
    const role = roleOfCertificate(cert);
    if (role === 'metrics') return { kind: 'metrics', id: cert.subject.CN };
    if (role === 'sdn') return { kind: 'sdn', id: cert.subject.CN };
    if (role !== 'sae' && role !== 'kme' && role !== 'device') return null;
    const p = this.#byRoleAndCn.get(`${role}\0${cert.subject.CN}`);
    if (!p) return null;
    const x = new X509Certificate(cert.raw);
    if (p.pin?.issuer === undefined && !this.#caSubjects.has(normDn(x.issuer))) return null;
    return pinMatches(x, p.pin) ? { kind: p.kind, id: p.id } : null;
  }
}

/** What a client expects of the KME it connects to. */
export interface KmeExpectation {
  /**
   * `required` (default; qkdnet peers): the certificate must carry the qkdnet kme role. `if-present`
   * (SAE clients, which may talk to another vendor's KME): a certificate with a qkdnet role must have the
   * kme role, one from a foreign PKI without any qkdnet role is judged by the other checks alone.
   */
  readonly role?: 'required' | 'if-present';
  /** The KME's id: its certificate must name it as a DNS subjectAltName. */
  readonly kmeId?: string;
  /** Its pin (SPKI SHA-256 and/or subject/issuer DNs). */
  readonly pin?: CertPin;
  /** The current CRL's verdict on a serial number. */
  readonly revoked?: (serial: string) => boolean;
}

/**
 * A `checkServerIdentity` for TLS clients of a KME: Node's host-name check, then the kme role (see
 * `role`), the expected KME id among the DNS SANs, the SPKI pin and the CRL. Returns an Error to refuse.
 */
export function serverCheck(expect: KmeExpectation) {
  return (host: string, cert: PeerCertificate): Error | undefined => {
    const base = checkServerIdentity(host, cert);
    if (base) return base;
    const role = roleOfCertificate(cert);
    const anyRole = (cert.ext_key_usage ?? []).some((o) => o.startsWith(`${ROLE_ARC}.`));
    if (role !== 'kme' && (expect.role !== 'if-present' || anyRole))
      return new Error('the server certificate is not a KME certificate');
    if (expect.kmeId !== undefined) {
      const sans = (cert.subjectaltname ?? '').split(/,\s*/);
      if (!sans.includes(`DNS:${expect.kmeId}`))
        return new Error(`the server certificate does not name KME "${expect.kmeId}"`);
    }
    if (expect.pin && !pinMatches(new X509Certificate(cert.raw), expect.pin))
      return new Error('the server certificate does not match the pin');
    if (expect.revoked?.(normSerial(cert.serialNumber)))
      return new Error('the server certificate is revoked');
    return undefined;
  };
}
