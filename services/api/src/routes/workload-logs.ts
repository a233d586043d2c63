import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ApiContext } from '../api-context.js';
import { requirePermission } from '../auth/principal.js';
import { readLogs } from '../log-reader.js';
import { parseBoolParam, parseIntParam, parseWorkloadId } from '../params.js';
import { logMessages, runStream, socketCloser } from '../sse.js';
import { requireWorkload } from '../workload-store.js';

export const LOG_LIMIT = { min: 1, max: 100_000, default: 1000 } as const;

/** Log lines of one workload from NIYANTA_LOGS: a page, or followed live (Server-Sent Events). */
export function workloadLogRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get('/v1/workloads/:id/logs', async (c) => {
    const { tenant } = requirePermission(c, 'workloads:read');
    const id = parseWorkloadId(c.req.param('id'));
    const follow = parseBoolParam('follow', c.req.query('follow'));
    const limit = parseIntParam('limit', c.req.query('limit'), LOG_LIMIT);
    const nats = ctx.connections.nats();
    await requireWorkload(ctx.connections.db(), tenant, id);
    if (follow) {
      const slot = ctx.streams.reserve(tenant);
      return streamSSE(c, (stream) =>
        runStream(ctx, slot, stream, socketCloser(c), async ({ send, flushed, signal }) => {
          await readLogs({
            nats,
            workloadId: id,
            follow: true,
            signal,
            log: ctx.log,
            // The next message is read once the client took this one: the reader follows the
            // client's pace, and a slow client holds one message, not the whole log.
            onLines: async (lines) => {
              for (const m of logMessages(id, lines)) send(m);
              await flushed();
            },
          });
        }),
      );
    }
    // The newest `limit` lines, oldest first.
    const items: { at: string; stream: string; line: string }[] = [];
    await readLogs({
      nats,
      workloadId: id,
      follow: false,
      signal: c.req.raw.signal,
      log: ctx.log,
      onLines: (lines) => {
        for (const l of lines) items.push({ at: l.at, stream: l.stream, line: l.line });
        if (items.length > limit) items.splice(0, items.length - limit);
      },
    });
    return c.json({ items });
  });

  return app;
}
