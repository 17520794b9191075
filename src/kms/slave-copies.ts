/**
 * Slave copies delivered without an fsync of their own (`dec_keys` in the WAL, not yet on disk), never
 * a key twice to a slave across kill -9 or power loss.
 *
 * A slave's copy of a key whose master is behind a peer KME arrives here in a reservation
 * (`applyReservation`), committed and fdatasynced before the peer hears it was applied. Once that
 * transaction is on disk the copy is *armed*: its delivery to the slave (row erased, delivery logged)
 * needs only its COMMIT — it is in the WAL, so it survives a killed process — not the fdatasync that
 * would make it survive a power loss. Copies for slaves on the master's own KME, and copies whose
 * reservation is not yet known to be on disk, are delivered as before (COMMIT and fdatasync).
 *
 * Once only, the argument (the same shape as the master's leases, ./lease.ts):
 *  1. A committed transaction is lost only when the kernel loses its page cache before writing it back:
 *     a power loss or a kernel crash, each followed by a new boot. A killed process (kill -9, OOM, a
 *     crash of Node) loses nothing committed. Linux names every boot (`/proc/sys/kernel/random/boot_id`).
 *  2. The store records durably, when it opens, the boot it runs in and that it has not been closed
 *     cleanly; a clean close (everything checkpointed into the synced database file) records `clean`.
 *  3. At open, if the last opening was in another boot and did not end cleanly, a delivery committed
 *     without fsync may have been lost, and its copy would be handed out again: every copy received
 *     from a peer and still here is erased instead (logged in `discarded`, counted, reported at start).
 *     Otherwise every committed delivery is still in the store and nothing is discarded.
 *  4. Before anything is served, the open fdatasyncs the WAL: everything present when the store opened
 *     (including what a killed process had committed) is then on disk, so those copies are armed.
 *  Hence a slave never gets a key twice. The cost: after an unclean stop *followed by a new boot*, the
 *  copies that slaves had not fetched are discarded (their masters' SAs fail once and take new keys);
 *  after kill -9 nothing is discarded. Where no boot id can be read, every unclean stop counts as one.
 */
import { readFileSync } from 'node:fs';

/** The kernel's name of the current boot (Linux); '' where there is none (then every start is a new boot). */
export function currentBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** Whether a store last opened in `lastBoot` (closed cleanly or not) must discard its armed copies now. */
export function mustDiscardArmed(
  last: { boot: string | undefined; clean: boolean },
  bootNow: string,
): boolean {
  if (last.boot === undefined || last.clean) return false; // a new store, or one closed cleanly
  return bootNow === '' || last.boot !== bootNow;
}
