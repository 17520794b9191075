/**
 * Serves the built dashboard (web/dist) without a plugin dependency: `GET /` is index.html, files under
 * the root are served with a content type from their extension, hashed assets (`/assets/*`) are cached
 * for a year, and any path that resolves outside the root is a 404. When web/dist is missing (the build
 * was skipped), `/` explains how to build it instead of failing.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/** Resolves `urlPath` inside `root`, or null if it escapes the root or is not a file. */
export function resolveStatic(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0] ?? '');
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const rootAbs = resolve(root);
  const file = resolve(rootAbs, '.' + normalize('/' + decoded));
  if (file !== rootAbs && !file.startsWith(rootAbs + sep)) return null;
  if (!existsSync(file) || !statSync(file).isFile()) return null;
  return file;
}

/** Registers the dashboard's static routes for the build in `root` (default web/dist). */
export function registerStatic(app: FastifyInstance, root: string): void {
  const index = join(root, 'index.html');
  app.get('/', (_request, reply) => {
    if (!existsSync(index)) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send(
          'The dashboard is not built. Run `npm run build:web` (it runs during `npm install`), then reload.\n',
        );
    }
    return reply.type(TYPES['.html']!).header('cache-control', 'no-cache').send(readFileSync(index));
  });
  app.get('/*', (request, reply) => {
    const file = resolveStatic(root, request.url);
    if (file === null)
      return reply
        .code(404)
        .send({ code: 'DASHBOARD_UNKNOWN_TARGET', message: `No file ${request.url.split('?')[0]}` });
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const cache = request.url.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    return reply.type(type).header('cache-control', cache).send(readFileSync(file));
  });
}
