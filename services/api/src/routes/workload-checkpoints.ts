import { Hono } from 'hono';
import type { ApiContext } from '../api-context.js';
import { requirePermission } from '../auth/principal.js';
import { parseWorkloadId } from '../params.js';
import { requireWorkload } from '../workload-store.js';

/** Committed checkpoints of one workload, newest first (metadata only, never the data). */
export function workloadCheckpointRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get('/v1/workloads/:id/checkpoints', async (c) => {
    const { tenant } = requirePermission(c, 'workloads:read');
    const id = parseWorkloadId(c.req.param('id'));
    const db = ctx.connections.db();
    await requireWorkload(db, tenant, id);
    const rows = await db
      .selectFrom('checkpoints')
      .select(['seq', 'attempt', 'size', 'sha256', 'storage', 'created_at'])
      .where('workload_id', '=', id)
      .orderBy('attempt', 'desc')
      .orderBy('seq', 'desc')
      .execute();
    return c.json({
      items: rows.map((r) => ({
        seq: r.seq,
        attempt: r.attempt,
        size: r.size,
        sha256: r.sha256,
        storage: r.storage,
        createdAt: new Date(r.created_at).toISOString(),
      })),
    });
  });

  return app;
}
