import { Hono } from 'hono';
import type { WorkloadHistoryV1 } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { requirePermission } from '../auth/principal.js';
import { parseWorkloadId } from '../params.js';
import { requireWorkload } from '../workload-store.js';

/** Most status changes one answer carries: the newest ones, in case a workload retried a lot. */
export const HISTORY_LIMIT = 1000;

/** The timeline of one workload from workload_events. */
export function workloadHistoryRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get('/v1/workloads/:id/history', async (c) => {
    const { tenant } = requirePermission(c, 'workloads:read');
    const id = parseWorkloadId(c.req.param('id'));
    const db = ctx.connections.db();
    await requireWorkload(db, tenant, id);
    const rows = await db
      .selectFrom('workload_events')
      .select(['from_status', 'to_status', 'attempt', 'reason', 'worker_id', 'at'])
      .where('workload_id', '=', id)
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(HISTORY_LIMIT)
      .execute();
    const body: WorkloadHistoryV1 = {
      items: rows.reverse().map((r) => ({
        fromStatus: r.from_status,
        toStatus: r.to_status,
        attempt: r.attempt,
        reason: r.reason,
        workerId: r.worker_id,
        at: new Date(r.at).toISOString(),
      })),
    };
    return c.json(body);
  });

  return app;
}
