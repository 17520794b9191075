// @edge: ETSI GS QKD 014 clients over mutual TLS, on timers.
/**
 * Application sessions that draw real keys from the KMEs: for every application whose two nodes share a
 * QKD link, the master SAE (`sae-<from>`) asks its KME for a 256-bit key (ETSI GS QKD 014 §5.2 Get key),
 * the slave SAE (`sae-<to>`) fetches the same key by its key_ID from its own KME (§5.3 Get key with key
 * IDs), and the two are compared in constant time, then wiped. The dashboard shows how many keys each
 * session received this way and the last error (for instance `KMS_KEY_EXHAUSTED` while the link is cut).
 * For a relayed application (its nodes share no link) each key is first relayed between the live KMEs
 * along the application's current route (src/network `attachLiveRelay`: hop by hop one-time pad over
 * the KMEs' mutual-TLS relay route, XOR shares when the route is multipath), which supplies it into both
 * end KMEs; the two SAEs then fetch it exactly as above.
 */
import { timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { isQkdnetError, QkdnetError } from '../common/index.ts';
import { Etsi014Client } from '../kms/index.ts';
import type { LiveRelayNode } from '../network/index.ts';
import { kmeName, saeName } from './kme-fleet.ts';
import type { KmeSessionState } from './types.ts';

/** An application served by a KME pair. */
export interface KmeSessionApp {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  /** True when the two nodes share no link: each key is relayed between the KMEs first. */
  readonly relayed?: boolean;
}

/** Options of the sessions. */
export interface KmeSessionOptions {
  readonly apps: readonly KmeSessionApp[];
  /** The KMEs' URLs by node id and the PKI holding the SAEs' certificates (in-process or site processes). */
  readonly fleet: {
    readonly kmes: ReadonlyMap<string, { readonly url: string }>;
    readonly pkiDir: string;
  };
  /** Real milliseconds between keys per session (default 2000). */
  readonly intervalMs?: number;
  readonly onUpdate: (appId: string, state: KmeSessionState) => void;
  /** Live relay nodes by node id (needed for relayed applications). */
  readonly relays?: ReadonlyMap<string, Pick<LiveRelayNode, 'relayKey'>>;
  /** The node paths an application's keys currently take (one, or k disjoint ones). */
  readonly routeOf?: (appId: string) => readonly (readonly string[])[];
  /** The KMEs hold test keys (`--deterministic-keys`): a relay without pads says why. */
  readonly testKeys?: boolean;
}

/** The last error of a relayed session whose relay found no pad because the pools hold test keys. */
export const RELAY_TEST_KEYS_ERROR =
  'relay refused: --deterministic-keys pools hold test keys, which relay hops never use as one-time pads';

/** Waits `ms`, or less if `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done); // else one listener per sleep piles up on the signal
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Starts one session per app; returns the function that stops them all (awaiting requests in flight). */
export function startKmeSessions(o: KmeSessionOptions): () => Promise<void> {
  const stop = new AbortController();
  const files = (name: string) => ({
    cert: join(o.fleet.pkiDir, `${name}.pem`),
    key: join(o.fleet.pkiDir, `${name}.key`),
    ca: join(o.fleet.pkiDir, 'ca.pem'),
  });
  /** Relays one 256-bit key for `app` between the live KMEs (throws a one-line reason on failure). */
  const relay = async (app: KmeSessionApp) => {
    const paths = (o.routeOf?.(app.id) ?? []).filter((p) => p.length >= 2);
    const node = o.relays?.get(app.from);
    if (!node || paths.length === 0)
      throw new QkdnetError('NETWORK_NO_PATH', `No QKD route joins ${app.from} and ${app.to} to relay a key`);
    // Charged to the master SAE's quota at its KME (the link keys the first hops consume).
    const r = await node.relayKey(
      paths.map((p) => p.map(kmeName)),
      32,
      { sae: saeName(app.from) },
    );
    if (!r.ok && r.reason === 'no-link-key' && o.testKeys) throw new Error(RELAY_TEST_KEYS_ERROR);
    if (!r.ok) throw new Error(`relay failed at ${r.at}: ${r.reason}`);
  };
  const loops = o.apps.map(async (app) => {
    // Each SAE pins the KME it expects: another KME's certificate is refused in the handshake.
    const master = Etsi014Client.fromFiles(o.fleet.kmes.get(app.from)!.url, files(saeName(app.from)), {
      kmeId: kmeName(app.from),
    });
    const slave = Etsi014Client.fromFiles(o.fleet.kmes.get(app.to)!.url, files(saeName(app.to)), {
      kmeId: kmeName(app.to),
    });
    const st: { -readonly [K in keyof KmeSessionState]: KmeSessionState[K] } = {
      delivered: 0,
      failed: 0,
      lastKeyId: null,
      lastError: null,
    };
    try {
      while (!stop.signal.aborted) {
        try {
          if (app.relayed) await relay(app);
          const [k] = await master.getKeys(saeName(app.to), { number: 1, sizeBits: 256 });
          // The reservation reaches the slave's KME asynchronously (src/kms/peer.ts): retry briefly.
          let same: Uint8Array | undefined;
          for (let attempt = 0; same === undefined; attempt++) {
            try {
              same = (await slave.getKeysWithIds(saeName(app.from), [k!.keyId]))[0]!.key;
            } catch (e) {
              if (attempt >= 4 || stop.signal.aborted) throw e;
              await sleep(250, stop.signal);
            }
          }
          const equal = k!.key.length === same.length && timingSafeEqual(k!.key, same);
          k!.key.fill(0);
          same.fill(0);
          if (!equal) throw new Error('the two ends received different keys');
          st.delivered++;
          st.lastKeyId = k!.keyId;
          st.lastError = null;
        } catch (e) {
          st.failed++;
          st.lastError = isQkdnetError(e) ? e.code : (e as Error).message;
        }
        if (!stop.signal.aborted) o.onUpdate(app.id, { ...st });
        await sleep(o.intervalMs ?? 2000, stop.signal);
      }
    } finally {
      master.close();
      slave.close();
    }
  });
  return async () => {
    stop.abort();
    await Promise.allSettled(loops);
  };
}
