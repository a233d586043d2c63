import { PREPARED } from '@niyanta/db';
import type { WorkloadRow } from '@niyanta/db';
import type { WorkloadStatus } from '@niyanta/messages';
import { sql } from 'kysely';
import { placedReason } from '../decisions/placement.js';
import type { Placement } from '../decisions/placement.js';
import type { Transition } from '../transition.js';
import type { Executor } from './executor.js';
import { inIdOrder } from './lock-order.js';

/** The status a placement leaves, as a parameter (see `applyPlacements`). */
const PENDING: readonly WorkloadStatus[] = ['PENDING'];

/**
 * Records placements with their events in ONE statement: what `applyChanges` makes of
 * `placementChange` (decisions/placement.ts; the property test in
 * test/workload-core-statements.int.test.ts holds the two to agree), with five fields per record
 * to read instead of thirty (placements are a third of the statements a workload costs). A row no
 * longer PENDING at `attempt` is left out.
 *
 * The status is a parameter so that the plan cannot read the rows through the partial index
 * `workloads_queue` (status = 'PENDING'), whose entries of rows placed since the last vacuum
 * would all be visited; the rows are found by id.
 */
export async function applyPlacements(
  db: Executor,
  placements: readonly Placement[],
): Promise<Transition[]> {
  if (placements.length === 0) return [];
  const ordered = inIdOrder(placements, (p) => p.id);
  const records = JSON.stringify(
    ordered.map((p) => ({
      id: p.id,
      attempt: p.attempt,
      worker_id: p.workerId,
      reason: placedReason(p.workerId),
    })),
  );
  const ids = placements.map((p) => p.id);
  const { rows } = await sql<WorkloadRow & { event_from: WorkloadStatus; event_reason: string }>`
    ${PREPARED}
    with v as (
      select * from jsonb_to_recordset(${records}::jsonb) as v(id uuid, attempt int, worker_id text,
        reason text)
    ), u as (
      update workloads w set
        status = 'SCHEDULED',
        attempt = w.attempt + 1,
        worker_id = v.worker_id,
        pending_reason = null,
        parked = false,
        updated_at = now()
      from v
      where w.id = v.id and w.id = any(${ids}::uuid[])
        and w.status = any(${PENDING}::text[]) and w.attempt = v.attempt
      returning w.*, 'PENDING' as event_from, v.reason as event_reason
    ), e as (
      insert into workload_events (workload_id, from_status, to_status, attempt, reason, worker_id)
      select id, event_from, status, attempt, event_reason, worker_id from u
    )
    select * from u`.execute(db);
  return rows.map((row) => ({
    row,
    from: row.event_from,
    reason: row.event_reason,
    eventWorkerId: row.worker_id,
  }));
}
