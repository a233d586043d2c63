import { Hono } from 'hono';
import type { WorkerV1 } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { requirePermission } from '../auth/principal.js';
import { parseEnumParam } from '../params.js';

/** Worker statuses as the health monitor records them. */
export const WORKER_STATUS = { ACTIVE: 'ACTIVE', DRAINING: 'DRAINING', DEAD: 'DEAD' } as const;
export type WorkerStatus = (typeof WORKER_STATUS)[keyof typeof WORKER_STATUS];

const iso = (d: Date | string) => new Date(d).toISOString();

/** Workers as the health monitor last recorded them. */
export function workerRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get('/v1/workers', async (c) => {
    requirePermission(c, 'workers:read');
    const status = parseEnumParam('status', c.req.query('status'), Object.values(WORKER_STATUS));
    let query = ctx.connections.db().selectFrom('workers').selectAll();
    if (status !== undefined) query = query.where('status', '=', status);
    const rows = await query.orderBy('id').execute();
    const items: WorkerV1[] = rows.map((r) => ({
      id: r.id,
      status: r.status as WorkerStatus,
      capacity: r.capacity,
      freeSlots: r.free_slots,
      labels: r.labels,
      zone: r.zone,
      types: r.types,
      taints: r.taints,
      costPerHour: r.cost_per_hour,
      spot: r.spot,
      running: r.running,
      lastHeartbeatAt: iso(r.last_heartbeat_at),
      startedAt: iso(r.started_at),
    }));
    return c.json({ items });
  });

  return app;
}
