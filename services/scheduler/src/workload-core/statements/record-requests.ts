import type { WorkloadRow } from '@niyanta/db';
import { ACTIVE_STATUSES } from '@niyanta/messages';
import type { WorkloadStatus } from '@niyanta/messages';
import { sql } from 'kysely';
import type { RequestedAction } from '../change.js';
import type { Executor } from './executor.js';

/** A cancel or pause asked of the run at `attempt` of a workload at `status`. */
export interface RunRequest {
  id: string;
  status: WorkloadStatus;
  attempt: number;
  action: RequestedAction;
}

/**
 * Records a cancel or pause asked of active runs (no status change, so no workload_events row
 * and no status event: the run's end records it). Only rows still at `status` and `attempt`
 * change; returns them as updated. The active statuses are a parameter so that the plan finds
 * the rows by id, not through the partial index workloads_worker_active (see complete-succeeded.ts).
 */
export async function recordRequests(
  trx: Executor,
  requests: readonly RunRequest[],
): Promise<WorkloadRow[]> {
  if (requests.length === 0) return [];
  const { rows } = await sql<WorkloadRow>`
    update workloads w set requested_action = v.action, updated_at = now()
    from jsonb_to_recordset(${JSON.stringify(requests)}::jsonb)
      as v(id uuid, status text, attempt int, action text)
    where w.id = v.id and w.status = v.status and w.attempt = v.attempt
      and w.status = any(${ACTIVE_STATUSES}::text[])
      and w.id = any(${requests.map((r) => r.id)}::uuid[])
    returning w.*`.execute(trx);
  return rows;
}
