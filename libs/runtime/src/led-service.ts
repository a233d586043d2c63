import type { Logger } from 'pino';
import { registerInstance } from './instance-registry.js';
import type { InstanceRegistration } from './instance-registry.js';
import { newInstanceId, startLeadership } from './leadership.js';
import type { LeaderTerm, Leadership, LeadershipTimings, LedService } from './leadership.js';
import type { ServiceConnections } from './service-connections.js';

/**
 * Makes a service led: it campaigns for leadership and runs `lead` only while it leads, registers
 * its instance row, and reports its role on /readyz (`leader` or `standby`, both ready). Adds the
 * shutdown steps: the term ends first, then the row goes.
 */
export async function runWhenLeading(opts: {
  service: LedService;
  databaseUrl: string;
  timings: LeadershipTimings;
  connections: ServiceConnections;
  log: Logger;
  poolMax?: number;
  lead: (term: LeaderTerm) => Promise<AsyncDisposable>;
}): Promise<Leadership> {
  const { connections, log } = opts;
  const instanceId = newInstanceId(opts.service);
  const registry: { current?: InstanceRegistration } = {};
  // Steps run newest first: the term ends, then the row goes, then the pool (pushed earlier).
  connections.steps.push(async () => registry.current?.close());
  const leadership = startLeadership({
    service: opts.service,
    instanceId,
    databaseUrl: opts.databaseUrl,
    timings: opts.timings,
    log,
    ...(opts.poolMax === undefined ? {} : { poolMax: opts.poolMax }),
    lead: opts.lead,
    onRoleChange: () => {
      registry.current?.beat().catch((err: unknown) => log.warn({ err }, 'role not recorded yet'));
    },
  });
  connections.steps.push(() => leadership.close());
  connections.health?.describe(() => ({
    role: leadership.role(),
    epoch: leadership.epoch() ?? null,
    instanceId,
  }));
  registry.current = await registerInstance({
    db: connections.database.db,
    service: opts.service,
    instanceId,
    role: () => leadership.role(),
    epoch: () => leadership.epoch(),
    log,
  });
  return leadership;
}
