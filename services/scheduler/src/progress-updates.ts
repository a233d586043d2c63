import { PREPARED } from '@niyanta/db';
import { ACTIVE_STATUSES } from '@niyanta/messages';
import type { RunUpdateV1 } from '@niyanta/messages';
import { sql } from 'kysely';
import { inIdOrder } from './lock-order.js';
import type { Executor } from './transitions.js';

/** A progress update with its progress (the kind the statement below stores). */
export type ProgressUpdate = RunUpdateV1 & { progress: NonNullable<RunUpdateV1['progress']> };

/**
 * Stores progress without reading or locking the rows first: like a success, progress is decided
 * by nothing but the fence (the current attempt of an active run, on the worker recorded), so
 * the fence is the statement's condition. ONE statement for the batch; the lock and full-row read
 * it replaces was the largest statement with 9,900 runs reporting progress (`running` scenario).
 * Returns the ids it stored, each with its workload's tenant; an update it leaves out (not committed yet, another attempt,
 * ended) is for the caller to fence and decide as before. The latest update of a workload in
 * `updates` must be the only one (the caller keeps the last).
 */
export async function applyProgress(
  db: Executor,
  updates: readonly ProgressUpdate[],
): Promise<Map<string, string>> {
  if (updates.length === 0) return new Map();
  const ordered = inIdOrder(updates, (u) => u.workloadId);
  const records = JSON.stringify(
    ordered.map((u) => ({
      id: u.workloadId,
      attempt: u.attempt,
      worker_id: u.workerId,
      progress: u.progress,
    })),
  );
  const ids = updates.map((u) => u.workloadId);
  // The active statuses are a parameter for the reason `applySucceeded` gives: the partial index
  // of active rows must not be the way in.
  const { rows } = await sql<{ id: string; tenant: string }>`${PREPARED}
    update workloads w set progress = v.progress, updated_at = now()
    from jsonb_to_recordset(${records}::jsonb)
      as v(id uuid, attempt int, worker_id text, progress jsonb)
    where w.id = v.id and w.id = any(${ids}::uuid[])
      and w.status = any(${ACTIVE_STATUSES}::text[])
      and w.attempt = v.attempt and w.worker_id = v.worker_id
    returning w.id, w.tenant`.execute(db);
  return new Map(rows.map((r) => [r.id, r.tenant]));
}
