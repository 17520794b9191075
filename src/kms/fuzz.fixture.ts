/**
 * The plumbing the ETSI fuzz suites share (./fuzz.slow.test.ts for GS QKD 014, ./etsi-gs-qkd-004-, -015-
 * and -020-fuzz.slow.test.ts): each suite generates seeded requests that start valid and receive zero or
 * more mutations its specification forbids, sends them through `inject()` or over real mutual-TLS
 * sockets, and checks every answer with its oracle. What differs between suites — the generator and the
 * oracle — stays in the suite; this file holds what is the same: the KME under test (KME A of the test
 * PKI's names on an in-memory store, its pool refilled so exhaustion never excuses a failure), the two ways
 * of sending a case, the loop that tallies cases by their first mutation, and the shared checks (the
 * Error object of ./http-errors.ts, the share of malformed requests).
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import type { FastifyInstance, FastifyServerOptions, InjectOptions } from 'fastify';
import type { Rng } from '../common/index.ts';
import type { KmeConfig } from './config.ts';
import type { KmeCore } from './core.ts';
import type { CallerIdentity, Etsi014PluginOptions } from './plugin.ts';
import type { KeyStore } from './store.ts';

/** One element of `xs`, drawn from `rng`. */
export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.nextInt(xs.length)]!;

/** A version-4 UUID drawn from `rng`; `variant` is its RFC 9562 variant nibble (8, 9, a or b). */
export function fuzzUuid(rng: Rng, variant: '8' | 'a' = '8'): string {
  const h = Array.from({ length: 32 }, () => '0123456789abcdef'[rng.nextInt(16)]).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20)}`;
}

/** One generated request; `mutations` empty: the request is valid. */
export interface FuzzCase {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
  /** Who sends it (absent: the suite's own headers say). */
  caller?: FuzzCaller;
  mutations: string[];
}

/** An answer: status and body text. */
export interface FuzzAnswer {
  status: number;
  text: string;
}

/**
 * The callers cases are sent as, by name: the identity `inject()` gives each (header `x-test-caller`),
 * and the certificate of the test PKI (./kme-pair.fixture.ts) it presents over a socket.
 */
export const FUZZ_CALLERS = {
  'sae-a': { identity: { kind: 'sae', id: 'sae-a' }, cert: 'sae-a' },
  'sae-c': { identity: { kind: 'sae', id: 'sae-c' }, cert: 'sae-c' },
  'kme-b': { identity: { kind: 'kme', id: 'kme-b' }, cert: 'kme-b' },
  metrics: { identity: { kind: 'metrics', id: 'metrics' }, cert: 'metrics' },
  qkd: { identity: { kind: 'device', id: 'qkd' }, cert: undefined },
  /** A certificate of another CA. */
  stranger: { identity: null, cert: 'stranger' },
  /** A genuine SAE, but of the other KME. */
  'sae-b-elsewhere': { identity: null, cert: 'sae-b' },
} as const satisfies Record<string, { identity: CallerIdentity; cert: string | undefined }>;

/** The name of a caller of FUZZ_CALLERS. */
export type FuzzCaller = keyof typeof FUZZ_CALLERS;

/** KME A under fuzz: its Fastify app (the ETSI 014 plugin), core and store. */
export interface FuzzKme {
  readonly app: FastifyInstance;
  readonly core: KmeCore;
  readonly store: KeyStore;
  readonly peers: NonNullable<KmeConfig['peers']>;
  /** Tops up the pool with kme-b to 64 KiB (a no-op when the suite asked for no refill). */
  refill(): void;
  close(): Promise<void>;
}

/**
 * Starts KME A (SAEs sae-a, sae-c; peer kme-b serving sae-b, sae-d) on an in-memory store, its routes
 * reached through `inject()` as the FUZZ_CALLERS caller named in header `x-test-caller`.
 * `refillSeed`: seed of the blocks that keep the pool full; `plugin`: further plugin options (the 004
 * service, the 020 endpoint, a body limit) built once the core exists.
 */
export async function startFuzzKme(opts: {
  keys?: KmeConfig['keys'];
  refillSeed?: number;
  plugin?: (
    core: KmeCore,
    peers: NonNullable<KmeConfig['peers']>,
  ) => Partial<Pick<Etsi014PluginOptions, 'bodyLimit' | 'etsi004' | 'etsi020'>>;
  fastify?: FastifyServerOptions;
}): Promise<FuzzKme> {
  const peers = [{ id: 'kme-b', url: 'https://127.0.0.1:1', saes: ['sae-b', 'sae-d'] }];
  const cfg: KmeConfig = {
    id: 'kme-a',
    tls: { cert: 'x', key: 'x', ca: 'x' },
    store: ':memory:',
    saes: [{ id: 'sae-a' }, { id: 'sae-c' }],
    peers,
    ...(opts.keys ? { keys: opts.keys } : {}),
  };
  // Loaded here, not at the top: the 015 suite uses the rest of this file without a KME.
  const [
    { default: Fastify },
    { KmeCore },
    { createKmeMetrics },
    { etsi014Plugin },
    { KeyStore },
    supply,
    pair,
  ] = await Promise.all([
    import('fastify'),
    import('./core.ts'),
    import('./metrics.ts'),
    import('./plugin.ts'),
    import('./store.ts'),
    import('./supply.ts'),
    import('./kme-pair.fixture.ts'),
  ]);
  const store = KeyStore.open({ path: ':memory:' });
  const core = new KmeCore(cfg, store, { send: async () => [], lookup: async () => [], close() {} });
  let blocks = 0;
  const refill = () => {
    if (opts.refillSeed === undefined) return;
    while (store.level('kme-b').mineBytes < 64 * 1024)
      store.addChunks(
        'kme-b',
        supply.chunksFor('kme-a', 'kme-b', pair.testBlock(opts.refillSeed, `f-${blocks++}`, 65536)),
      );
  };
  const app = Fastify({ logger: false, ...opts.fastify });
  await app.register(etsi014Plugin, {
    core,
    metrics: createKmeMetrics(core),
    identify: () => null,
    callerOfRequest: (req) => FUZZ_CALLERS[req.headers['x-test-caller'] as FuzzCaller]?.identity ?? null,
    ...(opts.plugin?.(core, peers) ?? {}),
  });
  return {
    app,
    core,
    store,
    peers,
    refill,
    close: async () => {
      await app.close();
      store.close();
    },
  };
}

/** Sends a case through `app.inject()`, the caller named in header `x-test-caller`. */
export function viaInject(app: FastifyInstance): (c: FuzzCase) => Promise<FuzzAnswer> {
  return async (c) => {
    const res = await app.inject({
      method: c.method,
      url: c.url,
      headers: c.caller === undefined ? c.headers : { ...c.headers, 'x-test-caller': c.caller },
      ...(c.payload !== undefined ? { payload: c.payload } : {}),
    } as InjectOptions);
    return { status: res.statusCode, text: res.body };
  };
}

/** Sends a case over a real mutual-TLS socket to `base`, with the certificate of its caller. */
export function viaSocket(
  base: string,
  agents: { agent(name: string): https.Agent },
): (c: FuzzCase) => Promise<FuzzAnswer> {
  const agentOf = (c: FuzzCase) => {
    const cert = c.caller === undefined ? undefined : FUZZ_CALLERS[c.caller].cert;
    if (cert === undefined) throw new TypeError(`no test certificate for caller ${c.caller}`);
    return agents.agent(cert);
  };
  return (c) =>
    new Promise((resolve, reject) => {
      const payload = c.payload !== undefined ? Buffer.from(c.payload) : undefined;
      const headers = payload ? { ...c.headers, 'content-length': String(payload.length) } : c.headers;
      const req = https.request(
        `${base}${c.url}`,
        { method: c.method, agent: agentOf(c), headers },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      // The server may reset an oversize upload before it answers: that is its refusal.
      req.on('error', (e) =>
        c.mutations.includes('oversize body')
          ? resolve({ status: 413, text: '{"message":"reset"}' })
          : reject(e),
      );
      req.end(payload);
    });
}

/**
 * Generates, sends and judges `total` cases in order (`before` runs ahead of each send, `after` once its
 * answer was judged); returns how many cases had each first mutation (`valid`: none).
 */
export async function runFuzz<C extends FuzzCase>(opts: {
  total: number;
  generate: (i: number) => C;
  send: (c: C) => Promise<FuzzAnswer>;
  judge: (c: C, a: FuzzAnswer, i: number) => void;
  before?: (c: C) => void | Promise<void>;
  after?: (c: C, a: FuzzAnswer) => void;
}): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < opts.total; i++) {
    const c = opts.generate(i);
    await opts.before?.(c);
    const a = await opts.send(c);
    const kind = c.mutations[0] ?? 'valid';
    seen.set(kind, (seen.get(kind) ?? 0) + 1);
    opts.judge(c, a, i);
    opts.after?.(c, a);
  }
  if (process.env.FUZZ_DEBUG) console.log(Object.fromEntries(seen));
  return seen;
}

/** Asserts at least `malformed` of the `total` cases were mutated and at least `valid` were not. */
export function assertMix(
  seen: ReadonlyMap<string, number>,
  total: number,
  min: { malformed: number; valid: number },
) {
  const valid = seen.get('valid') ?? 0;
  assert.ok(total - valid >= min.malformed, `only ${total - valid} malformed requests`);
  assert.ok(valid > min.valid, `only ${valid} valid requests`);
}

/** Asserts `text` is the KME's Error object (./http-errors.ts): a message string, at most details besides. */
export function assertErrorObject(text: string, where: string): void {
  const e = JSON.parse(text) as Record<string, unknown>;
  assert.equal(typeof e.message, 'string', `${where}: no Error object`);
  assert.ok(
    Object.keys(e).every((k) => k === 'message' || k === 'details'),
    `${where}: extra fields`,
  );
}
