/**
 * Live updates over Server-Sent Events (WHATWG HTML, "Server-sent events"): `GET /api/events` streams
 * `event: <type>\ndata: <json>\n\n` frames. A client first receives the full `state`, then every
 * `LiveEvent` (and audit record) as it happens and a fresh `state` every `stateIntervalMs`; a comment line every 15 s keeps
 * proxies from closing an idle stream. EventSource reconnects by itself, so the stream has no replay.
 */
import type { FastifyInstance } from 'fastify';
import type { AuditLog } from './audit.ts';
import type { LiveEvent, LiveNetwork } from './types.ts';

/** Options of the SSE route. */
export interface SseOptions {
  /** Real milliseconds between full `state` frames (default 1000). */
  readonly stateIntervalMs?: number;
  /** Audit trail whose records are pushed as `audit` events. */
  readonly audit?: AuditLog;
}

/** Formats one SSE frame. JSON never contains a raw newline, so `data:` fits on one line. */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Registers `GET /api/events`. */
export function registerSse(app: FastifyInstance, live: LiveNetwork, opts: SseOptions = {}): void {
  const stateIntervalMs = opts.stateIntervalMs ?? 1000;
  const open = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const end of [...open]) end();
  });
  app.get('/api/events', (request, reply) => {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const send = (event: string, data: unknown): void => {
      if (!raw.writableEnded) raw.write(sseFrame(event, data));
    };
    send('state', live.state());
    const unsubscribeLive = live.subscribe((e: LiveEvent) => send(e.type, e));
    const unsubscribeAudit = opts.audit?.subscribe((record) => send('audit', { type: 'audit', record }));
    const unsubscribe = (): void => {
      unsubscribeLive();
      unsubscribeAudit?.();
    };
    const stateTimer = setInterval(() => send('state', live.state()), stateIntervalMs);
    const pingTimer = setInterval(() => {
      if (!raw.writableEnded) raw.write(': keep-alive\n\n');
    }, 15_000);
    stateTimer.unref();
    pingTimer.unref();
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      open.delete(end);
      clearInterval(stateTimer);
      clearInterval(pingTimer);
      unsubscribe();
      if (!raw.writableEnded) raw.end();
    };
    open.add(end);
    request.raw.on('close', end);
    raw.on('close', end);
  });
}
