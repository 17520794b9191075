/**
 * `qkdnet pki` — a CA and KME/SAE certificates for mutual TLS (ECDSA P-256, via the openssl command line;
 * see src/kms/pki.ts). `init --dir D` creates D/ca.pem + D/ca.key; `issue --dir D --name N --kind kme|sae`
 * creates D/N.pem + D/N.key whose subject CN is the KME or SAE ID.
 */
import type { Command } from 'commander';
import {
  createPki,
  isCertificateRole,
  issueCertificate,
  revokeCertificate,
  writeCrl,
} from '../../kms/index.ts';
import { UsageError } from '../util.ts';

/** Registers `qkdnet pki`. */
export function register(program: Command): void {
  const pki = program
    .command('pki')
    .description('create a CA and KME/SAE certificates for mutual TLS (ECDSA P-256)');

  pki
    .command('init')
    .description('create a certificate authority: DIR/ca.pem and DIR/ca.key (0600)')
    .requiredOption('--dir <dir>', 'directory for the CA (created if missing)')
    .option('--force', 'replace an existing CA (invalidates every certificate it issued)')
    .option('--json', 'print the file paths as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  qkdnet pki init --dir ./pki\n  qkdnet pki issue --dir ./pki --name kme-a --kind kme\n',
    )
    .action(async (o: { dir: string; force?: boolean; json?: boolean }) => {
      const p = await createPki(o.dir, { force: o.force === true });
      if (o.json) process.stdout.write(`${JSON.stringify(p)}\n`);
      else process.stdout.write(`CA created: ${p.caCert} (key ${p.caKey})\n`);
    });

  pki
    .command('issue')
    .description('issue DIR/NAME.pem + DIR/NAME.key signed by the CA in DIR; the subject CN is NAME')
    .requiredOption('--dir <dir>', 'directory holding the CA')
    .requiredOption('--name <name>', 'KME or SAE ID (subject CN), e.g. kme-a or sae-a')
    .requiredOption(
      '--kind <kind>',
      'kme (serverAuth+clientAuth, SANs localhost/127.0.0.1), sae, operator, viewer, metrics or sdn (an SDN controller reading ETSI GS QKD 015 data) (clientAuth); the role is bound into the certificate (src/kms/roles.ts)',
    )
    .option('--host <host...>', 'extra DNS names or IPs for a KME reachable elsewhere')
    .option('--force', 'replace an existing certificate of that name')
    .option('--json', 'print the file paths as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  qkdnet pki issue --dir ./pki --name kme-a --kind kme --host kme-a.example.net 10.0.0.5\n' +
        '  qkdnet pki issue --dir ./pki --name sae-a --kind sae\n',
    )
    .action(
      async (o: {
        dir: string;
        name: string;
        kind: string;
        host?: string[];
        force?: boolean;
        json?: boolean;
      }) => {
        if (!isCertificateRole(o.kind))
          throw new UsageError(
            `--kind: "${o.kind}" is not kme, sae, operator, viewer, metrics, sdn or device`,
          );
        const c = await issueCertificate(o.dir, o.name, o.kind, {
          force: o.force === true,
          hosts: o.host ?? [],
        });
        if (o.json) process.stdout.write(`${JSON.stringify(c)}\n`);
        else
          process.stdout.write(
            `${c.kind.toUpperCase()} certificate for "${c.name}": ${c.cert} (key ${c.key})\n` +
              `SPKI SHA-256 (pin it in the KME config: pin: { spkiSha256: [...] }): ${c.spkiSha256}\n`,
          );
      },
    );

  pki
    .command('revoke')
    .description('revoke DIR/NAME.pem and rewrite DIR/crl.pem (KMEs with tls.crl reload it within a second)')
    .requiredOption('--dir <dir>', 'directory holding the CA')
    .requiredOption('--name <name>', 'the certificate to revoke (DIR/NAME.pem)')
    .option('--cert <file>', 'revoke this certificate file instead (e.g. an old copy replaced with --force)')
    .option('--reason <reason>', 'keyCompromise, superseded or cessationOfOperation', 'keyCompromise')
    .option('--json', 'print the CRL path and serial as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  qkdnet pki revoke --dir ./pki --name sae-c\n' +
        '  kill -HUP <kme pid>    # optional: reload at once (KMEs also follow the file)\n',
    )
    .action(async (o: { dir: string; name: string; cert?: string; reason: string; json?: boolean }) => {
      const reasons = ['keyCompromise', 'superseded', 'cessationOfOperation'] as const;
      const reason = reasons.find((r) => r === o.reason);
      if (!reason) throw new UsageError(`--reason: "${o.reason}" is not ${reasons.join(', ')}`);
      const r = await revokeCertificate(o.dir, o.name, { reason, ...(o.cert ? { certFile: o.cert } : {}) });
      if (o.json) process.stdout.write(`${JSON.stringify({ name: o.name, ...r })}\n`);
      else process.stdout.write(`Revoked "${o.name}" (serial ${r.serial}); CRL written to ${r.crl}\n`);
    });

  pki
    .command('crl')
    .description('rewrite DIR/crl.pem (valid 30 days; run before it lapses)')
    .requiredOption('--dir <dir>', 'directory holding the CA')
    .addHelpText('after', '\nExample:\n  qkdnet pki crl --dir ./pki\n')
    .action(async (o: { dir: string }) => {
      process.stdout.write(`CRL written to ${await writeCrl(o.dir)}\n`);
    });
}
