/**
 * Test helper: what the dashboard's own page does before a control — `GET /api/session` (session cookie
 * and anti-CSRF token), then every request with both and the page's own Origin — over `inject()`.
 */
import type { FastifyInstance, InjectOptions } from 'fastify';

/** Returns an `inject` that sends the page's Origin, session cookie and X-CSRF-Token. */
export async function pageSession(app: FastifyInstance, origin = 'http://localhost') {
  const res = await app.inject({ method: 'GET', url: '/api/session' });
  const cookie = String(res.headers['set-cookie']).split(';')[0]!;
  const { csrf } = res.json() as { csrf: string };
  return (o: InjectOptions) =>
    app.inject({ ...o, headers: { ...o.headers, origin, cookie, 'x-csrf-token': csrf } });
}
