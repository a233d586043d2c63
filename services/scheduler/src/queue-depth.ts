import type { Database } from '@niyanta/db';
import { WORKLOAD_STATUS } from '@niyanta/messages';
import { queueDepth } from '@niyanta/telemetry';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/** How often the scheduler refreshes niyanta_queue_depth from PostgreSQL. */
export const QUEUE_DEPTH_INTERVAL_MS = 5_000;

/** One group of the queue: workloads of a tenant and type in a status. */
export interface QueueGroup {
  tenant: string;
  type: string;
  status: string;
  count: number;
}

/**
 * The unfinished workloads by tenant, type and status. Each branch reads one partial index
 * (`workloads_queue` for PENDING, `workloads_worker_active` for SCHEDULED and RUNNING), so the
 * cost follows the queue, never the finished history. PAUSED has no such index and is left out.
 */
export async function readQueueDepth(db: Kysely<Database>): Promise<QueueGroup[]> {
  const { rows } = await sql<QueueGroup>`
    select tenant, type, status, count(*)::int as count from (
      select tenant, type, status from workloads where status = ${WORKLOAD_STATUS.PENDING}
      union all
      select tenant, type, status from workloads
        where status in (${WORKLOAD_STATUS.SCHEDULED}, ${WORKLOAD_STATUS.RUNNING})
    ) q group by tenant, type, status`.execute(db);
  return rows;
}

/** Sets niyanta_queue_depth to `groups`: groups gone since the last refresh drop out. */
export function publishQueueDepth(groups: readonly QueueGroup[]): void {
  queueDepth.reset();
  for (const g of groups)
    queueDepth.set({ tenant: g.tenant, type: g.type, status: g.status }, g.count);
}
