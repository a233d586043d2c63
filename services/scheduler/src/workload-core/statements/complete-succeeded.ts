import { PREPARED } from '@niyanta/db';
import type { WorkloadRow } from '@niyanta/db';
import type { CompletionV1, WorkloadStatus } from '@niyanta/messages';
import { sql } from 'kysely';
import { startedReason } from '../decisions/run-update.js';
import { withStartStep } from '../transition.js';
import type { Transition } from '../transition.js';
import type { Executor } from './executor.js';
import { FENCE_APPLIES } from './fence-condition.js';
import { inIdOrder } from './lock-order.js';

/** The reason a succeeded run's workload_events row and status event give. */
const SUCCEEDED = 'succeeded';

/**
 * Records succeeded runs without reading their rows first: a success is decided by nothing but
 * the fence (the current attempt of an active run, on the worker recorded), so the fence is the
 * statement's condition (`FENCE_APPLIES`) and the change the one `completionChange`
 * (decisions/completion.ts) makes of a success, as `applyChanges` would apply it (COMPLETED, the
 * result, no error, full progress keeping its message, finished and started times, and for a run
 * that ended while SCHEDULED its RUNNING step in workload_events first; the property
 * test in test/workload-core-statements.int.test.ts holds the two to agree). ONE
 * statement with its events, the round trip and row copy of `readWorkloads` saved; a completion
 * whose row does not match (not committed yet, another attempt, already ended, changed status
 * meanwhile) is left out, for the caller to read and decide as any other.
 *
 * The row as it was is joined in to name the status left: a concurrent update that changed the
 * status fails `w.status = old.status` when PostgreSQL re-checks the row, and is left out too.
 * Only `w` repeats the ids as an index condition: `old` is the inner side of a nested loop, and
 * an array condition there is sorted again on every loop (a batch of n paid n sorts of n ids:
 * 5 of a 17 ms statement for 158 completions, 115 of 141 ms for 1,000).
 */
export async function applySucceeded(
  db: Executor,
  completions: readonly CompletionV1[],
): Promise<Transition[]> {
  if (completions.length === 0) return [];
  const ordered = inIdOrder(completions, (c) => c.workloadId);
  const records = JSON.stringify(
    ordered.map((c) => ({
      id: c.workloadId,
      attempt: c.attempt,
      worker_id: c.workerId,
      result: c.result ?? null,
      started_at: c.startedAt ?? null,
      start_reason: startedReason(c.workerId),
    })),
  );
  const ids = completions.map((c) => c.workloadId);
  const { rows } = await sql<
    WorkloadRow & { event_from: WorkloadStatus; event_worker: string; start_reason: string | null }
  >`${PREPARED}
    with v as (
      select * from jsonb_to_recordset(${records}::jsonb)
        as v(id uuid, attempt int, worker_id text, result jsonb, started_at text,
          start_reason text)
    ), u as (
      update workloads w set
        status = 'COMPLETED',
        result = nullif(v.result, 'null'::jsonb),
        error = null,
        progress = jsonb_build_object('fraction', 1, 'message', w.progress -> 'message'),
        finished_at = now(),
        started_at = coalesce(
          w.started_at,
          greatest(w.created_at, least(now(), v.started_at::timestamptz)),
          now()),
        requested_action = null,
        updated_at = now()
      from v join workloads old on old.id = v.id
      where w.id = v.id and w.id = any(${ids}::uuid[])
        and w.status = old.status and ${FENCE_APPLIES}
      returning w.*, old.status as event_from, v.worker_id as event_worker,
        case when old.status = 'SCHEDULED' then v.start_reason end as start_reason
    ), e as (
      insert into workload_events (workload_id, from_status, to_status, attempt, reason, worker_id)
      select u.id, s.from_status, s.to_status, u.attempt, s.reason, u.event_worker
      from u cross join lateral (values
        (1, u.event_from, 'RUNNING', u.start_reason),
        (2, case when u.start_reason is null then u.event_from else 'RUNNING' end, u.status,
          ${SUCCEEDED})
      ) as s(step, from_status, to_status, reason)
      where s.step = 2 or u.start_reason is not null
    )
    select * from u`.execute(db);
  return rows.map((row) =>
    withStartStep(row, row.event_from, SUCCEEDED, row.event_worker, row.start_reason),
  );
}
