import { PREPARED } from '@niyanta/db';
import { sql } from 'kysely';
import type { ProgressUpdate } from '../decisions/run-update.js';
import type { Executor } from './executor.js';
import { FENCE_APPLIES } from './fence-condition.js';
import { inIdOrder } from './lock-order.js';

/**
 * Stores progress: like a success, progress is decided by nothing but the fence (the current
 * attempt of an active run, on the worker recorded), so the fence is the statement's condition
 * (`FENCE_APPLIES`) and no row needs reading or locking first. ONE statement for the batch; a
 * full-row read and lock before it was the largest statement with 9,900 runs reporting progress
 * (`running` scenario). Returns the ids it stored; an update it leaves out (not committed yet,
 * another attempt, ended) is for the caller to fence and decide. The latest update of a workload
 * in `updates` must be the only one (`latestProgress` keeps the last).
 */
export async function applyProgress(
  db: Executor,
  updates: readonly ProgressUpdate[],
): Promise<Set<string>> {
  if (updates.length === 0) return new Set();
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
  const { rows } = await sql<{ id: string }>`${PREPARED}
    update workloads w set progress = v.progress, updated_at = now()
    from jsonb_to_recordset(${records}::jsonb)
      as v(id uuid, attempt int, worker_id text, progress jsonb)
    where w.id = v.id and w.id = any(${ids}::uuid[])
      and ${FENCE_APPLIES}
    returning w.id`.execute(db);
  return new Set(rows.map((r) => r.id));
}
