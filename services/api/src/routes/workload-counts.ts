import { Hono } from 'hono';
import { WORKLOAD_STATUS } from '@niyanta/messages';
import type { WorkloadCountsV1 } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { requirePermission } from '../auth/principal.js';

/**
 * How many of the tenant's workloads have each status. Registered before the workload routes,
 * whose `/v1/workloads/:id` would otherwise take `counts` for an id.
 */
export function workloadCountRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get('/v1/workloads/counts', async (c) => {
    const { tenant } = requirePermission(c, 'workloads:read');
    const rows = await ctx.connections
      .db()
      .selectFrom('workloads')
      .select((eb) => ['status', eb.fn.countAll<string>().as('n')])
      .where('tenant', '=', tenant)
      .groupBy('status')
      .execute();
    const counts: Record<string, number> = {};
    for (const status of Object.values(WORKLOAD_STATUS)) counts[status] = 0;
    let total = 0;
    for (const r of rows) {
      const n = Number(r.n);
      counts[r.status] = n;
      total += n;
    }
    const body: WorkloadCountsV1 = { counts, total };
    return c.json(body);
  });

  return app;
}
