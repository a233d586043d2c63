import { PREPARED } from '@niyanta/db';
import type { WorkloadRow } from '@niyanta/db';
import type { WorkloadStatus } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Change, RequestedAction } from '../change.js';
import { withStartStep } from '../transition.js';
import type { Transition } from '../transition.js';
import type { Executor } from './executor.js';
import { inIdOrder } from './lock-order.js';

// jsonb_to_recordset record: `set_*` flags say whether a column changes, because JSON null and
// "absent" must differ (a result may be null; an absent result keeps the column).
interface ChangeRecord {
  id: string;
  from_status: string;
  to_status: string;
  attempt: number;
  inc_attempt: boolean;
  set_worker: boolean;
  worker_id: string | null;
  set_result: boolean;
  result: unknown;
  set_error: boolean;
  error: unknown;
  set_progress: boolean;
  progress: unknown;
  set_pending_reason: boolean;
  pending_reason: string | null;
  run_at_mode: 'keep' | 'clear' | 'delay';
  delay_ms: number | null;
  finished: 'keep' | 'now' | 'clear';
  started: boolean;
  started_at: string | null;
  min_max_attempts: number | null;
  set_requested_action: boolean;
  requested_action: RequestedAction | null;
  reason: string | null;
  set_event_worker: boolean;
  event_worker_id: string | null;
  start_reason: string | null;
  guard: boolean;
  exp_worker_id: string | null;
  exp_max_attempts: number | null;
  exp_requested_action: string | null;
}

function toRecord(c: Change): ChangeRecord {
  return {
    id: c.id,
    from_status: c.from,
    to_status: c.to,
    attempt: c.attempt,
    inc_attempt: c.incrementAttempt ?? false,
    set_worker: c.workerId !== undefined,
    worker_id: c.workerId ?? null,
    set_result: c.result !== undefined,
    result: c.result ?? null,
    set_error: c.error !== undefined,
    error: c.error ?? null,
    set_progress: c.progress !== undefined,
    progress: c.progress ?? null,
    set_pending_reason: c.pendingReason !== undefined,
    pending_reason: c.pendingReason ?? null,
    run_at_mode: c.runAfterMs === undefined ? 'keep' : c.runAfterMs === null ? 'clear' : 'delay',
    delay_ms: c.runAfterMs ?? null,
    finished: c.finished ?? 'keep',
    started: c.started ?? false,
    started_at: c.startedAt ?? null,
    min_max_attempts: c.minMaxAttempts ?? null,
    set_requested_action: c.requestedAction !== undefined,
    requested_action: c.requestedAction ?? null,
    reason: c.reason,
    set_event_worker: c.eventWorkerId !== undefined,
    event_worker_id: c.eventWorkerId ?? null,
    start_reason: c.startStep?.reason ?? null,
    guard: c.expect !== undefined,
    exp_worker_id: c.expect?.workerId ?? null,
    exp_max_attempts: c.expect?.maxAttempts ?? null,
    exp_requested_action: c.expect?.requestedAction ?? null,
  };
}

/**
 * Applies many changes and records them in workload_events, in ONE statement (the update and the
 * events insert as one round trip; a change with a `startStep` writes its SCHEDULED → RUNNING
 * row first, from the same RETURNING row: two rows of a lateral VALUES, the cheapest shape
 * measured for them); returns the transitions that applied (rows via RETURNING) for
 * `publishAfterCommit`. At most one change per workload per call. A changed row is never parked:
 * one that comes back to PENDING is the placer's to decide on again.
 */
export async function applyChanges(
  trx: Executor,
  changes: readonly Change[],
): Promise<Transition[]> {
  if (changes.length === 0) return [];
  const records = JSON.stringify(inIdOrder(changes, (c) => c.id).map(toRecord));
  const ids = changes.map((c) => c.id);
  // `w.id = any(ids)` repeats the join key as an index condition: without it the planner, whose
  // statistics lag a fast-growing table, may hash-join over a scan of every workload.
  // jsonb_to_recordset turns a JSON null in a jsonb field into the jsonb value 'null': nullif
  // stores SQL NULL instead, which the mappers read back as null either way.
  const { rows } = await sql<WorkloadRow>`${PREPARED}
    with v as (
      select * from jsonb_to_recordset(${records}::jsonb) as v(
        id uuid, from_status text, to_status text, attempt int, inc_attempt boolean,
        set_worker boolean, worker_id text, set_result boolean, result jsonb, set_error boolean,
        error jsonb, set_progress boolean, progress jsonb, set_pending_reason boolean,
        pending_reason text, run_at_mode text, delay_ms bigint, finished text, started boolean,
        started_at text, min_max_attempts int, set_requested_action boolean, requested_action text,
        reason text, set_event_worker boolean, event_worker_id text, start_reason text, guard boolean,
        exp_worker_id text, exp_max_attempts int, exp_requested_action text)
    ), u as (
      update workloads w set
        status = v.to_status,
        attempt = case when v.inc_attempt then w.attempt + 1 else w.attempt end,
        worker_id = case when v.set_worker then v.worker_id else w.worker_id end,
        result = case when v.set_result then nullif(v.result, 'null'::jsonb) else w.result end,
        error = case when v.set_error then nullif(v.error, 'null'::jsonb) else w.error end,
        progress = case when v.set_progress then nullif(v.progress, 'null'::jsonb) else w.progress end,
        pending_reason = case when v.set_pending_reason then v.pending_reason else w.pending_reason end,
        run_at = case v.run_at_mode
          when 'clear' then null
          when 'delay' then now() + v.delay_ms * interval '1 millisecond'
          else w.run_at end,
        finished_at = case v.finished when 'now' then now() when 'clear' then null else w.finished_at end,
        started_at = case when v.started then coalesce(
          w.started_at,
          greatest(w.created_at, least(now(), v.started_at::timestamptz)),
          now()) else w.started_at end,
        max_attempts = greatest(w.max_attempts, coalesce(v.min_max_attempts, 0)),
        requested_action = case
          when v.to_status not in ('SCHEDULED', 'RUNNING') then null
          when v.set_requested_action then v.requested_action
          else w.requested_action end,
        parked = false,
        updated_at = now()
      from v
      where w.id = v.id and w.status = v.from_status and w.attempt = v.attempt
        and w.id = any(${ids}::uuid[])
        and (not v.guard or (w.worker_id is not distinct from v.exp_worker_id
          and w.max_attempts = v.exp_max_attempts
          and w.requested_action is not distinct from v.exp_requested_action))
      returning w.*, v.from_status as event_from, v.reason as event_reason,
        case when v.set_event_worker then v.event_worker_id else w.worker_id end as event_worker,
        v.start_reason
    ), e as (
      insert into workload_events (workload_id, from_status, to_status, attempt, reason, worker_id)
      select u.id, s.from_status, s.to_status, u.attempt, s.reason, u.event_worker
      from u cross join lateral (values
        (1, u.event_from, 'RUNNING', u.start_reason),
        (2, case when u.start_reason is null then u.event_from else 'RUNNING' end, u.status,
          u.event_reason)
      ) as s(step, from_status, to_status, reason)
      where s.step = 2 or u.start_reason is not null
    )
    select * from u`.execute(trx);
  // The event columns stay on the row objects (every reader picks the fields it needs): copying
  // each row without them would cost more than the rest of this mapping.
  return (rows as (WorkloadRow & EventColumns)[]).map((row): Transition =>
    withStartStep(row, row.event_from, row.event_reason, row.event_worker, row.start_reason),
  );
}

/** What applyChanges' statement returns besides the row: its workload_events fields. */
interface EventColumns {
  event_from: WorkloadStatus;
  event_reason: string | null;
  event_worker: string | null;
  /** The reason of its SCHEDULED → RUNNING step, when the change passed through RUNNING. */
  start_reason: string | null;
}
