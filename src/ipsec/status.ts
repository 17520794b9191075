// @edge: reads a running harness or scale run's SAs over VICI and its PPK ledger (`qkdnet ipsec status`)
/**
 * `qkdnet ipsec status`: for every private work directory of a prefix (a running `ipsec up`, or an
 * `ipsec bench --ues` in progress), the IKE SAs both charons report over VICI (`list-sas`: state,
 * `ppk = yes`, CHILD SAs) joined with the PPK ledger (./sa-ledger.ts) — the PPK_ID and provenance of each
 * SA. UE-side SAs are matched by IKE SA unique id; N3IWF-side SAs by the PPK_ID the N3IWF's charon logged
 * for them ("using PPK for PPK_ID", ./scale.ts `ppkIdsFromLog`). Only sockets and files of this user in
 * private directories are used (./workdir.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Provenance } from '../common/index.ts';
import { readLedger, type LedgerFile } from './sa-ledger.ts';
import { ppkIdsFromLog } from './scale.ts';
import { listSas } from './testbed.ts';
import { ViciClient } from './vici-client.ts';
import { assertOwnSocket, findWorkDirs } from './workdir.ts';

/** One SA row of the status. */
export interface StatusRow {
  readonly side: 'UE' | 'N3IWF';
  readonly conn: string;
  readonly ikeUniqueId: string;
  readonly state: string;
  readonly ppk: boolean;
  readonly ppkId: string | undefined;
  readonly provenance: Provenance | undefined;
  readonly children: string;
}

/** The status of one run. */
export interface RunStatus {
  readonly dir: string;
  readonly rows: readonly StatusRow[];
  readonly ledger: LedgerFile | undefined;
}

/** Reads every run of `prefix` in `parent` (default the OS temp dir). Root only, like the runs. */
export async function readRunStatus(prefix: string, parent: string = tmpdir()): Promise<RunStatus[]> {
  const out: RunStatus[] = [];
  for (const dir of findWorkDirs(prefix, parent)) {
    const ledger = readLedger(dir);
    const byIke = new Map((ledger?.sas ?? []).filter((s) => !s.retiredAt).map((s) => [s.ikeUniqueId, s]));
    const byKey = new Map((ledger?.sas ?? []).map((s) => [s.keyId, s]));
    const rows: StatusRow[] = [];
    for (const side of ['ue', 'n3iwf'] as const) {
      const sock = join(dir, 'net', side, 'charon.vici');
      let vici: ViciClient;
      try {
        assertOwnSocket(sock);
        vici = await ViciClient.connect(sock, 2000);
      } catch {
        continue; // not (yet / any more) running
      }
      let logged = new Map<string, string>();
      if (side === 'n3iwf')
        try {
          logged = ppkIdsFromLog(readFileSync(join(dir, 'net', side, 'charon.log'), 'utf8'));
        } catch {
          // no log: PPK_IDs of the N3IWF's SAs stay unknown
        }
      try {
        for (const sa of await listSas(vici)) {
          const entry = side === 'ue' ? byIke.get(sa.uniqueId) : byKey.get(logged.get(sa.uniqueId) ?? '');
          rows.push({
            side: side === 'ue' ? 'UE' : 'N3IWF',
            conn: sa.conn,
            ikeUniqueId: sa.uniqueId,
            state: sa.state,
            ppk: sa.ppk,
            ppkId: entry?.keyId ?? logged.get(sa.uniqueId),
            provenance: entry?.provenance,
            children: sa.children.map((c) => `${c.name}:${c.state}`).join(' '),
          });
        }
      } finally {
        vici.close();
      }
    }
    out.push({ dir, rows, ledger });
  }
  return out;
}
