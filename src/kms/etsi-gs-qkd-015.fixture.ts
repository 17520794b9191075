/**
 * The ETSI GS QKD 015 RESTCONF node (./etsi-gs-qkd-015-server.ts) on a plain Fastify app for `inject()`
 * tests (./etsi-gs-qkd-015.test.ts, ./etsi-gs-qkd-015-fuzz.slow.test.ts). Without a TLS socket the
 * caller is what header `x-caller` says, `kind:id` (absent: no certificate); requests the router refuses
 * before any route runs are answered with RESTCONF errors, as the KME's server does (./server.ts).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { SdnNodeState } from './etsi-gs-qkd-015.ts';
import { createRestconfNode, restconfFrameworkError } from './etsi-gs-qkd-015-server.ts';
import type { Caller } from './identity.ts';

/** Serves the node whose state `state()` returns; ready for `inject()`. */
export async function restconfInjectApp(state: () => SdnNodeState): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    frameworkErrors: (err, req, reply) => void restconfFrameworkError(err, req, reply),
  });
  const node = createRestconfNode({
    state,
    identify: () => null,
    callerOfRequest: (req) => {
      const h = req.headers['x-caller'];
      if (typeof h !== 'string') return null;
      const [kind, id] = h.split(':') as [Caller['kind'], string];
      return { kind, id };
    },
  });
  await node.register(app);
  await app.ready();
  return app;
}
