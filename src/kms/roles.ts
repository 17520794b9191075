/**
 * Roles bound to certificates. qkdnet's PKI (./pki.ts) writes a role into every leaf certificate as an
 * extended-key-usage OID under a private arc, so that a certificate issued for one role can never pass
 * another role's checks whatever its subject CN says (an SAE certificate with CN `kme-b` is still an SAE
 * certificate). The arc is an ITU-T X.667 UUID OID (2.25.<128-bit UUID as an integer>), which needs no
 * registration. Servers read the EKU list from the peer certificate (`tls.PeerCertificate.ext_key_usage`
 * or `X509Certificate.keyUsage`).
 *
 * | role       | issued by                                   | may call                                   |
 * |------------|---------------------------------------------|--------------------------------------------|
 * | `kme`      | `qkdnet pki issue --kind kme`               | KME-to-KME routes of its configured peers   |
 * | `sae`      | `qkdnet pki issue --kind sae`               | ETSI GS QKD 014 (and 004) application routes|
 * | `operator` | `qkdnet pki issue --kind operator`          | dashboard / live API controls and reads     |
 * | `viewer`   | `qkdnet pki issue --kind viewer`            | dashboard / live API reads only             |
 * | `metrics`  | `qkdnet pki issue --kind metrics`           | `/metrics` only (a Prometheus scraper)      |
 * | `sdn`      | `qkdnet pki issue --kind sdn`               | ETSI GS QKD 015 RESTCONF reads (a controller)|
 * | `device`   | `qkdnet pki issue --kind device`            | pushing key material (ETSI 004 push profile)|
 */

/** The private arc under which qkdnet's role OIDs live. */
export const ROLE_ARC = '2.25.157489601159309082384276564628145444053';

/** Every certificate role qkdnet issues. */
export const ROLES = ['kme', 'sae', 'operator', 'viewer', 'metrics', 'sdn', 'device'] as const;
export type CertificateRole = (typeof ROLES)[number];

/** EKU OID of each role. */
export const ROLE_OID: Readonly<Record<CertificateRole, string>> = {
  kme: `${ROLE_ARC}.1`,
  sae: `${ROLE_ARC}.2`,
  operator: `${ROLE_ARC}.3`,
  viewer: `${ROLE_ARC}.4`,
  metrics: `${ROLE_ARC}.5`,
  sdn: `${ROLE_ARC}.6`,
  device: `${ROLE_ARC}.7`,
};

/** Standard EKUs each role's certificate also carries (for TLS itself). */
export const ROLE_TLS_EKU: Readonly<Record<CertificateRole, string>> = {
  kme: 'serverAuth,clientAuth',
  sae: 'clientAuth',
  operator: 'clientAuth',
  viewer: 'clientAuth',
  metrics: 'clientAuth',
  sdn: 'clientAuth',
  device: 'clientAuth',
};

export function isCertificateRole(s: string): s is CertificateRole {
  return (ROLES as readonly string[]).includes(s);
}

/**
 * The qkdnet role of a certificate, from its EKU OIDs; undefined when it carries none or more than one
 * (a certificate with two roles is refused everywhere: roles are exclusive).
 */
export function roleOfCertificate(
  cert: { readonly ext_key_usage?: readonly string[] } | { readonly keyUsage?: readonly string[] },
): CertificateRole | undefined {
  const ekus: readonly string[] =
    ('ext_key_usage' in cert ? cert.ext_key_usage : undefined) ??
    ('keyUsage' in cert ? cert.keyUsage : undefined) ??
    [];
  const found = ROLES.filter((r) => ekus.includes(ROLE_OID[r]));
  return found.length === 1 ? found[0] : undefined;
}
