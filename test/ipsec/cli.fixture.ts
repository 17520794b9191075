/** Helpers of test/ipsec/cli.test.ts: requireRoot under a pretended uid, a fixed bench report. */
import { benchTable } from '../../src/cli/commands/ipsec.ts';
import { requireRoot as realRequireRoot, summarize } from '../../src/ipsec/index.ts';

/** Runs requireRoot() as if the process had `uid`. */
export function requireRoot(uid: number): void {
  const desc = Object.getOwnPropertyDescriptor(process, 'getuid');
  Object.defineProperty(process, 'getuid', { value: () => uid, configurable: true, writable: true });
  try {
    realRequireRoot('run qkdnet ipsec up');
  } finally {
    if (desc) Object.defineProperty(process, 'getuid', desc);
  }
}

/** The table for medians psk 4 ms, cert-ecdsa 8 ms, psk+qkd-ppk with fetch 4.4 ms. */
export function benchTableForTest(): string {
  return benchTable({
    runs: 1,
    modes: [
      summarize('cert-ecdsa', false, [8]),
      summarize('psk', false, [4]),
      summarize('psk+qkd-ppk', true, [4.4]),
    ],
  });
}
