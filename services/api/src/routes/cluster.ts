import { Hono } from 'hono';
import type { ClusterV1 } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { requirePermission } from '../auth/principal.js';

/** An instance silent this long is left out of the list (it beats every 2 s). */
export const INSTANCE_SILENT_MS = 30_000;

const iso = (d: Date | string) => new Date(d).toISOString();

type ClusterService = ClusterV1['services'][number];
type ClusterInstance = ClusterService['instances'][number];

/** The instances of every service (from `service_instances`) and who leads (from `leadership`). */
export function clusterRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get('/v1/cluster', async (c) => {
    requirePermission(c, 'cluster:read');
    const db = ctx.connections.db();
    const [leaders, instances] = await Promise.all([
      db.selectFrom('leadership').selectAll().execute(),
      db
        .selectFrom('service_instances')
        .selectAll()
        .where('heard_at', '>', new Date(Date.now() - INSTANCE_SILENT_MS))
        .orderBy('started_at')
        .orderBy('instance_id')
        .execute(),
    ]);
    const services = new Map<string, ClusterService>();
    const entry = (service: string) => {
      let s = services.get(service);
      if (s === undefined) {
        s = { service, leader: null, instances: [] };
        services.set(service, s);
      }
      return s;
    };
    for (const l of leaders) {
      entry(l.service).leader = {
        instanceId: l.instance_id,
        epoch: Number(l.epoch),
        since: iso(l.since),
      };
    }
    for (const i of instances) {
      entry(i.service).instances.push({
        instanceId: i.instance_id,
        host: i.host,
        pid: i.pid,
        // The leadership row is the truth: a row written before a takeover may still say leader.
        role: roleOf(i.role, i.instance_id, services.get(i.service)?.leader?.instanceId),
        startedAt: iso(i.started_at),
        heardAt: iso(i.heard_at),
      });
    }
    const body: ClusterV1 = {
      services: [...services.values()].sort((a, b) => a.service.localeCompare(b.service)),
    };
    return c.json(body);
  });

  return app;
}

function roleOf(
  recorded: string,
  instanceId: string,
  leaderId: string | undefined,
): ClusterInstance['role'] {
  if (recorded === 'member') return 'member';
  return instanceId === leaderId ? 'leader' : 'standby';
}
