/**
 * Ports for command tests that must name one (`kme demo --port P` serves P and P + 1): a pair both free at
 * the time of asking, taken from the kernel's ephemeral range rather than computed from the PID, which
 * collided with other test processes' ports.
 */
import { createServer } from 'node:net';

/** Listens on `port` (0: any) at 127.0.0.1 and closes again; the port it got, or null if it was taken. */
function probe(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(null));
    s.listen(port, '127.0.0.1', () => {
      const got = (s.address() as { port: number }).port;
      s.close(() => resolve(got));
    });
  });
}

/** A port P such that P and P + 1 were both free just now. */
export async function freePortPair(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const p = await probe(0);
    if (p !== null && p < 65535 && (await probe(p + 1)) !== null) return p;
  }
  throw new Error('no two adjacent free ports found');
}
