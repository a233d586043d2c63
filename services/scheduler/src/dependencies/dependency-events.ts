import type { Database } from '@niyanta/db';
import { StatusEventBatch, WORKLOAD_STATUS, publishCore } from '@niyanta/messages';
import type { WorkloadStatus } from '@niyanta/messages';
import { isoTimestamp } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Logger } from '../logger.js';
import type { Transition } from '../workload-core/transition.js';
import { DEPENDENCY_FAILED } from './waiting.js';

/** Dependents one follow-up reads at most (the bookkeeping itself is not bounded by it). */
const FOLLOW_UP_ROWS = 10_000;

const ENDED: ReadonlySet<string> = new Set([
  WORKLOAD_STATUS.COMPLETED,
  WORKLOAD_STATUS.FAILED,
  WORKLOAD_STATUS.CANCELLED,
]);

/** Committed transitions that ended a workload some other workload depends on. */
export function endedWithDependents(transitions: readonly Transition[]): Transition[] {
  return transitions.filter(
    (t) => t.row.has_dependents === true && ENDED.has(t.row.status) && !ENDED.has(t.from ?? ''),
  );
}

/**
 * After a commit that ended workloads with dependents: what the bookkeeping (migration 0015, in
 * the same transaction) did to the graph below them is announced. Dependents cancelled with
 * DEPENDENCY_FAILED get their status events (PENDING or PAUSED → CANCELLED), read back from
 * PostgreSQL down the graph. A live feed only: PostgreSQL holds the record, so a failure here is
 * logged and lost events are what a reader's next read shows.
 */
export async function announceDependents(
  db: Kysely<Database>,
  nc: Parameters<typeof publishCore>[0],
  ended: readonly Transition[],
  log: Logger,
): Promise<void> {
  if (ended.length === 0) return;
  const failed = ended
    .filter((t) => t.row.status !== WORKLOAD_STATUS.COMPLETED)
    .map((t) => t.row.id);
  if (failed.length === 0) return;
  try {
    const { rows } = await sql<{
      id: string;
      tenant: string;
      attempt: number;
      updated_at: Date;
      from_status: WorkloadStatus;
      reason: string | null;
    }>`
      with recursive below(id) as (
        select d.workload_id from workload_dependencies d
        where d.depends_on = any(${failed}::uuid[])
        union
        select d.workload_id from below b join workload_dependencies d on d.depends_on = b.id
      )
      select w.id, w.tenant, w.attempt, w.updated_at, e.from_status, e.reason
      from (select id from below limit ${FOLLOW_UP_ROWS}) b
      join workloads w on w.id = b.id
      cross join lateral (
        select from_status, reason from workload_events
        where workload_id = w.id and to_status = 'CANCELLED' order by id desc limit 1
      ) e
      where w.status = 'CANCELLED' and w.error->>'code' = ${DEPENDENCY_FAILED}
        and w.finished_at > now() - interval '1 minute'`.execute(db);
    if (rows.length === 0) return;
    const events = new StatusEventBatch();
    for (const r of rows) {
      events.status({
        workloadId: r.id,
        tenant: r.tenant,
        from: r.from_status,
        to: WORKLOAD_STATUS.CANCELLED,
        attempt: r.attempt,
        reason: r.reason,
        at: isoTimestamp(r.updated_at instanceof Date ? r.updated_at : new Date(r.updated_at)),
        workerId: null,
        progress: null,
        errorCode: DEPENDENCY_FAILED,
        pendingReason: null,
      });
    }
    publishCore(nc, events.messages());
  } catch (err) {
    log.warn(
      { err, count: failed.length },
      'announcing dependents cancelled by a failed dependency failed; PostgreSQL has the changes',
    );
  }
}
