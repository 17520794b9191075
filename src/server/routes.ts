/**
 * The dashboard's JSON API (docs/dashboard.md): read the state and the per-link series, and drive the
 * network — cut and restore a link, inject or clear an attack, mark a node compromised or trusted again, change the pace.
 * Every route declares its schema first (TypeBox) so bad input is a 400 before any handler runs; controls
 * answer 202 with the new state of what they touched. Each control names its audit action in
 * `config.control`, so the audit trail (access-routes.ts) records it whatever the outcome.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { LiveNetwork } from './types.ts';

const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' });
const LinkParams = Type.Object({ id: Id });
const AttackBody = Type.Object(
  { kind: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
const SpeedBody = Type.Object(
  { speed: Type.Number({ exclusiveMinimum: 0, maximum: 10_000 }) },
  { additionalProperties: false },
);
const HistoryQuery = Type.Object({ points: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })) });

/** Registers the `/api/*` routes (except `/api/events`, see sse.ts). */
export function registerApi(plain: FastifyInstance, live: LiveNetwork): void {
  // Handlers' request types come from the schemas (no casts): what the schema admits is what they see.
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/api/state', async () => live.state());

  app.get('/api/history', { schema: { querystring: HistoryQuery } }, async (request) => {
    const { points } = request.query;
    const links: Record<string, unknown> = {};
    for (const l of live.state().links) links[l.id] = tail(live.history(l.id), points);
    return { links };
  });

  app.get(
    '/api/links/:id/history',
    { schema: { params: LinkParams, querystring: HistoryQuery } },
    async (request) => {
      const { id } = request.params;
      const { points } = request.query;
      return { linkId: id, samples: tail(live.history(id), points) };
    },
  );

  // A control on one link or node, answered with its new state.
  const targetControl = (on: 'link' | 'node', path: string, act: (id: string) => void): void => {
    app.post(
      `/api/${on}s/:id/${path}`,
      { config: { control: `${on}-${path}` }, schema: { params: LinkParams } },
      async (request, reply) => {
        const { id } = request.params;
        act(id);
        const state = live.state();
        const found = (on === 'link' ? state.links : state.nodes).find((x) => x.id === id);
        return reply.code(202).send({ [on]: found });
      },
    );
  };
  targetControl('link', 'fail', (id) => live.failLink(id));
  targetControl('link', 'restore', (id) => live.restoreLink(id));

  app.post(
    '/api/links/:id/attack',
    { config: { control: 'attack-inject' }, schema: { params: LinkParams, body: AttackBody } },
    async (request, reply) => {
      const { id } = request.params;
      live.injectAttack(id, request.body.kind);
      return reply.code(202).send({ link: live.state().links.find((l) => l.id === id) });
    },
  );
  app.delete(
    '/api/links/:id/attack',
    { config: { control: 'attack-stop' }, schema: { params: LinkParams } },
    async (request, reply) => {
      const { id } = request.params;
      live.clearAttack(id);
      return reply.code(202).send({ link: live.state().links.find((l) => l.id === id) });
    },
  );

  targetControl('node', 'compromise', (id) => live.compromiseNode(id));
  targetControl('node', 'restore', (id) => live.restoreNode(id));

  app.post(
    '/api/speed',
    { config: { control: 'speed' }, schema: { body: SpeedBody } },
    async (request, reply) => {
      live.setSpeed(request.body.speed);
      return reply.code(202).send({ speed: live.state().speed });
    },
  );
}

function tail<T>(xs: readonly T[], points: number | undefined): readonly T[] {
  return points === undefined || xs.length <= points ? xs : xs.slice(xs.length - points);
}
