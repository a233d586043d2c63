import { Hono } from 'hono';
import type { WorkloadPlacementV1 } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { requirePermission } from '../auth/principal.js';
import { parseWorkloadId } from '../params.js';
import { requireWorkload } from '../workload-store.js';

/**
 * Why a workload waits, worker by worker, or the decision that placed it: the scheduler's latest
 * evaluation as it recorded it (the API never runs placement). Without a recorded evaluation,
 * the workload's own pending reason and worker.
 */
export function workloadPlacementRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get('/v1/workloads/:id/placement', async (c) => {
    const { tenant } = requirePermission(c, 'workloads:read');
    const id = parseWorkloadId(c.req.param('id'));
    const db = ctx.connections.db();
    const workload = await requireWorkload(db, tenant, id);
    const row = await db
      .selectFrom('placement_explanations')
      .selectAll()
      .where('workload_id', '=', id)
      .executeTakeFirst();
    const waiting = workload.status === 'PENDING' || workload.status === 'SUBMITTED';
    // An evaluation of the other kind is older than the workload's state: it says nothing now.
    const current = row !== undefined && (row.status === 'PENDING') === waiting ? row : undefined;
    const body: WorkloadPlacementV1 = {
      workloadId: id,
      status: workload.status,
      pendingReason: waiting ? (workload.pendingReason ?? current?.pending_reason ?? null) : null,
      evaluatedAt: current ? new Date(current.evaluated_at).toISOString() : null,
      workerId: waiting ? null : (current?.worker_id ?? workload.workerId ?? null),
      workers: current?.explanation.workers ?? [],
      reasonCounts: current?.explanation.reasonCounts ?? {},
    };
    return c.json(body);
  });

  return app;
}
